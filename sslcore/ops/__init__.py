"""The one Python face of the compiled kernels, each with its pure-PyTorch reference beside it.

Every op here goes through torch.ops.sslcore (so device dispatch, fake tensors, opcheck and
torch.compile work) when the extension is built, and falls back to its reference otherwise
(see sslcore._ext). The references are the oracles the tests compare the kernels against.
Image ops live in ``ops/images.py``, the contrastive loss in ``ops/info_nce.py``.
"""

from sslcore.ops.images import (
    _HAS_EXT,
    _augment_args,
    augment_views,
    images_to_float,
    reference_augment_views,
    reference_images_to_float,
)
from sslcore.ops.info_nce import INFO_NCE_FORMS, InfoNCEOutput, info_nce, reference_info_nce

__all__ = [
    "INFO_NCE_FORMS",
    "_HAS_EXT",
    "InfoNCEOutput",
    "_augment_args",
    "augment_views",
    "images_to_float",
    "info_nce",
    "reference_augment_views",
    "reference_images_to_float",
    "reference_info_nce",
]
