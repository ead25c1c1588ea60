"""The embedded datasets by name, and the one check of their options (names, types, bounds).

Options come from the CLI, the dashboard, a saved config or an imported bundle, so they may be
someone else's: ``n=1e9`` would ask the shapes generator for gigabytes. :func:`validate_options`
checks every option of an embedded dataset without generating anything; :func:`load_dataset
<sslcore.data.load_dataset>` calls it before every load, and the bundle importer calls it on a
bundle's config, so the bounds live here only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from sslcore.data.dataset import Dataset
from sslcore.data.embedded import load_breast_cancer, load_digits, load_wine
from sslcore.data.limits import check_data_bytes
from sslcore.data.options import check_option_names
from sslcore.data.shapes import TEXTURES, make_shapes

__all__ = [
    "DATASETS",
    "MAX_DIGITS_SIZE",
    "MAX_SHAPES_N",
    "MAX_SHAPES_SIZE",
    "dataset_names",
    "validate_options",
]

DATASETS: dict[str, Callable[..., Dataset]] = {
    "shapes": make_shapes,
    "digits": load_digits,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
}

MAX_SHAPES_N = 1_000_000  # images
MAX_SHAPES_SIZE = 512  # pixels per side
MAX_DIGITS_SIZE = 256  # pixels per side (the resize works in float32: 4x the uint8 output)
_DIGITS_N = 1797  # images in scikit-learn's copy
_MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit value
_MAX_TEXTURE_ENTRIES = 64


def dataset_names() -> list[str]:
    """Names of the embedded datasets, in registry order."""
    return list(DATASETS)


def _describe(value: Any) -> str:
    """``value`` for a one-line message: its repr (shortened) and its type."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's 4,300-digit str limit
        text = "a very large number"
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _int(what: str, key: str, value: Any, low: int, high: int) -> int:
    """``value`` if it is an int (not a bool, not a float) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{what}: option {key} must be an int in [{low}, {high}], got {_describe(value)}"
        )
    if not low <= value <= high:
        raise ValueError(
            f"{what}: option {key} must be an int in [{low}, {high}], got {_describe(value)}"
        )
    return value


def _number(what: str, key: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float if it is a finite real number (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{what}: option {key} must be a number in [{low:g}, {high:g}], got {_describe(value)}"
        )
    if not low <= value <= high:  # false for NaN too; compared exactly, even for huge ints
        raise ValueError(
            f"{what}: option {key} must be a number in [{low:g}, {high:g}], got {_describe(value)}"
        )
    return float(value)


def _textures(what: str, value: Any) -> None:
    """A non-empty list of names from ``TEXTURES``."""
    expected = f"a non-empty list of at most {_MAX_TEXTURE_ENTRIES} names from {list(TEXTURES)}"
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{what}: option textures must be {expected}, got {_describe(value)}")
    if not 1 <= len(value) <= _MAX_TEXTURE_ENTRIES:
        raise ValueError(f"{what}: option textures must be {expected}, got {len(value)} entries")
    unknown = [t for t in value if not isinstance(t, str) or t not in TEXTURES]
    if unknown:
        raise ValueError(
            f"{what}: option textures must be {expected}; unknown: {_describe(unknown[0])}"
        )


def _with_defaults(loader: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` completed with the loader's own defaults, so a bound sees the real value."""
    params = inspect.signature(loader).parameters.values()
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    return {**defaults, **options}


def _check_shapes(what: str, options: dict[str, Any]) -> None:
    options = _with_defaults(make_shapes, options)
    n = _int(what, "n", options["n"], 0, MAX_SHAPES_N)
    size = _int(what, "size", options["size"], 8, MAX_SHAPES_SIZE)
    _int(what, "seed", options["seed"], 0, _MAX_SEED)
    _number(what, "noise", options["noise"], 0.0, 1.0)
    _number(what, "max_angle", options["max_angle"], 0.0, 180.0)
    _textures(what, options["textures"])
    check_data_bytes(n * 3 * size * size, f"{what} with n={n}, size={size}")


def _check_digits(what: str, options: dict[str, Any]) -> None:
    size = options.get("size")
    if size is None:
        return
    if isinstance(size, (tuple, list)) and len(size) == 2:
        h = _int(what, "size", size[0], 1, MAX_DIGITS_SIZE)
        w = _int(what, "size", size[1], 1, MAX_DIGITS_SIZE)
    else:
        h = w = _int(what, "size", size, 1, MAX_DIGITS_SIZE)
    check_data_bytes(_DIGITS_N * h * w, f"{what} with size={size!r}")


def _no_options(what: str, options: dict[str, Any]) -> None:
    """Wine and breast cancer take no options; unknown names are refused before this runs."""


_OPTION_CHECKS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "shapes": _check_shapes,
    "digits": _check_digits,
    "wine": _no_options,
    "breast_cancer": _no_options,
}


def validate_options(name: str, options: dict[str, Any]) -> None:
    """Checks an embedded dataset's options (names, types, bounds) without generating any data.

    Size-like options are bounded twice: each on its own (``n <= 1,000,000`` images, ``size <=
    512`` pixels for shapes) and together, as the bytes the dataset would take, against
    ``SSLCORE_MAX_DATA_BYTES`` (see :mod:`sslcore.data.limits`).

    Args:
        name: An embedded dataset, a key of :data:`DATASETS`.
        options: Keyword options of its loader, e.g. ``{"n": 4000, "size": 32}``.

    Raises:
        ValueError: ``name`` is not an embedded dataset, or an option is out of its range.
        TypeError: ``options`` is not a dict, an option is unknown or of the wrong type.
        DataError: The options would build more data than the cap.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(
            f"unknown embedded dataset {_describe(name)}; expected one of {', '.join(DATASETS)}"
        )
    what = f"dataset {name!r}"
    if not isinstance(options, dict):
        raise TypeError(f"{what}: options must be a dict, got {_describe(options)}")
    check_option_names(DATASETS[name], options, what)
    _OPTION_CHECKS[name](what, options)
