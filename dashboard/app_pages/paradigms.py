"""Paradigms: supervised, unsupervised and self-supervised learning side by side, then the workflow.

Each box of the self-supervised workflow links to the page that explores it. On the embedded
digits (real images, seconds on a CPU). If the run store has no digits run yet, one click starts
the tuned default (SimCLR on the digits, about two minutes of pretraining) in its own process and
this page follows its progress. Once it is done, the page starts one background sweep (a linear
probe and the supervised baseline from scratch at 1 % and 10 % of the labels, 10 label draws) and
shows its answer: how self-supervised pretraining compares with supervised learning on few labels.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from dashboard import loaders
from sslcore import jobs, viz, viz_pretext, viz_runs
from sslcore.config import PretrainConfig
from sslcore.data import load_dataset
from sslcore.paradigms import compare_paradigms
from sslcore.pretext import make_task
from sslcore.runs import Run, RunStore
from sslcore.viz_html import markdown_text

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
# The sweep started once the default run is done: its answer is the first line of the page.
SWEEP_FRACTIONS = (0.01, 0.1)
SWEEP_MODES = ("linear", "scratch")
SWEEP_DRAWS = 10
SWEEPS_KEY = "paradigms.sweeps"  # run id -> "" (this session launched its sweep) or the error
ONWARD = [  # (page, label) offered under the answer
    ("app_pages/train.py", "Train: more sweeps (fine-tuning, kNN, other label shares)"),
    ("app_pages/embeddings.py", "Embeddings: the digits before and after pretraining"),
    ("app_pages/theory.py", "Theory: does a lower L_pre give a lower L*_adapt?"),
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
            f"{r.supervised_accuracy:.1%} on held-out ones, and with {r.few_labels} labels: "
            f"{_score(r.few_label_accuracy, r.few_label_std)} (mean ± std over "
            f"{r.few_label_draws} label draws). It predicts "
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
    """The self-supervised workflow, one box per step, each a link to its page."""
    st.header("The self-supervised workflow")
    for column, (box, what, page) in zip(st.columns(len(WORKFLOW)), WORKFLOW, strict=True):
        with column.container(border=True):
            st.markdown(f"**{box}**")
            st.caption(what)
            st.page_link(page, label="explore →")


def _score(accuracy: float, std: float | None) -> str:
    """``93.7 % ± 2.4`` (the std in points); no ± part without a std."""
    text = f"{100 * accuracy:.1f} %"
    return text if std is None else f"{text} ± {100 * std:.1f}"


def _number(record: dict, key: str, integer: bool = False) -> float | int | None:
    """A record's finite, non-negative number (an int where `integer`), else None."""
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        return None
    return value if np.isfinite(value) and value >= 0 else None


def _is_default(run: Run) -> bool:
    """Whether `run` is a SimCLR run on the digits, as the default run is."""
    return run.config.data == "digits" and run.config.task == "contrastive"


def answer_records(run: Run) -> list[dict]:
    """The run's latest linear-probe and from-scratch records at the sweep's label shares."""
    records = viz_runs.latest_adapt_records(run.adapt_records())
    return [
        r
        for r in records
        if r["mode"] in SWEEP_MODES and float(r["label_fraction"]) in SWEEP_FRACTIONS
    ]


def answer_lines(records: list[dict]) -> list[str]:
    """One line per label share: the linear probe on θ* against the same encoder from scratch."""
    lines = []
    for fraction in SWEEP_FRACTIONS:
        at = {r["mode"]: r for r in records if float(r["label_fraction"]) == fraction}
        if not at:
            continue
        ssl, sup = at.get("linear"), at.get("scratch")
        counts = [_number(r, "labels", integer=True) for r in (ssl, sup) if r is not None]
        labels = next((f"{c:,} labels" for c in counts if c), f"{fraction:.0%} of the labels")
        scores = [
            _score(r["accuracy"], _number(r, "accuracy_std")) if r else "(not yet)"
            for r in (ssl, sup)
        ]
        draws = sorted({_number(r, "draws", integer=True) or 1 for r in (ssl, sup) if r})
        lines.append(
            f"With {labels}: self-supervised + linear probe **{scores[0]}** vs supervised from "
            f"scratch **{scores[1]}** ({' and '.join(map(str, draws))} label draws)."
        )
    return lines


