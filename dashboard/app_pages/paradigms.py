"""Paradigms: supervised, unsupervised and self-supervised learning side by side, then the workflow.

Each box of the self-supervised workflow links to the page that explores it. On the embedded
digits (real images, seconds on a CPU). If the run store has no run yet, one click starts the
default pretraining run in its own process and this page follows its progress.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from dashboard import loaders
from sslcore import jobs, viz, viz_pretext
from sslcore.config import PretrainConfig
from sslcore.data import load_dataset
from sslcore.paradigms import compare_paradigms
from sslcore.pretext import make_task
from sslcore.runs import RunStore

SHOWN = 8
CHART = {"displayModeBar": False, "staticPlot": True}
WORKFLOW = [  # (box, what it is, the page that explores it)
    ("Unlabeled source set", "x only, most of the data", "app_pages/data_explorer.py"),
    ("Pretext task P", "makes (x̃, z) from x", "app_pages/pseudolabels.py"),
    ("Pseudolabels z", "no human label", "app_pages/pseudolabels.py"),
    ("h_θ and k_γ", "pretrained on (x̃, z)", "app_pages/train.py"),
    ("Transfer θ*", "h_θ* keeps what it learned", "app_pages/embeddings.py"),
    ("New head g_φ", "adapted on the labeled target set", "app_pages/train.py"),
    ("L_pre vs L*_adapt", "does it pay off?", "app_pages/theory.py"),
]


@st.cache_data(show_spinner="Training the supervised and unsupervised baselines…")
def paradigms() -> dict:
    """The three paradigms on digits, computed once for every session."""
    data = load_dataset("digits")
    shown = np.random.default_rng(0).choice(len(data), SHOWN, replace=False)
    results = compare_paradigms(data, shown)
    task = make_task("rotation", data.sample_shape)
    x = data.x[torch.from_numpy(shown)]
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    rows = viz_pretext.gallery_rows(task, x, batch, None, [str(int(data.y[i])) for i in shown])
    return {"data": data, "shown": shown, "results": results, "rows": rows}


def three_paradigms() -> None:
    """One column per paradigm, each with its objects and its result."""
    out = paradigms()
    data, shown, r = out["data"], out["shown"], out["results"]
    images, labels = data.x[torch.from_numpy(shown)], data.y[torch.from_numpy(shown)]
    names = data.class_names
    sup, unsup, ssl = st.columns(3)
    with sup:
        st.subheader("Supervised: (x, y) → f")
        st.plotly_chart(viz.image_grid(images, labels, names, cols=4), config=CHART)
        st.caption(
            f"f = logistic regression on the pixels, fitted on {r.train_size} labelled digits: "
            f"{r.supervised_accuracy:.1%} on held-out ones. It predicts "
            f"{', '.join(names[int(p)] for p in r.predictions)} for these."
        )
    with unsup:
        st.subheader("Unsupervised: x → structure")
        cluster_names = [f"cluster {c}" for c in range(len(names))]
        st.plotly_chart(viz.image_grid(images, r.clusters, cluster_names, cols=4), config=CHART)
        st.caption(
            f"k-means with k = {len(names)} on the same pixels, no labels: its clusters agree "
            f"with the digits at an adjusted Rand index of {r.cluster_ari:.2f} (1 = exactly the "
            "classes)."
        )
    with ssl:
        st.subheader("Self-supervised: x → P → (x̃, z)")
        st.plotly_chart(viz_pretext.gallery_figure(out["rows"][:4]), config=CHART)
        st.caption(
            "The pretext task P (rotation prediction) turns each unlabeled x into inputs x̃ and "
            "pseudolabels z: how far it was turned. No human label is used."
        )


def workflow() -> None:
    """The workflow of COURSE.md Fig. 2, one box per step, each a link to its page."""
    st.header("The self-supervised workflow")
    for column, (box, what, page) in zip(st.columns(len(WORKFLOW)), WORKFLOW, strict=True):
        with column.container(border=True):
            st.markdown(f"**{box}**")
            st.caption(what)
            st.page_link(page, label="explore →")


@st.fragment(run_every=2.0)
def default_run(root: str) -> None:
    """A one-click default run when the store is empty, and its progress while it trains."""
    store = RunStore(root)
    listing = store.listing()
    runs = listing.readable
    if not runs and listing.unreadable:  # never offer a default run over a store it cannot read
        loaders.show_unreadable(listing.unreadable)
        return
    if not runs:
        st.info("No run yet: the default one (contrastive on shapes) takes a few minutes on CPU.")
        if st.button("Start the default run", type="primary", key="paradigms.start"):
            try:
                jobs.launch(PretrainConfig(), store)
            except jobs.JobError as error:
                st.warning(str(error))
            st.rerun()
        return
    run = runs[-1]
    done = len(run.metrics())
    state = jobs.run_state(run)
    st.progress(
        min(done / run.config.steps, 1.0),
        text=f"{run.id}: {state}, step {done} of {run.config.steps}",
    )


def main() -> None:
    """The page."""
    st.title("Three ways to learn from data")
    st.caption(
        "On the embedded digits: supervised learning needs labels, unsupervised learning finds "
        "structure without them, self-supervised learning makes its own labels."
    )
    three_paradigms()
    workflow()
    with st.sidebar:
        root = loaders.runs_root(st.session_state.get("runs.root") or "")
    default_run(str(root))


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
