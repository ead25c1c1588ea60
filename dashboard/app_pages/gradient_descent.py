"""Gradient descent: the seed's pipeline made visible, from two parameters to a real network.

Pick a problem (the dog-vs-cat classifier, whose loss l(θ) = Σ d_k is drawn exactly, or a 2-D
test surface), an optimiser, α (and β) and a start point; see the path on the contours or the
3-D surface, the loss curve, −α∇L arrows, the slope rule at any step, and for dog vs cat the
per-example losses and the decision boundary moving with θ. Every run is a few hundred 2-D steps:
computed on each rerun, in milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from dashboard import loaders, share
from dashboard.state import Keys, keep_valid
from sslcore import viz_landscape
from sslcore.errors import DataError, SslcoreError
from sslcore.jobs import run_is_active
from sslcore.landscape.descent import (
    OPTIMIZERS,
    Run2D,
    best_gd_step,
    best_momentum,
    descend,
    gd_rate,
    measured_rate,
    momentum_rate,
    slope_directions,
)
from sslcore.landscape.dog_vs_cat import make_dog_vs_cat
from sslcore.landscape.runs import PLANES, landscapes, run_landscape, save_landscape
from sslcore.landscape.surfaces import Surface, make_surface

PROBLEMS = share.choices(Keys.GD_PROBLEM)  # the widgets' ranges: share's key table
CHART = {"displayModeBar": False}
RESOLUTIONS = [5, 11, 21, 31, 51]


def problem_surface(problem: str, kappa: float) -> Surface:
    """The Surface of the chosen problem."""
    if problem == "dog_vs_cat":
        return make_dog_vs_cat().surface()
    return make_surface(problem, kappa=kappa) if problem == "quadratic" else make_surface(problem)


def settings() -> tuple[str, float, str, float, float, int, tuple[float, float], list[str]]:
    """The controls; a new problem puts the start point back to that problem's default."""
    left, middle, right = st.columns(3)
    with left:
        keep_valid(Keys.GD_PROBLEM, PROBLEMS)
        problem = st.selectbox("Problem", PROBLEMS, key=Keys.GD_PROBLEM)
        kappa = st.select_slider(
            "Condition number κ (quadratic)",
            share.choices(Keys.GD_KAPPA),
            key=Keys.GD_KAPPA,
            disabled=problem != "quadratic",
        )
    surface = problem_surface(problem, kappa)
    if st.session_state.get(Keys.GD_LAST_PROBLEM) != problem:
        st.session_state[Keys.GD_LAST_PROBLEM] = problem
        st.session_state[Keys.GD_START_X], st.session_state[Keys.GD_START_Y] = surface.start
    with middle:
        keep_valid(Keys.GD_OPTIMIZER, list(OPTIMIZERS))
        optimizer = st.selectbox("Optimiser", OPTIMIZERS, key=Keys.GD_OPTIMIZER)
        low, high = share.bounds(Keys.GD_LR)
        lr = st.number_input("Step size α", low, high, step=0.01, format="%.5g", key=Keys.GD_LR)
        beta = st.slider(
            "Momentum β (β₁ for Adam)",
            *share.bounds(Keys.GD_MOMENTUM),
            step=0.01,
            key=Keys.GD_MOMENTUM,
        )
    with right:
        steps = st.slider("Steps", *share.bounds(Keys.GD_STEPS), key=Keys.GD_STEPS)
        a, b = st.columns(2)
        x = a.number_input("Start θ₁", step=0.1, format="%.3f", key=Keys.GD_START_X)
        y = b.number_input("Start θ₂", step=0.1, format="%.3f", key=Keys.GD_START_Y)
        others = [o for o in OPTIMIZERS if o != optimizer]
        st.session_state[Keys.GD_COMPARE] = [
            o for o in st.session_state.get(Keys.GD_COMPARE) or [] if o in others
        ]
        compare = st.multiselect("Compare with (same α, β)", others, key=Keys.GD_COMPARE)
    return problem, kappa, optimizer, float(lr), float(beta), int(steps), (x, y), compare


