"""Pseudolabels: what a pretext task makes of a few samples, and what a trained head predicts.

A pretext task P turns unlabeled x into a supervised problem: inputs x̃ for the encoder and
pseudolabels z made without any human label. The gallery shows each raw x next to its x̃, z
written under it (``task.describe``); "Reseed" draws the task's randomness again. With a run of
this task on this dataset in the run store, the pretext head k_γ(h_θ(x̃)) of its last checkpoint
can show its prediction next to each z.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from dashboard import loaders, share
from dashboard.state import Keys, keep_valid
from sslcore import viz_pretext, viz_pretext_vectors
from sslcore.data import Dataset, dataset_names
from sslcore.errors import SslcoreError
from sslcore.pretext import PretextTask, make_task, task_class
from sslcore.pretext_predictions import PretextModel, predictions, pretext_outputs
from sslcore.runs import Run, RunStore

BATCH_MIN, BATCH_MAX = share.bounds(Keys.PSEUDO_BATCH)  # the widgets' ranges: share's table
CHART = {"displayModeBar": False}


def reseed() -> None:
    """New pseudolabels for the same samples: the next seed of the task's generator."""
    st.session_state[Keys.PSEUDO_SEED] = (int(st.session_state[Keys.PSEUDO_SEED]) + 1) % 2**31


def trained_runs(store: RunStore, data: str, task: str) -> list[Run]:
    """The store's runs of `task` on `data` that have a checkpoint, newest first."""
    found = []
    for run in loaders.readable_runs(store.root):  # the unreadable ones listed with why
        config = run.config
        if config.data == data and config.task == task and run.checkpoints():
            found.append(run)
    return found


def head_model(runs: list[Run], data: Dataset) -> PretextModel | None:
    """The chosen run's model if the toggle is on and it loads and fits the data; else None."""
    switch, choice = st.columns([1, 1], vertical_alignment="center")
    predict = switch.toggle(
        "Show the pretext head's predictions",
        key=Keys.PSEUDO_PREDICT,
        disabled=not runs,
        help="Loads the last checkpoint's encoder h_θ and pretext head k_γ and writes what "
        "k_γ(h_θ(x̃)) predicts under each true z.",
    )
    if not runs:
        choice.caption(
            "No trained run of this task on this dataset in the store: start one on the Train page."
        )
        return None
    ids = [run.id for run in runs]
    keep_valid(Keys.PSEUDO_RUN, ids)
    chosen = choice.selectbox(
        "Run", ids, key=Keys.PSEUDO_RUN, disabled=not predict, label_visibility="collapsed"
    )
    if not predict:
        return None
    run = runs[ids.index(chosen)]
    try:
        model = loaders.pretext_model(str(run.path), run.checkpoints()[-1][0])
    except Exception as exc:  # a corrupt checkpoint, or weights the code no longer fits
        st.error(f"Could not load run {run.id}: {type(exc).__name__}: {exc}")
        return None
    if model.sample_shape != data.sample_shape:
        st.warning(
            f"Run {run.id} was trained on samples of shape {model.sample_shape}; these are "
            f"{data.sample_shape}. No predictions."
        )
        return None
    return model


def batch_metrics(task: PretextTask, outputs: Any, batch: Any, step: int) -> None:
    """L_pre and the task's metrics on the shown batch, as the trained head scores them."""
    try:
        scored = task.loss(outputs, batch)
    except Exception as exc:  # a loss that needs a larger batch, say: the gallery still shows
        st.caption(f"L_pre cannot be computed on this batch: {exc}")
        return
    items = {"L_pre on this batch": f"{float(scored.loss):.4f}"}
    items |= {name.replace("_", " "): f"{value:.3g}" for name, value in scored.metrics.items()}
    for column, (label, value) in zip(st.columns(len(items)), items.items(), strict=True):
        column.metric(label, value)
    st.caption(f"Checkpoint of step {step}, in eval mode (BatchNorm with its running statistics).")


