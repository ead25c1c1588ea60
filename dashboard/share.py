"""Shareable URLs: each page's settings mirrored into ``st.query_params``.

After a page runs, its settings are written to the URL (``publish``), so a copied URL holds the
view. When a URL arrives that this session did not write itself (a shared link, an edited
address), ``restore`` parses it into session_state before the page draws its widgets. A value
that does not parse, or a parameter the page does not know, is dropped with a notice, and the
page shows its default there; a value a widget cannot show (a run that is not in this store) is
put back to the page's default by the page itself, and ``publish`` says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import loaders
from dashboard.state import CUSTOM, DEFAULTS, DISK, VIEW_PRESETS, Keys
from sslcore.config import ENCODERS, PROTOCOLS
from sslcore.data import LABEL_FRACTIONS, dataset_names
from sslcore.eval.embeddings import METHODS, SPLITS
from sslcore.landscape.descent import OPTIMIZERS
from sslcore.landscape.runs import PLANES
from sslcore.landscape.surfaces import SURFACES
from sslcore.ops import INFO_NCE_FORMS
from sslcore.viz_html import markdown_text
from sslcore.viz_transfer import SCALES

__all__ = ["SHARED", "Limit", "bounds", "choices", "publish", "restore"]

SEED_MAX = 2**31 - 1
MINUTES_MAX = 7 * 24 * 60.0  # PretrainConfig's largest time budget: a week
MAX_RAW = 500  # characters of one URL parameter: longer is not a value any widget holds


@dataclass(frozen=True)
class Limit:
    """The values a shared key's widget can show: a closed range, a list of choices, or both.

    The widgets read their bounds and choices from here (``bounds``, ``choices``), so a URL is
    checked against exactly what its widget accepts. ``choices`` may be a function when they
    come from code (the registered datasets); choices that depend on the session (runs in the
    store, a dataset's tasks) are left to the page, which puts a value it cannot show back to its
    default and says so.
    """

    low: float | None = None
    high: float | None = None
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None

    def options(self) -> list[Any] | None:
        """The choices, or None when any value in the range will do."""
        if self.choices is None:
            return None
        return list(self.choices() if callable(self.choices) else self.choices)

    def check(self, value: Any) -> None:
        """Raises ValueError naming what the widget accepts when `value` is not one of them."""
        options = self.options()
        if options is not None and value not in options:
            shown = ", ".join(str(_format(v)) for v in options[:12])
            raise ValueError(f"expected one of {shown}" + (", …" if len(options) > 12 else ""))
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        if isinstance(value, (int, float)) and not low <= value <= high:
            raise ValueError(f"expected a value from {_format(self.low)} to {_format(self.high)}")


ANY = Limit()
PROBABILITY = Limit(0.0, 1.0)
STRENGTH = Limit(0.0, 1.5)  # colour-jitter strengths
SEED = Limit(0, SEED_MAX)

# The settings each page (by url path) shares, as session_state keys, with what each widget can
# show. Buttons, uploads and measured results are not settings; the run store's folder is a local
# path, never shared.
SHARED: dict[str, dict[str, Limit]] = {
    "data": {
        Keys.DATASET: Limit(choices=lambda: [*dataset_names(), DISK]),
        Keys.N: Limit(200, 20_000),
        Keys.SIZE: Limit(choices=loaders.SIZES["shapes"]),
        Keys.DIGITS_SIZE: Limit(choices=loaders.SIZES["digits"]),
        Keys.SEED: SEED,
        Keys.GRID_COUNT: Limit(8, 128),
        Keys.GRID_SEED: SEED,
        Keys.SOURCE_FRACTION: Limit(0.1, 0.9),
        Keys.TEST_FRACTION: Limit(0.1, 0.5),
        Keys.LABEL_FRACTION: Limit(choices=LABEL_FRACTIONS),
    },
    "views": {
        Keys.VIEWS_DATASET: Limit(choices=tuple(loaders.VIEW_SOURCES)),
        Keys.VIEWS_COUNT: Limit(1, 16),
        Keys.VIEWS_PER_IMAGE: Limit(2, 4),
        Keys.VIEWS_PRESET: Limit(choices=(*VIEW_PRESETS, CUSTOM)),
        Keys.VIEWS_SIZE: Limit(choices=(16, 24, 32, 48, 64)),
        Keys.VIEWS_SCALE_MIN: Limit(0.01, 1.0),
        Keys.VIEWS_SCALE_MAX: Limit(0.01, 1.0),
        Keys.VIEWS_FLIP_P: PROBABILITY,
        Keys.VIEWS_BRIGHTNESS: STRENGTH,
        Keys.VIEWS_CONTRAST: STRENGTH,
        Keys.VIEWS_SATURATION: STRENGTH,
        Keys.VIEWS_HUE: Limit(0.0, 0.5),
        Keys.VIEWS_JITTER_P: PROBABILITY,
        Keys.VIEWS_GRAYSCALE_P: PROBABILITY,
        Keys.VIEWS_BLUR_P: PROBABILITY,
        Keys.VIEWS_BLUR_SIGMA_MAX: Limit(0.1, 5.0),  # from SimCLR's and BYOL's lowest sigma
        Keys.VIEWS_BLUR_KERNEL: Limit(0, 99),
        Keys.VIEWS_SOLARIZE_P: PROBABILITY,
        Keys.VIEWS_SEED: SEED,
    },
    "pseudolabels": {
        Keys.PSEUDO_DATASET: Limit(choices=dataset_names),
        Keys.PSEUDO_TASK: ANY,  # the dataset's tasks: the page
        Keys.PSEUDO_BATCH: Limit(4, 16),
        Keys.PSEUDO_SEED: SEED,
        Keys.PSEUDO_SAMPLE_SEED: SEED,
        Keys.PSEUDO_RUN: ANY,  # the store's runs: the page
        Keys.PSEUDO_PREDICT: ANY,
    },
    "train": {
        Keys.TRAIN_DATA: Limit(choices=dataset_names),
        Keys.TRAIN_SHAPES_N: Limit(choices=(500, 1000, 2000, 4000, 10_000)),
        Keys.TRAIN_TASK: ANY,
        Keys.TRAIN_ENCODER: Limit(choices=ENCODERS),
        Keys.TRAIN_PROTOCOL: Limit(choices=PROTOCOLS),
        Keys.TRAIN_TUNED: ANY,
        Keys.TRAIN_STEPS: Limit(1, 1_000_000),
        Keys.TRAIN_MINUTES: Limit(0.0, MINUTES_MAX),  # 0: no time budget
        Keys.TRAIN_BATCH: Limit(choices=(8, 16, 32, 64, 128, 256)),
        Keys.TRAIN_SEED: SEED,
        Keys.TRAIN_LR: Limit(1e-5, 1.0),
        Keys.TRAIN_RUN: ANY,
    },
    "gradient-descent": {
        Keys.GD_PROBLEM: Limit(choices=("dog_vs_cat", *SURFACES)),
        Keys.GD_KAPPA: Limit(choices=(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)),
        Keys.GD_OPTIMIZER: Limit(choices=OPTIMIZERS),
        Keys.GD_LR: Limit(0.0, 100.0),  # far past divergence on every problem
        Keys.GD_MOMENTUM: Limit(0.0, 0.99),
        Keys.GD_STEPS: Limit(1, 1000),
        Keys.GD_START_X: ANY,  # the problem's box: the page says when a start lies outside it
        Keys.GD_START_Y: ANY,
        Keys.GD_T: Limit(0, 1000),  # up to the steps run: the page
        Keys.GD_RUN: ANY,
        Keys.GD_PLANE: Limit(choices=PLANES),
    },
    "embeddings": {
        Keys.EMBED_RUN: ANY,
        Keys.EMBED_STEP: Limit(0, None),  # the run's checkpoints: the page
        Keys.EMBED_SPLIT: Limit(choices=SPLITS),
        Keys.EMBED_POINTS: Limit(choices=(500, 1000, 2000, 5000, 10_000)),
        Keys.EMBED_METHOD: Limit(choices=METHODS[:2]),
        Keys.EMBED_COLOUR: Limit(choices=("class", "pseudolabel z")),
    },
    "theory": {Keys.THEORY_RUNS: ANY, Keys.THEORY_SCALE: Limit(choices=SCALES)},
    "loss-kernel": {
        Keys.LOSS_N: Limit(2, 64),
        Keys.LOSS_D: Limit(2, 256),
        Keys.LOSS_TEMPERATURE: Limit(
            choices=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
        ),
        Keys.LOSS_FORM: Limit(choices=INFO_NCE_FORMS),
        Keys.LOSS_ALIGNMENT: PROBABILITY,
        Keys.LOSS_SEED: SEED,
    },
}
LIMITS: dict[str, Limit] = {key: limit for page in SHARED.values() for key, limit in page.items()}
# Keys whose default (None) says nothing of their type.
TYPES: dict[str, type] = {
    Keys.PSEUDO_RUN: str,
    Keys.TRAIN_RUN: str,
    Keys.GD_RUN: str,
    Keys.EMBED_RUN: str,
    Keys.EMBED_STEP: int,
}


def bounds(key: str) -> tuple[Any, Any]:
    """``(min, max)`` of `key`'s widget, as the URL is checked against them."""
    limit = LIMITS[key]
    return limit.low, limit.high


def choices(key: str) -> list[Any]:
    """The options of `key`'s widget, as the URL is checked against them."""
    options = LIMITS[key].options()
    if options is None:
        raise KeyError(f"{key}: its widget has no fixed choices")
    return options


_PUBLISHED = "_share.published"  # the query dict this session last wrote
_RESTORED = "_share.restored"  # what restore set, to notice what a page then changed


def _name(key: str) -> str:
    """The URL parameter of a key: the part after the page prefix (``data.n`` → ``n``)."""
    return key.split(".", 1)[1]


def _kind(key: str) -> type:
    default = DEFAULTS.get(key)
    return TYPES.get(key) or (type(default) if default is not None else str)


def _parse(key: str, raw: str) -> Any:
    """`raw` as a value `key`'s widget can show; ValueError naming what it expected if not."""
    if len(raw) > MAX_RAW:
        raise ValueError(f"expected at most {MAX_RAW} characters")
    value = _typed(key, raw.strip())
    LIMITS.get(key, ANY).check(value)
    return value


def _typed(key: str, raw: str) -> Any:
    """`raw` as the type of `key`'s value (int, finite float, bool, list or str)."""
    kind = _kind(key)
    if kind is bool:
        if raw.lower() not in ("true", "false"):
            raise ValueError("expected true or false")
        return raw.lower() == "true"
    if kind is int:
        if not re.fullmatch(r"[+-]?[0-9]+", raw):  # no "1e9", "2.0", "0x10", "1_000", "²"
            raise ValueError("expected a whole number")
        return int(raw)
    if kind is float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value
    if kind is list:
        items = [item for item in raw.split(",") if item]
        sample = (DEFAULTS.get(key) or [""])[0]
        return [type(sample)(item) for item in items] if not isinstance(sample, str) else items
    return raw


def _shown(text: Any) -> str:
    """Someone else's text in a notice: shortened, and literal in the toast's Markdown."""
    return markdown_text(text, limit=40)


def _format(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def restore(page: str) -> list[str]:
    """Applies a URL this session did not write to `page`'s settings; the notices to show."""
    params = {k: st.query_params.get_all(k)[-1] for k in st.query_params}
    if not params or params == st.session_state.get(_PUBLISHED):
        return []
    keys = {_name(k): k for k in SHARED.get(page, {})}
    notices, restored, unknown = [], {}, []
    for name, raw in params.items():
        key = keys.get(name)
        if key is None:
            unknown.append(name)
            continue
        try:
            value = _parse(key, raw)
        except (TypeError, ValueError) as error:
            notices.append(f"ignored {name}={_shown(repr(raw))} ({error}); showing the default")
            continue
        st.session_state[key] = value
        restored[key] = value
    if unknown:  # one notice, however many there are
        names = ", ".join(_shown(repr(name)) for name in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        notices.append(f"ignored the unknown URL parameter{'s' * (len(unknown) > 1)} {names}{more}")
    if Keys.GD_PROBLEM in restored:  # a shared start point belongs to the shared problem;
        shared_start = {Keys.GD_START_X, Keys.GD_START_Y} <= set(restored)  # else its default
        st.session_state[Keys.GD_LAST_PROBLEM] = restored[Keys.GD_PROBLEM] if shared_start else None
    st.session_state[_RESTORED] = restored
    return notices


def publish(page: str, notices: list[str]) -> None:
    """Writes `page`'s settings to the URL and shows the notices of this run's restore."""
    restored = st.session_state.pop(_RESTORED, {})
    for key, value in restored.items():
        if st.session_state.get(key) != value:
            notices.append(
                f"{_name(key)}={_shown(_format(value))} is not available here; showing "
                f"{_shown(_format(st.session_state.get(key)))}"
            )
    values = {_name(k): _format(st.session_state.get(k)) for k in SHARED.get(page, {})}
    values = {k: v for k, v in values.items() if v is not None}
    st.session_state[_PUBLISHED] = values
    if {k: st.query_params.get_all(k)[-1] for k in st.query_params} != values:
        st.query_params.from_dict(values)
    for notice in notices:
        st.toast(f"Link: {notice}", icon="⚠️")
