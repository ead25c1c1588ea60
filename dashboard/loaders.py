"""Cached wrappers around sslcore calls, so reruns and concurrent sessions reuse results.

Datasets are cached as resources (shared, never mutated by the pages); derived, small results as
data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
import torch

from sslcore import ops
from sslcore.augment import ViewSpec, sample_view_params
from sslcore.data import Dataset, SourceTargetSplit, label_subset, load_dataset, split_source_target
from sslcore.pretext import PRETEXT_TASKS, task_class
from sslcore.pretext_predictions import PretextModel, load_pretext_model
from sslcore.runs import Run, RunStore, UnreadableRun, default_root

__all__ = [
    "PSEUDO_SOURCES",
    "VIEW_SOURCES",
    "dataset",
    "labelled_subset",
    "pretext_model",
    "pseudo_source",
    "readable_runs",
    "runs_root",
    "sample_indices",
    "show_unreadable",
    "split",
    "task_choices",
    "view_batch",
    "view_sources",
]

# Options of each embedded dataset that the explorer exposes, with the image sizes offered.
OPTIONS: dict[str, tuple[str, ...]] = {
    "shapes": ("n", "size", "seed"),
    "digits": ("size",),
    "wine": (),
    "breast_cancer": (),
}
SIZES: dict[str, list[int]] = {"shapes": [16, 24, 32, 48, 64, 96], "digits": [8, 16, 32, 64]}
NATIVE_SIZE: dict[str, int] = {"digits": 8}  # this size means "as shipped", no resize


@st.cache_resource(max_entries=8, show_spinner="Loading the dataset…")
def dataset(name_or_path: str, options: tuple[tuple[str, Any], ...] = ()) -> Dataset:
    """The dataset, loaded once per (name or path, options) for all sessions."""
    return load_dataset(name_or_path, **dict(options))


@st.cache_resource(max_entries=16, show_spinner=False)
def split(
    name_or_path: str,
    options: tuple[tuple[str, Any], ...],
    source_fraction: float,
    test_fraction: float,
    seed: int,
) -> SourceTargetSplit:
    """The source/target split of a cached dataset."""
    return split_source_target(
        dataset(name_or_path, options),
        source_fraction=source_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def labelled_subset(
    name_or_path: str,
    options: tuple[tuple[str, Any], ...],
    source_fraction: float,
    test_fraction: float,
    seed: int,
    fraction: float,
) -> Dataset:
    """The few-label subset of the target train set."""
    parts = split(name_or_path, options, source_fraction, test_fraction, seed)
    return label_subset(parts.target_train, fraction, seed=seed)


def sample_indices(n: int, count: int, seed: int) -> torch.Tensor:
    """`count` distinct indices out of `n`, seeded (what the sample grid shows)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)[: min(count, n)]


# The image datasets the Views page augments, with the options it loads them with: small enough
# to load in well under a second, large enough for a timing batch of 256; digits are resized from
# their shipped 8x8 so that crops of them still show a digit.
VIEW_SOURCES: dict[str, tuple[tuple[str, Any], ...]] = {
    "shapes": (("n", 256), ("seed", 0), ("size", 32)),
    "digits": (("size", 32),),
}


def view_sources(name: str) -> Dataset:
    """The cached dataset the Views page takes its source images from."""
    return dataset(name, VIEW_SOURCES[name])


@st.cache_data(max_entries=64, show_spinner=False)
def view_batch(
    name: str, count: int, specs: tuple[ViewSpec, ...], seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[dict[str, Any]]]:
    """Views of `count` source images of a dataset, one per spec per image, seeded.

    Returns:
        indices ``(count,)`` of the source images in the dataset, the originals ``(count, C, H,
        W)`` uint8, the views ``(len(specs) · count, C, h, w)`` float32 (row ``j · count + i`` is
        view j of image i) and the params' rows (ViewParams.rows()).
    """
    data = view_sources(name)
    idx = sample_indices(len(data), count, 0)  # the same sources for every seed and recipe
    originals = data.x[idx]
    g = torch.Generator().manual_seed(seed)
    params = sample_view_params(list(specs), originals.shape, views=len(specs), generator=g)
    return idx, originals, ops.augment_views(originals, params), params.rows()


# The datasets the Pseudolabels page takes its samples from, loaded as pretraining loads them by
# default (digits at their shipped 8×8), so a run's head can predict on them; shapes kept small.
PSEUDO_SOURCES: dict[str, tuple[tuple[str, Any], ...]] = {
    "shapes": (("n", 256), ("seed", 0), ("size", 32)),
}


def pseudo_source(name: str) -> Dataset:
    """The cached dataset the Pseudolabels page (and the Train form) samples from."""
    return dataset(name, PSEUDO_SOURCES.get(name, ()))


def task_choices(modality: str) -> tuple[list[str], dict[str, str]]:
    """The pretext tasks to offer for `modality`, and why the unloadable ones cannot load.

    Like ``sslcore.pretext.tasks_for``, except that a task whose module fails to import does not
    take the list down: it is offered anyway (its modality is unknown), with its error, so that
    choosing it can say what is wrong. Not cached: a module that is fixed is picked up.
    """
    names: list[str] = []
    broken: dict[str, str] = {}
    for name in PRETEXT_TASKS:
        try:
            cls = task_class(name)
        except Exception as exc:  # a task module mid-edit: any import-time error
            broken[name] = f"{type(exc).__name__}: {exc}"
            names.append(name)
            continue
        if modality in cls.modalities:
            names.append(name)
    return names, broken


def runs_root(value: str) -> Path:
    """The run store folder typed in the sidebar, or the default ($SSLCORE_RUNS or ./runs)."""
    return Path(value.strip()).expanduser() if value.strip() else default_root()


def show_unreadable(unreadable: list[UnreadableRun]) -> None:
    """An expander listing the store's unreadable runs with the reason each cannot be read.

    A table (plain text cells), so a reason quoting a hostile record is never read as markdown.
    """
    if not unreadable:
        return
    with st.expander(f"{len(unreadable)} unreadable run(s), not offered"):
        st.dataframe(
            [{"run": bad.id, "state": f"unreadable: {bad.reason}"} for bad in unreadable],
            hide_index=True,
        )


def readable_runs(root: Path | str) -> list[Run]:
    """The store's readable runs, newest first (what a run picker offers), read afresh.

    The unreadable ones are listed with their reason (`show_unreadable`) and left out: one
    broken run folder never breaks a page.
    """
    listing = RunStore(root).listing()
    show_unreadable(listing.unreadable)
    return list(reversed(listing.readable))


@st.cache_resource(max_entries=4, show_spinner="Loading the run's encoder and pretext head…")
def pretext_model(run_path: str, step: int) -> PretextModel:
    """A run's task, h_θ and k_γ at checkpoint `step`, loaded once for all sessions."""
    return load_pretext_model(Run(Path(run_path)), step)
