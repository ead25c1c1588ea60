"""The datasets shipped inside scikit-learn: values match sklearn, tables are standardised."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn import datasets as skdatasets

from sslcore.data import load_breast_cancer, load_digits, load_wine
from sslcore.data.resize import resize_images


def test_digits_match_sklearn():
    data = load_digits()
    ref = skdatasets.load_digits()
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == torch.uint8
    assert data.class_names == [str(i) for i in range(10)] and data.modality == "image"
    assert np.array_equal(data.y.numpy(), ref.target)
    # 0..16 counts -> 0..255, exactly at the ends.
    assert np.array_equal(data.x[:, 0].numpy(), np.rint(ref.images * 255 / 16).astype(np.uint8))
    assert data.x.max() == 255 and data.x.min() == 0


def test_digits_resized():
    small, big = load_digits(), load_digits(size=16)
    assert big.x.shape == (1797, 1, 16, 16) and big.x.dtype == torch.uint8
    assert torch.equal(big.y, small.y)
    # Upsampling keeps the average brightness of every image.
    diff = big.x.float().mean((1, 2, 3)) - small.x.float().mean((1, 2, 3))
    assert diff.abs().max() < 3
    assert torch.equal(load_digits(size=8).x, small.x)


@pytest.mark.parametrize("out_hw", [(5, 7), (20, 16), (13, 13)])
def test_resize_matches_pil_bilinear(out_hw):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (1, 3, 13, 11), dtype=torch.uint8, generator=g)
    pil = Image.fromarray(x[0].permute(1, 2, 0).numpy()).resize(out_hw[::-1], Image.BILINEAR)
    got = resize_images(x, out_hw)[0].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(got - np.asarray(pil, dtype=int)).max() <= 1
    assert resize_images(x[:0], (3, 5)).shape == (0, 3, 3, 5)
    flat = torch.full((2, 1, 9, 9), 77, dtype=torch.uint8)
    assert (resize_images(flat, 4) == 77).all()


@pytest.mark.parametrize("size", [0, -3, 2.5, (4,), "8", True])
def test_bad_size(size):
    with pytest.raises(ValueError, match="size"):
        load_digits(size=size)


@pytest.mark.parametrize(
    "loader, sk, shape, classes",
    [
        (load_wine, skdatasets.load_wine, (178, 13), 3),
        (load_breast_cancer, skdatasets.load_breast_cancer, (569, 30), 2),
    ],
)
def test_tables_are_standardised(loader, sk, shape, classes):
    data, ref = loader(), sk()
    assert data.x.shape == shape and data.x.dtype == torch.float32 and data.modality == "vector"
    assert data.num_classes == classes and data.class_names == list(ref.target_names)
    assert data.feature_names == list(ref.feature_names)
    assert np.array_equal(data.y.numpy(), ref.target)
    x = data.x.double()
    torch.testing.assert_close(
        x.mean(0), torch.zeros(shape[1], dtype=torch.float64), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        x.std(0, unbiased=False), torch.ones(shape[1], dtype=torch.float64), atol=1e-5, rtol=0
    )
    # Standardising is per-column affine: undo it with the raw statistics.
    raw = ref.data
    restored = data.x.numpy() * raw.std(0) + raw.mean(0)
    assert (np.abs(restored - raw) <= 1e-5 * np.abs(raw).max(0)).all()
