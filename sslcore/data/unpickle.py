"""A restricted, size-bounded unpickler for data files (CIFAR's python batches).

Unpickling can run arbitrary code, so :class:`RestrictedUnpickler` resolves only the handful of
globals that numpy arrays and plain containers need; anything else is refused before it is
called. Even those can be asked for huge allocations (``bytearray(10**10)``, an array of shape
``(10**10,)``), so the ones that allocate are replaced by checked twins: the size is computed from
their arguments and checked against ``SSLCORE_MAX_DATA_BYTES`` first, and object arrays (numpy
allocates them from a claimed shape before comparing it with their list state) are refused.
Everything else a pickle builds costs memory in proportion to the file, which is capped too.
"""

from __future__ import annotations

import importlib
import io
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sslcore.data.limits import check_data_bytes, format_bytes, max_data_bytes
from sslcore.errors import DataError

__all__ = ["RestrictedUnpickler", "safe_unpickle"]

_ALLOWED_GLOBALS = {
    ("builtins", name) for name in ("dict", "list", "tuple", "set", "frozenset", "bytearray")
} | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}


class _TooLarge(pickle.UnpicklingError):
    """A pickle asked for an allocation over the cap; raised before it is made."""


def _check_alloc(nbytes: int, what: str) -> None:
    cap = max_data_bytes()
    if nbytes > cap:
        raise _TooLarge(
            f"{what} of {format_bytes(nbytes)} asked for, over the cap of {format_bytes(cap)} "
            "(set SSLCORE_MAX_DATA_BYTES to raise it)"
        )


def _array_bytes(shape: Any, dtype: Any) -> int:
    """Bytes of an array of ``shape`` and ``dtype``, with Python ints (no overflow)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(isinstance(s, int) and s >= 0 for s in shape):
        raise pickle.UnpicklingError(f"array shape must be non-negative ints, got {shape!r}")
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise pickle.UnpicklingError("refusing to unpickle an object array")
    return math.prod(shape) * dtype.itemsize


class _CheckedArray(np.ndarray):
    """What the pickle gets for ``numpy.ndarray``: construction and state are size-checked."""

    def __new__(cls, shape: Any, dtype: Any = float, *args: Any, **kwargs: Any) -> _CheckedArray:
        _check_alloc(_array_bytes(shape, dtype), "array")
        return super().__new__(cls, shape, dtype, *args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        # (version, shape, dtype, is_fortran, raw): numpy allocates ``shape`` before it compares
        # it with ``raw`` when the dtype holds objects, so both are checked here first.
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed numpy array state")
        shape, dtype = state[-4], state[-3]
        _check_alloc(_array_bytes(shape, dtype), "array")
        super().__setstate__(state)


def _checked_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct``, refusing big shapes and foreign subtypes."""
    if subtype is not _CheckedArray:
        raise pickle.UnpicklingError("_reconstruct is only allowed for numpy.ndarray")
    _check_alloc(_array_bytes(shape, dtype), "array")
    return np.ndarray.__new__(_CheckedArray, shape, dtype)


def _checked_dtype(*args: Any, **kwargs: Any) -> np.dtype:
    dtype = np.dtype(*args, **kwargs)
    if dtype.hasobject:
        raise pickle.UnpicklingError("refusing to unpickle an object dtype")
    _check_alloc(dtype.itemsize, "dtype item")
    return dtype


def _checked_bytearray(*args: Any) -> bytearray:
    if args and isinstance(args[0], int):
        _check_alloc(args[0], "bytearray")  # bytearray(n) allocates n zero bytes
    return bytearray(*args)


# The allowed globals that allocate from their arguments, replaced by checked twins.
_CHECKED: dict[str, Callable[..., Any]] = {
    "ndarray": _CheckedArray,
    "_reconstruct": _checked_reconstruct,
    "dtype": _checked_dtype,
    "bytearray": _checked_bytearray,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and builtin containers, and nothing else.

    The arrays it returns are of a private ``numpy.ndarray`` subclass; ``np.asarray`` gives the
    plain array.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Resolves an allowed global; raises UnpicklingError for any other, before it is used."""
        if module == "__builtin__":  # the Python 2 name, in pickles of protocol < 3
            module = "builtins"
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to unpickle global {module}.{name}")
        if name in _CHECKED:
            return _CHECKED[name]
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = module.replace("numpy.core.", "numpy._core.", 1)  # numpy 2 moved it
        return getattr(importlib.import_module(module), name)


def safe_unpickle(path: Path) -> Any:
    """Reads one pickle with :class:`RestrictedUnpickler` (``encoding="bytes"`` for Python 2).

    The file itself is size-checked before it is read.
    """
    try:
        check_data_bytes(path.stat().st_size, str(path))
        data = path.read_bytes()
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except DataError:
        raise
    except _TooLarge as e:
        raise DataError(f"{path}: {e}") from e
    except pickle.UnpicklingError as e:
        if "refusing to unpickle" in str(e):
            raise DataError(f"{path}: {e}; CIFAR batches hold only numpy arrays and lists") from e
        raise DataError(f"{path}: not a readable pickle ({e})") from e
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise DataError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from e
    except MemoryError as e:  # a structure built from many small pieces, each under the cap
        raise DataError(f"{path}: not a readable pickle (out of memory)") from e
