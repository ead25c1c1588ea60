"""Every session_state key of the dashboard and its default, in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from sslcore.augment import ViewSpec

__all__ = ["CUSTOM", "DEFAULTS", "RECIPE_FIELDS", "VIEW_PRESETS", "Keys", "init", "preset_values"]

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

    # Views page: the source images, the recipe (one slider per strength or probability), timing.
    VIEWS_DATASET = "views.dataset"
    VIEWS_COUNT = "views.count"
    VIEWS_PER_IMAGE = "views.views"
    VIEWS_PRESET = "views.preset"
    VIEWS_SIZE = "views.size"
    VIEWS_SCALE_MIN = "views.scale_min"
    VIEWS_SCALE_MAX = "views.scale_max"
    VIEWS_FLIP_P = "views.flip_p"
    VIEWS_BRIGHTNESS = "views.brightness"
    VIEWS_CONTRAST = "views.contrast"
    VIEWS_SATURATION = "views.saturation"
    VIEWS_HUE = "views.hue"
    VIEWS_JITTER_P = "views.jitter_p"
    VIEWS_GRAYSCALE_P = "views.grayscale_p"
    VIEWS_BLUR_P = "views.blur_p"
    VIEWS_BLUR_SIGMA_MAX = "views.blur_sigma_max"
    VIEWS_BLUR_KERNEL = "views.blur_kernel"  # 0 = the spec's default, 10 % of the side
    VIEWS_SOLARIZE_P = "views.solarize_p"
    VIEWS_SEED = "views.seed"
    VIEWS_REGENERATE = "views.regenerate"  # a button: bumps VIEWS_SEED
    VIEWS_TIME_BATCH = "views.time_batch"
    VIEWS_TIME = "views.time"  # a button: times the recipe on VIEWS_TIME_BATCH images
    VIEWS_TIMING = "views.timing"  # not a widget: the last timing's results and what was timed

    # Loss kernel page: a small batch's similarity structure, then time and memory at scale.
    LOSS_N = "loss.n"
    LOSS_D = "loss.d"
    LOSS_TEMPERATURE = "loss.temperature"
    LOSS_FORM = "loss.form"
    LOSS_ALIGNMENT = "loss.alignment"
    LOSS_SEED = "loss.seed"
    LOSS_LIVE_NS = "loss.live_ns"
    LOSS_LIVE_RUN = "loss.live_run"  # a button: measures LOSS_LIVE_NS with both contenders
    LOSS_LIVE = "loss.live"  # not a widget: the last live run's records and the Ns it measured
    LOSS_UPLOAD = "loss.upload"  # a file uploader: no default (its value cannot be set)


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

# The recipe sliders of the Views page and the ViewSpec field each one sets.
RECIPE_FIELDS: dict[str, str] = {
    Keys.VIEWS_FLIP_P: "flip_p",
    Keys.VIEWS_BRIGHTNESS: "brightness",
    Keys.VIEWS_CONTRAST: "contrast",
    Keys.VIEWS_SATURATION: "saturation",
    Keys.VIEWS_HUE: "hue",
    Keys.VIEWS_JITTER_P: "jitter_p",
    Keys.VIEWS_GRAYSCALE_P: "grayscale_p",
    Keys.VIEWS_BLUR_P: "blur_p",
    Keys.VIEWS_SOLARIZE_P: "solarize_p",
}

# Presets of the Views page: the recipe each one puts into the sliders. BYOL's second view
# differs from its first (blur p 0.1, solarize p 0.2); the sliders show the first.
VIEW_PRESETS: dict[str, Callable[[int], ViewSpec]] = {
    "SimCLR": lambda size: ViewSpec.simclr(size),
    "BYOL": lambda size: ViewSpec.byol(size, view=1),
}
CUSTOM = "custom"


def preset_values(preset: str, size: int = 32) -> dict[str, Any]:
    """The slider values {key: value} of a preset's recipe (its first view for BYOL)."""
    spec = VIEW_PRESETS[preset](size)
    values: dict[str, Any] = {
        key: round(getattr(spec, name), 4) for key, name in RECIPE_FIELDS.items()
    }
    values[Keys.VIEWS_SCALE_MIN] = spec.scale[0]
    values[Keys.VIEWS_SCALE_MAX] = spec.scale[1]
    values[Keys.VIEWS_BLUR_SIGMA_MAX] = spec.blur_sigma[1]
    values[Keys.VIEWS_BLUR_KERNEL] = 0
    return values


DEFAULTS.update(
    {
        Keys.VIEWS_DATASET: "shapes",
        Keys.VIEWS_COUNT: 6,
        Keys.VIEWS_PER_IMAGE: 2,
        Keys.VIEWS_PRESET: "SimCLR",
        Keys.VIEWS_SIZE: 32,
        **preset_values("SimCLR"),
        Keys.VIEWS_SEED: 0,
        Keys.VIEWS_TIME_BATCH: 256,
        Keys.VIEWS_TIMING: None,
        Keys.LOSS_N: 8,
        Keys.LOSS_D: 32,
        Keys.LOSS_TEMPERATURE: 0.1,
        Keys.LOSS_FORM: "ntxent",
        Keys.LOSS_ALIGNMENT: 0.25,
        Keys.LOSS_SEED: 0,
        Keys.LOSS_LIVE_NS: [256, 1024],
        Keys.LOSS_LIVE: None,
    }
)


def init() -> None:
    """Puts every default into session_state, and stores every current value again each run.

    Streamlit forgets the value of a widget that is not drawn on the current page; writing each
    key back on every run keeps a page's settings while the user visits another page.
    """
    for key, value in DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)
