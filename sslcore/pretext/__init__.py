"""Pretext tasks P: raw x ─► (inputs x̃, pseudolabels z), with their heads k_γ and losses L_pre.

``PRETEXT_TASKS`` maps each task's name to its class; ``make_task(name, sample_shape, **options)``
builds one (a task that does not fit the data's modality raises a DataError saying so).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sslcore.errors import DataError

if TYPE_CHECKING:
    from sslcore.pretext.base import PretextBatch, PretextLoss, PretextTask

__all__ = [
    "PRETEXT_TASKS",
    "PretextBatch",
    "PretextLoss",
    "PretextTask",
    "make_task",
    "task_class",
    "tasks_for",
]

# name → "module:Class", imported on first use (each task is its own small module).
PRETEXT_TASKS: dict[str, str] = {
    "rotation": "sslcore.pretext.rotation:Rotation",
    "jigsaw": "sslcore.pretext.jigsaw:Jigsaw",
    "relative_position": "sslcore.pretext.relative_position:RelativePosition",
    "masked": "sslcore.pretext.masked:MaskedReconstruction",
    "colorization": "sslcore.pretext.colorization:Colorization",
    "contrastive": "sslcore.pretext.contrastive:Contrastive",
    "simsiam": "sslcore.pretext.simsiam:SimSiam",
    "vicreg": "sslcore.pretext.vicreg:VICReg",
    "vime": "sslcore.pretext.vime:VIMEMasking",
    "scarf": "sslcore.pretext.scarf:Scarf",
}


def __getattr__(name: str) -> Any:
    """The base classes, imported on first use: the registry's names alone need no torch."""
    if name in ("PretextBatch", "PretextLoss", "PretextTask"):
        from sslcore.pretext import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def task_class(name: str) -> type[PretextTask]:
    """The PretextTask subclass registered as `name` (ValueError listing the names if unknown)."""
    if name not in PRETEXT_TASKS:
        raise ValueError(f"task: unknown pretext task {name!r}; known: {', '.join(PRETEXT_TASKS)}")
    module, cls = PRETEXT_TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_task(name: str, sample_shape: Sequence[int], **options: Any) -> PretextTask:
    """The pretext task `name` for samples of `sample_shape`, with its keyword `options`."""
    cls = task_class(name)
    try:
        return cls(sample_shape, **options)
    except TypeError as error:
        if "argument" in str(error):
            raise TypeError(f"task {name!r}: {error}") from None
        raise


def tasks_for(modality: str, sample_shape: Sequence[int] | None = None) -> list[str]:
    """Names of the tasks that work on `modality` (``"image"`` or ``"vector"``).

    Given a `sample_shape`, only those that accept it with their default options (colorization
    needs colour, jigsaw needs room for its tiles).
    """
    names = [name for name in PRETEXT_TASKS if modality in task_class(name).modalities]
    if sample_shape is None:
        return names
    fitting = []
    for name in names:
        try:
            make_task(name, sample_shape)
        except (DataError, ValueError):
            continue
        fitting.append(name)
    return fitting
