"""The pretext head's predictions: a run's h_θ and k_γ reloaded, their outputs read back as z.

The dashboard's Pseudolabels page shows, next to each true pseudolabel z, what a trained pretext
head k_γ(h_θ(x̃)) predicts for it. How an output reads as a pseudolabel depends on the kind of
pretext (see :func:`predictions`): the argmax class for classification pretexts (rotation,
jigsaw, relative position), the most similar other row for two-view pretexts (contrastive,
SimSiam, VICReg, SCARF), the output image for generative ones (masked, colorization), the mask
and the features for VIME.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sslcore.pretext.base import PretextBatch, PretextTask
from sslcore.runs import Run

__all__ = [
    "Predictions",
    "PretextModel",
    "load_pretext_model",
    "nearest_other_row",
    "predictions",
    "pretext_outputs",
]


@dataclass
class PretextModel:
    """A run's pretext task with its encoder h_θ and pretext head k_γ at one checkpoint."""

    run_id: str
    step: int
    task: PretextTask
    encoder: nn.Module
    head: nn.Module

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The raw samples' shape the task (and its heads) were built for."""
        return self.task.sample_shape


@dataclass
class Predictions:
    """What k_γ(h_θ(x̃)) predicts, in the pseudolabels' own terms; None where it does not apply.

    Attributes:
        pseudolabels: predicted z, the shape of the true z: ``(N,)`` class indices, ``(2B,)``
            partner rows, or a ``(B, D)`` 0/1 mask (VIME).
        images: ``(B, C, H, W)`` predicted images on the encoder's normalised scale.
        features: ``(B, D)`` reconstructed features (VIME).
    """

    pseudolabels: torch.Tensor | None = None
    images: torch.Tensor | None = None
    features: torch.Tensor | None = None


def load_pretext_model(run: Run, step: int | None = None) -> PretextModel:
    """The run's task, h_θ and k_γ with the weights of checkpoint `step` (default: the last), CPU.

    Rebuilt with ``sslcore.train.pretrain.build_models`` from the checkpoint's sample shape
    (checkpoints older than that field go through ``build``, which loads the run's dataset), then
    the checkpoint's ``"encoder"`` and ``"head"`` state dicts are loaded; both in eval mode.

    Raises:
        DataError: the run has no checkpoint, or it is corrupt.
    """
    from sslcore.train.pretrain import build, build_models  # only when a run is loaded

    state = run.load_checkpoint(step)
    if "sample_shape" in state:
        task, encoder, head = build_models(run.config, state["sample_shape"])
    else:
        setup = build(run.config)
        task, encoder, head = setup.task, setup.encoder, setup.head
    encoder, head = encoder.to("cpu"), head.to("cpu")
    encoder.load_state_dict(state["encoder"])
    head.load_state_dict(state["head"])
    for module in (encoder, head):
        module.eval()
        module.requires_grad_(False)
    return PretextModel(run.id, int(state["step"]), task, encoder, head)


@torch.no_grad()
def pretext_outputs(model: PretextModel, batch: PretextBatch) -> Any:
    """``task.forward(h_θ, k_γ, batch)`` in eval mode (BatchNorm uses its running statistics)."""
    model.encoder.eval()
    model.head.eval()
    return model.task.forward(model.encoder, model.head, batch.to("cpu"))


def _is_pairing(z: torch.Tensor) -> bool:
    """True when z is a two-view pairing: row i pairs with (i + B) mod 2B."""
    rows = z.shape[0]
    if rows % 2 or rows == 0:
        return False
    expected = (torch.arange(rows, device=z.device) + rows // 2) % rows
    return bool(torch.equal(z, expected))


def nearest_other_row(embeddings: torch.Tensor) -> torch.Tensor:
    """For each row of `embeddings` ``(N, D)``, the most cosine-similar *other* row: ``(N,)``."""
    if embeddings.dim() != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"embeddings: expected (N, D) with N >= 2, got {tuple(embeddings.shape)}")
    unit = F.normalize(embeddings.float(), dim=1)  # (N, D)
    similarity = unit @ unit.T  # (N, N)
    similarity.fill_diagonal_(float("-inf"))  # a row is never its own partner
    return similarity.argmax(dim=1)


def predictions(task: PretextTask, outputs: Any, batch: PretextBatch) -> Predictions:
    """Reads the outputs of ``task.forward`` as predicted pseudolabels (see the module docstring).

    Returns an empty Predictions for outputs this function does not know how to read.
    """
    z = batch.pseudolabels
    if (
        isinstance(outputs, tuple | list)
        and len(outputs) == 2
        and all(isinstance(o, torch.Tensor) and o.shape == z.shape for o in outputs)
        and z.dim() == 2
        and z.is_floating_point()
    ):  # VIME: (mask logits, features), each (B, D)
        logits, features = outputs
        return Predictions(pseudolabels=(logits > 0).to(z.dtype), features=features)
    if isinstance(outputs, torch.Tensor) and outputs.shape == z.shape and z.dim() == 4:
        return Predictions(images=outputs)  # masked, colorization: (B, C, H, W)
    if z.dim() != 1 or z.is_floating_point():
        return Predictions()
    if (
        getattr(task, "num_classes", None)
        and isinstance(outputs, torch.Tensor)
        and outputs.dim() == 2
        and outputs.shape[0] == z.shape[0]
    ):  # classification pretexts: logits (N, K)
        return Predictions(pseudolabels=outputs.argmax(dim=1))
    if _is_pairing(z):  # two-view pretexts: the projections, or SimSiam's (p, z) projections
        embeddings = outputs if isinstance(outputs, torch.Tensor) else outputs[-1]
        if isinstance(embeddings, torch.Tensor) and embeddings.shape[0] == z.shape[0]:
            return Predictions(pseudolabels=nearest_other_row(embeddings.flatten(1)))
    return Predictions()
