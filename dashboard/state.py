"""Every session_state key of the dashboard and its default, in one place."""

from __future__ import annotations

from typing import Any

import streamlit as st

__all__ = ["DEFAULTS", "Keys", "init"]

DISK = "(a folder or file on disk)"


class Keys:
    """Widget keys: tests find widgets by these names."""

    DATASET = "data.dataset"
    PATH = "data.path"
    N = "data.n"
    SIZE = "data.size"
    DIGITS_SIZE = "data.digits_size"
    SEED = "data.seed"
    GRID_COUNT = "data.grid_count"
    GRID_SEED = "data.grid_seed"
    SOURCE_FRACTION = "data.source_fraction"
    TEST_FRACTION = "data.test_fraction"
    LABEL_FRACTION = "data.label_fraction"


DEFAULTS: dict[str, Any] = {
    Keys.DATASET: "shapes",
    Keys.PATH: "",
    Keys.N: 4000,
    Keys.SIZE: 32,
    Keys.DIGITS_SIZE: 8,
    Keys.SEED: 0,
    Keys.GRID_COUNT: 48,
    Keys.GRID_SEED: 0,
    Keys.SOURCE_FRACTION: 0.5,
    Keys.TEST_FRACTION: 0.2,
    Keys.LABEL_FRACTION: 0.1,
}


def init() -> None:
    """Puts every default into session_state once, before any widget reads it."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
