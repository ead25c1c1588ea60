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
from typing import Any

import streamlit as st

from dashboard.state import DEFAULTS, Keys

__all__ = ["SHARED", "publish", "restore"]

# The settings each page (by url path) shares, as session_state keys. Buttons, uploads and
# measured results are not settings; the run store's folder is a local path, never shared.
SHARED: dict[str, list[str]] = {
    "data": [
        Keys.DATASET,
        Keys.N,
        Keys.SIZE,
        Keys.DIGITS_SIZE,
        Keys.SEED,
        Keys.GRID_COUNT,
        Keys.GRID_SEED,
        Keys.SOURCE_FRACTION,
        Keys.TEST_FRACTION,
        Keys.LABEL_FRACTION,
    ],
    "views": [
        Keys.VIEWS_DATASET,
        Keys.VIEWS_COUNT,
        Keys.VIEWS_PER_IMAGE,
        Keys.VIEWS_PRESET,
        Keys.VIEWS_SIZE,
        Keys.VIEWS_SCALE_MIN,
        Keys.VIEWS_SCALE_MAX,
        Keys.VIEWS_FLIP_P,
        Keys.VIEWS_BRIGHTNESS,
        Keys.VIEWS_CONTRAST,
        Keys.VIEWS_SATURATION,
        Keys.VIEWS_HUE,
        Keys.VIEWS_JITTER_P,
        Keys.VIEWS_GRAYSCALE_P,
        Keys.VIEWS_BLUR_P,
        Keys.VIEWS_BLUR_SIGMA_MAX,
        Keys.VIEWS_BLUR_KERNEL,
        Keys.VIEWS_SOLARIZE_P,
        Keys.VIEWS_SEED,
    ],
    "pseudolabels": [
        Keys.PSEUDO_DATASET,
        Keys.PSEUDO_TASK,
        Keys.PSEUDO_BATCH,
        Keys.PSEUDO_SEED,
        Keys.PSEUDO_SAMPLE_SEED,
        Keys.PSEUDO_RUN,
        Keys.PSEUDO_PREDICT,
    ],
    "train": [
        Keys.TRAIN_DATA,
        Keys.TRAIN_SHAPES_N,
        Keys.TRAIN_TASK,
        Keys.TRAIN_STEPS,
        Keys.TRAIN_BATCH,
        Keys.TRAIN_SEED,
        Keys.TRAIN_LR,
        Keys.TRAIN_RUN,
    ],
    "gradient-descent": [
        Keys.GD_PROBLEM,
        Keys.GD_KAPPA,
        Keys.GD_OPTIMIZER,
        Keys.GD_LR,
        Keys.GD_MOMENTUM,
        Keys.GD_STEPS,
        Keys.GD_START_X,
        Keys.GD_START_Y,
        Keys.GD_T,
        Keys.GD_RUN,
        Keys.GD_PLANE,
    ],
    "embeddings": [
        Keys.EMBED_RUN,
        Keys.EMBED_STEP,
        Keys.EMBED_SPLIT,
        Keys.EMBED_POINTS,
        Keys.EMBED_METHOD,
        Keys.EMBED_COLOUR,
    ],
    "theory": [Keys.THEORY_RUNS, Keys.THEORY_SCALE],
    "loss-kernel": [
        Keys.LOSS_N,
        Keys.LOSS_D,
        Keys.LOSS_TEMPERATURE,
        Keys.LOSS_FORM,
        Keys.LOSS_ALIGNMENT,
        Keys.LOSS_SEED,
    ],
}
# Keys whose default (None) says nothing of their type.
TYPES: dict[str, type] = {
    Keys.PSEUDO_RUN: str,
    Keys.TRAIN_RUN: str,
    Keys.GD_RUN: str,
    Keys.EMBED_RUN: str,
    Keys.EMBED_STEP: int,
}
_PUBLISHED = "_share.published"  # the query dict this session last wrote
_RESTORED = "_share.restored"  # what restore set, to notice what a page then changed


def _name(key: str) -> str:
    """The URL parameter of a key: the part after the page prefix (``data.n`` → ``n``)."""
    return key.split(".", 1)[1]


def _kind(key: str) -> type:
    default = DEFAULTS.get(key)
    return TYPES.get(key) or (type(default) if default is not None else str)


def _parse(key: str, raw: str) -> Any:
    """`raw` as the type of `key`'s value; ValueError when it is not one."""
    kind = _kind(key)
    if kind is bool:
        if raw.lower() not in ("true", "false"):
            raise ValueError("expected true or false")
        return raw.lower() == "true"
    if kind is int:
        return int(raw)
    if kind is float:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value
    if kind is list:
        items = [item for item in raw.split(",") if item]
        sample = (DEFAULTS.get(key) or [""])[0]
        return [type(sample)(item) for item in items] if not isinstance(sample, str) else items
    return raw


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
    keys = {_name(k): k for k in SHARED.get(page, [])}
    notices, restored = [], {}
    for name, raw in params.items():
        key = keys.get(name)
        if key is None:
            notices.append(f"ignored the unknown URL parameter {name!r}")
            continue
        try:
            value = _parse(key, raw)
        except (TypeError, ValueError) as error:
            notices.append(f"ignored {name}={raw!r} ({error}); showing the default")
            continue
        st.session_state[key] = value
        restored[key] = value
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
                f"{_name(key)}={_format(value)} is not available here; showing "
                f"{_format(st.session_state.get(key))}"
            )
    values = {_name(k): _format(st.session_state.get(k)) for k in SHARED.get(page, [])}
    values = {k: v for k, v in values.items() if v is not None}
    st.session_state[_PUBLISHED] = values
    if {k: st.query_params.get_all(k)[-1] for k in st.query_params} != values:
        st.query_params.from_dict(values)
    for notice in notices:
        st.toast(f"Link: {notice}", icon="⚠️")