def main() -> None:
    """The page: controls, then the gallery of x, x̃ and z."""
    st.title("Pseudolabels")
    st.caption(
        "A pretext task turns unlabeled samples x into inputs x̃ and pseudolabels z, without a "
        "human label. Under each x̃: its z, in the task's words."
    )
    with st.sidebar:
        root = loaders.runs_root(
            st.text_input("Run store", key=Keys.RUNS_ROOT, placeholder="$SSLCORE_RUNS or ./runs")
        )
        st.caption(f"Runs are read from `{root.resolve()}`.")
    controls, main_area = st.columns([1, 3], gap="large")
    with controls:
        name = st.selectbox("Dataset", dataset_names(), key=Keys.PSEUDO_DATASET)
        data = loaders.pseudo_source(name)
        choices, broken = loaders.task_choices(data.modality)
        keep_valid(Keys.PSEUDO_TASK, choices)
        task_name = st.selectbox(
            "Pretext task",
            choices,
            key=Keys.PSEUDO_TASK,
            format_func=lambda n: f"{n} (unavailable)" if n in broken else n,
        )
        count = st.slider("Samples", BATCH_MIN, BATCH_MAX, key=Keys.PSEUDO_BATCH)
        seed = int(
            st.number_input("Seed", *share.bounds(Keys.PSEUDO_SEED), step=1, key=Keys.PSEUDO_SEED)
        )
        st.button("Reseed", key=Keys.PSEUDO_RESEED, on_click=reseed, width="stretch")
        sample_seed = int(
            st.number_input(
                "Sample seed",
                *share.bounds(Keys.PSEUDO_SAMPLE_SEED),
                step=1,
                key=Keys.PSEUDO_SAMPLE_SEED,
            )
        )

    if task_name in broken:
        main_area.error(f"The pretext task {task_name!r} cannot be loaded: {broken[task_name]}")
        return
    with main_area:
        model = head_model(trained_runs(RunStore(root), name, task_name), data)
    try:  # a trained head comes with its own task (the run's task options)
        task = model.task if model else make_task(task_name, data.sample_shape)
        idx = loaders.sample_indices(len(data), count, sample_seed)
        x = data.x[idx]  # (B, C, H, W) uint8 or (B, D) float32
        batch = task.make_batch(x, torch.Generator().manual_seed(seed))
    except (SslcoreError, ValueError, TypeError) as exc:
        main_area.error(f"{task_name} does not fit {name}: {exc}")
        return
    outputs = predicted = None
    if model:
        try:
            outputs = pretext_outputs(model, batch)
            predicted = predictions(task, outputs, batch)
        except Exception as exc:  # the gallery still shows, without predictions
            main_area.error(f"The head of run {model.run_id} failed: {type(exc).__name__}: {exc}")
            model = None

    with main_area:
        paper = task_class(task_name).paper
        st.markdown(
            f"**{task_name}** on **{count} {name} samples**, seed {seed}"
            + (f", with the predictions of run `{model.run_id}`" if model else "")
            + (f". _{paper}_." if paper else ".")
        )
        if model:
            batch_metrics(task, outputs, batch, model.step)
        labels = [data.class_names[int(data.y[i])] for i in idx]
        if data.modality == "image":
            rows = viz_pretext.gallery_rows(task, x, batch, predicted, labels)
            st.plotly_chart(
                viz_pretext.gallery_figure(rows),
                key="pseudo.gallery",
                config={**CHART, "staticPlot": True},
                width="content",
            )
            st.caption(
                "Left: the raw x with its class (never shown to the task). Right: x̃ as the "
                "encoder sees it, z under each"
                + ("; pred: k_γ's answer, ✓ when it is z." if model else ".")
            )
        else:
            gallery = viz_pretext_vectors.vector_gallery(task, x, batch, predicted)
            st.plotly_chart(
                viz_pretext_vectors.vector_figure(gallery, data.feature_names),
                key="pseudo.vectors",
                config=CHART,
            )
            st.caption(
                "Each sample's row x and its x̃ (standardised features); × marks the entries "
                "that differ from x" + ("; ○ those the head predicts." if model else ".")
            )


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
