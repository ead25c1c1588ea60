"""Encoders h_θ, heads (k_γ, g_φ, projections) and the transfer of θ* between them."""

from sslcore.models.compose import freeze, transfer, unfreeze
from sslcore.models.encoders import (
    ConvEncoder,
    MLPEncoder,
    ResNetEncoder,
    make_encoder,
    parameter_count,
)
from sslcore.models.heads import ImageDecoder, linear_head, mlp_head, projection_head, task_head

__all__ = [
    "ConvEncoder",
    "ImageDecoder",
    "MLPEncoder",
    "ResNetEncoder",
    "freeze",
    "linear_head",
    "make_encoder",
    "mlp_head",
    "parameter_count",
    "projection_head",
    "task_head",
    "transfer",
    "unfreeze",
]
