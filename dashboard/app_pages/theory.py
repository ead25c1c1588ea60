"""Theory: does a small pretraining loss imply a small adaptation loss?

For the chosen runs, L_pre on held-out unlabeled data and L*_adapt (the best linear head's loss on
the labeled target set) at every checkpoint, from ``sslcore.eval.transfer``. Tables are measured
once and stored in the run (transfer.json); the page only reads them back, or measures the runs
that lack one when asked.
"""

from __future__ import annotations

import streamlit as st

from dashboard import loaders
from dashboard.state import Keys, keep_valid
from sslcore import viz_transfer
from sslcore.errors import SslcoreError
from sslcore.eval.transfer import compare_runs, pooled_correlation, transfer_table
from sslcore.jobs import run_is_active
from sslcore.runs import Run

CHART = {"displayModeBar": False}
EXPLAINED = (
    "The course's figure asks when a small population pretraining loss L_pre(θ̂) implies a small "
    "minimal adaptation loss L*_adapt(θ̂): the loss of the best new head g_φ on the downstream "
    "task, with θ̂ fixed. Each point below is one checkpoint of a run; if the relation holds, "
    "ranking checkpoints by L_pre ranks them by L*_adapt (Spearman ρ near +1), and a pretext "
    "whose loss keeps falling while L*_adapt does not is where it breaks."
)


def measure(runs: list[Run]) -> None:
    """Measures and stores the transfer table of every run in `runs`, with a progress bar."""
    bar = st.progress(0.0, text="Measuring…")
    for i, run in enumerate(runs):
        bar.progress(i / len(runs), text=f"Measuring {run.id} ({i + 1} of {len(runs)})…")
        try:
            transfer_table(run)
        except SslcoreError as error:
            st.warning(f"{run.id}: {error}")
    bar.empty()


def main() -> None:
    """The page: pick runs, measure those without a table, plot L_pre against L*_adapt."""
    st.title("Theory")
    st.write(EXPLAINED)
    with st.sidebar:
        root = loaders.runs_root(
            st.text_input("Run store", key=Keys.RUNS_ROOT, placeholder="$SSLCORE_RUNS or ./runs")
        )
    runs = [r for r in loaders.readable_runs(root) if r.checkpoints() and not run_is_active(r)]
    if not runs:
        st.info(
            f"No finished run with checkpoints in {root.resolve()} yet: start one on the Train "
            "page (or `sslcore pretrain`), then come back."
        )
        return
    ids = [r.id for r in runs]
    chosen = [i for i in st.session_state.get(Keys.THEORY_RUNS) or [] if i in ids]
    st.session_state[Keys.THEORY_RUNS] = chosen or ids[:3]
    picked = st.multiselect("Runs", ids, key=Keys.THEORY_RUNS)
    selected = [runs[ids.index(i)] for i in picked]
    missing = [r for r in selected if not r.transfer_rows()]
    if missing:
        st.caption(f"Not measured yet: {', '.join(r.id for r in missing)}.")
        if st.button("Measure L_pre and L*_adapt", key=Keys.THEORY_MEASURE, type="primary"):
            measure(missing)
    tables = {r.id: r.transfer_rows() for r in selected}
    tables = {k: v for k, v in tables.items() if v}
    if not tables:
        return
    keep_valid(Keys.THEORY_SCALE, list(viz_transfer.SCALES))
    scale = st.radio(
        "L_pre axis",
        viz_transfer.SCALES,
        key=Keys.THEORY_SCALE,
        horizontal=True,
        help="relative: rescaled to [0, 1] within each run (1 its highest, 0 its lowest), so "
        "tasks whose losses differ in scale and sign share the axis",
    )
    st.plotly_chart(
        viz_transfer.relation_figure(tables, scale), key="theory_relation", config=CHART
    )
    st.plotly_chart(
        viz_transfer.transfer_curves_figure(tables, scale), key="theory_curves", config=CHART
    )
    summary = compare_runs(tables)
    st.dataframe(
        [
            {
                "run": r["run"],
                "task": r["task"],
                "checkpoints": r["checkpoints"],
                "Spearman ρ": r["spearman"],
                "final L_pre": r["final_pretext_loss"],
                "final L*_adapt": r["final_adapt_loss"],
                "rank by L*_adapt": r["adapt_rank"],
                "accuracy": r["final_accuracy"],
            }
            for r in summary
        ],
        hide_index=True,
    )
    pooled = pooled_correlation(tables) if len(tables) > 1 else None
    if pooled is not None:
        st.metric("Spearman ρ across the runs (L_pre rescaled within each run)", f"{pooled:+.2f}")
    for r in summary:
        if r["breaks"]:
            st.warning(r["breaks"])


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