def theory(surface: Surface, run: Run2D, kappa: float) -> None:
    """For the quadratic: best steps and the predicted vs measured convergence rates."""
    big, small = surface.curvatures
    alpha, (m_alpha, m_beta) = best_gd_step(big, small), best_momentum(big, small)
    rows = [
        {"": "divergence threshold 2/L", "value": 2 / big},
        {"": "best GD step 2/(L+μ)", "value": alpha},
        {"": "GD rate (κ−1)/(κ+1) at that step", "value": gd_rate(kappa)},
        {"": "best momentum α, β", "value": f"{m_alpha:.4g}, {m_beta:.4g}"},
        {"": "momentum rate (√κ−1)/(√κ+1)", "value": momentum_rate(kappa)},
    ]
    if not run.diverged and len(run.losses) > 2 and run.losses[-1] > 0:
        rows.append(
            {"": f"measured rate of this run ({run.optimizer})", "value": measured_rate(run)}
        )
    st.dataframe(
        [{k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
        hide_index=True,
    )


def step_inspector(problem: str, run: Run2D) -> None:
    """θ_t, ∇L(θ_t) and the seed's slope rule at a chosen step; dog vs cat at that θ."""
    last = len(run.thetas) - 1
    st.session_state[Keys.GD_T] = min(max(int(st.session_state.get(Keys.GD_T) or 0), 0), last)
    t = st.slider("Inspect step t", 0, max(last, 1), key=Keys.GD_T, disabled=last == 0)
    t = min(t, last)
    theta, grad = run.thetas[t], run.gradients[t]
    st.markdown(
        f"**Step {t}:** θ = ({theta[0]:.4f}, {theta[1]:.4f}), L(θ) = {run.losses[t]:.5g}, "
        f"∇L = ({grad[0]:.4g}, {grad[1]:.4g})"
    )
    for rule in slope_directions(grad):
        st.caption(rule)
    if problem == "dog_vs_cat":
        data = make_dog_vs_cat()
        left, right = st.columns(2)
        left.plotly_chart(
            viz_landscape.boundary_figure(data, theta), config=CHART, key="gd_boundary"
        )
        right.plotly_chart(
            viz_landscape.examples_figure(data, theta), config=CHART, key="gd_examples"
        )


def real_runs() -> None:
    """A pretraining run's path on its loss surface (``sslcore landscape RUN`` or a button)."""
    st.header("A real network: a run's path on its loss surface")
    with st.sidebar:
        root = loaders.runs_root(
            st.text_input("Run store", key=Keys.RUNS_ROOT, placeholder="$SSLCORE_RUNS or ./runs")
        )
    runs = [r for r in loaders.readable_runs(root) if r.checkpoints() and not run_is_active(r)]
    if not runs:
        st.info(f"No finished run with checkpoints in {root.resolve()} yet (see the Train page).")
        return
    ids = [r.id for r in runs]
    left, middle, right = st.columns(3)
    keep_valid(Keys.GD_RUN, ids)
    run = runs[ids.index(left.selectbox("Run", ids, key=Keys.GD_RUN))]
    keep_valid(Keys.GD_PLANE, list(PLANES))
    plane = middle.radio(
        "Plane",
        PLANES,
        key=Keys.GD_PLANE,
        horizontal=True,
        help="pca: the path's two principal directions; random: two filter-normalised "
        "random directions (Li et al. 2018)",
    )
    resolution = right.select_slider("Grid points per axis", RESOLUTIONS, key=Keys.GD_RESOLUTION)
    try:
        saved = landscapes(run)
    except DataError as error:
        st.warning(str(error))
        saved = {}
    if st.button(
        f"Compute L_pre on a {resolution}×{resolution} grid (about {resolution**2 * 0.08:.0f} s "
        "on 2 CPU cores)",
        key=Keys.GD_COMPUTE,
    ):
        with st.spinner("Evaluating L_pre over the grid…"):
            try:
                saved[plane] = run_landscape(run, plane, resolution)
                save_landscape(run, saved[plane])
            except (SslcoreError, ValueError) as error:
                st.error(str(error))
    if plane not in saved:
        st.caption(
            f"No {plane} landscape stored for this run yet: compute it above or run "
            f"`sslcore landscape {run.id} --plane {plane}`."
        )
        return
    result = saved[plane]
    st.plotly_chart(viz_landscape.run_landscape_figure(result), config=CHART, key="gd_run_plane")
    st.caption(
        f"{result['resolution']}×{result['resolution']} grid, {result['seconds']:.0f} s "
        f"({result['path']} path); checkpoints {result['steps']}."
    )


def main() -> None:
    """The page."""
    st.title("Gradient descent")
    st.caption(
        "θ ← θ − α ∇L(θ): for each dimension, go opposite the slope. The dog-vs-cat data are "
        "synthetic (two generated features per animal), with the bias fixed so θ has two weights."
    )
    problem, kappa, optimizer, lr, beta, steps, start, compare = settings()
    surface = problem_surface(problem, kappa)
    if not (math.isfinite(lr) and lr > 0):
        st.error(f"α must be a finite step size > 0, got {lr:g}: nothing to run.")
        return
    try:
        runs = [descend(surface, o, lr, steps, start, beta) for o in [optimizer, *compare]]
    except ValueError as error:
        st.error(str(error))
        return
    run = runs[0]
    if run.diverged:
        st.warning(run.message)
    contour, surface_3d = st.tabs(["Contours", "3-D surface"])
    contour.plotly_chart(
        viz_landscape.contour_figure(surface, runs), config=CHART, key="gd_contour"
    )
    with surface_3d:
        st.plotly_chart(viz_landscape.surface_figure(surface, runs), key="gd_surface")
    floor = 0.0 if problem in ("quadratic", "rosenbrock", "himmelblau") else None
    st.plotly_chart(viz_landscape.loss_curve_figure(runs, floor), config=CHART, key="gd_loss")
    if surface.curvatures is not None:
        theory(surface, run, kappa)
    step_inspector(problem, run)
    final = run.thetas[-1]
    st.caption(
        f"{optimizer}: {len(run.losses) - 1} steps, L from {run.losses[0]:.4g} to "
        f"{run.losses[-1]:.4g}, θ_T = ({final[0]:.4f}, {final[1]:.4f})"
        + ("" if np.isfinite(final).all() else " (diverged)")
    )
    real_runs()


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