def sweep(store: RunStore, run: Run, records: list[dict]) -> None:
    """Starts the default run's sweep once, then shows where it is (never waits for it).

    A sweep starts when the run has none (``jobs.sweep_job``) and its records are not all there;
    this session remembers that it started one, so a rerun before the sweep's record is on disk
    never starts a second (and ``launch_sweep`` refuses a sweep beside a running one).
    """
    launched: dict[str, str] = st.session_state.setdefault(SWEEPS_KEY, {})
    job = jobs.sweep_job(run)
    complete = len(records) == len(SWEEP_FRACTIONS) * len(SWEEP_MODES)
    if job is None and run.id not in launched and not complete:
        try:
            job = jobs.launch_sweep(
                run, store, list(SWEEP_FRACTIONS), list(SWEEP_MODES), draws=SWEEP_DRAWS
            )
            launched[run.id] = ""
        except jobs.JobError as error:
            launched[run.id] = str(error)
    if launched.get(run.id):
        st.warning(f"The sweep could not start: {markdown_text(launched[run.id], limit=300)}")
    alive = bool(job and job.get("alive"))
    if alive or (job is None and launched.get(run.id) == ""):
        log = (job or {}).get("log") or ""
        last = [line for line in log.splitlines() if line.strip()][-1:]
        st.info(
            f"⏳ Adapting {run.id} in the background: a linear probe on θ* and the same encoder "
            f"trained from scratch, at {' and '.join(f'{f:.0%}' for f in SWEEP_FRACTIONS)} of "
            f"the labels, {SWEEP_DRAWS} label draws each (several minutes on a CPU). Results "
            "appear here as each one is done."
            + (f"\n\nLast: {markdown_text(last[0], limit=200)}" if last else "")
        )
    elif job is not None and job.get("results") is None and not complete:
        last = [line for line in (job.get("log") or "").splitlines() if line.strip()][-1:]
        st.warning(
            "The sweep ended without results"
            + (f": {markdown_text(last[0], limit=300)}" if last else ".")
            + " Run one on the Train page."
        )
    elif job is not None and not records:
        st.caption(
            "This run's sweeps hold no linear-probe or from-scratch result at 1 % or 10 % of the "
            "labels: run one on the Train page."
        )


def answer(records: list[dict]) -> None:
    """The few-label comparison, the label-efficiency chart and the pages that go further."""
    st.subheader("Self-supervised vs supervised with few labels")
    st.markdown("  \n".join(answer_lines(records)))
    st.caption(
        "Self-supervised: SimCLR pretrained on the digits' train split without a label, then a "
        "linear head on its frozen features fitted on the few labels. Supervised: the same "
        "encoder and augmentation trained from scratch on those labels only. Mean ± std over "
        "label draws, on the held-out test split."
    )
    st.plotly_chart(
        viz_runs.label_efficiency_figure(records), config=CHART, key="paradigms.answer.chart"
    )
    for column, (page, label) in zip(st.columns(len(ONWARD)), ONWARD, strict=True):
        with column:
            st.page_link(page, label=label)


@st.fragment(run_every=2.0)
def default_run(root: str) -> None:
    """A one-click default run, its progress while it trains, then its sweep and the answer."""
    store = RunStore(root)
    listing = store.listing()
    defaults = [run for run in listing.readable if _is_default(run)]
    if not defaults:
        if listing.unreadable:  # never offer a default run over a store it cannot read
            loaders.show_unreadable(listing.unreadable)
            return
        config = PretrainConfig(data="digits")
        st.info(
            "No digits run yet. The default run pretrains a ResNet encoder with SimCLR "
            f"(contrastive, batch {config.batch_size}) on the digits, without a label: about "
            f"{config.minutes:g} minutes of pretraining on a CPU. Then this page adapts it with "
            f"{' and '.join(f'{f:.0%}' for f in SWEEP_FRACTIONS)} of the labels and compares it "
            "with supervised learning on the same labels."
        )
        if st.button("Start the default run", type="primary", key="paradigms.start"):
            try:
                jobs.launch(config, store)
            except jobs.JobError as error:
                st.warning(str(error))
            else:
                st.rerun()
        return
    run = defaults[-1]
    state = jobs.run_state(run)
    done, steps_text = viz_runs.progress(run.config, run.metrics(), state)
    st.progress(done, text=f"{run.id}: {state}, {steps_text}")
    if state != "done":
        return
    try:
        records = answer_records(run)
    except (ValueError, KeyError, TypeError) as error:  # DataError is a ValueError
        st.error(f"{run.path / 'adapt.json'} cannot be read: {markdown_text(str(error))}")
        return
    sweep(store, run, records)
    if records:
        answer(records)


def main() -> None:
    """The page."""
    st.title("Three ways to learn from data")
    st.caption(
        "On the embedded digits: supervised learning needs labels, unsupervised learning finds "
        "structure without them, self-supervised learning makes its own labels."
    )
    with st.sidebar:
        root = loaders.runs_root(st.session_state.get("runs.root") or "")
    three_paradigms()
    default_run(str(root))
    workflow()


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
