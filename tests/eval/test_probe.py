"""Probes: features in eval mode, perfect accuracy on separable data, chance on noise."""

import numpy as np
import torch

from sslcore.eval import extract_features, knn_accuracy, linear_probe_accuracy
from sslcore.models import make_encoder


def test_extract_features_keeps_the_mode_and_batches():
    encoder = make_encoder((3, 8, 8), width=2, name="tiny")
    encoder.train()
    x = torch.randint(0, 256, (7, 3, 8, 8), dtype=torch.uint8)
    feats = extract_features(encoder, x, batch_size=3)
    assert feats.shape == (7, 8) and feats.dtype == np.float32
    assert encoder.training
    np.testing.assert_allclose(feats, extract_features(encoder, x, batch_size=100), atol=1e-5)


def test_probes_on_separable_and_random_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 50)
    separable = np.eye(4)[y] * 5 + rng.normal(0, 0.1, (200, 4))
    assert linear_probe_accuracy(separable[::2], y[::2], separable[1::2], y[1::2]) == 1.0
    assert knn_accuracy(separable[::2], y[::2], separable[1::2], y[1::2]) == 1.0
    noise = rng.normal(size=(200, 4))
    assert linear_probe_accuracy(noise[::2], y[::2], noise[1::2], y[1::2]) < 0.5
    assert knn_accuracy(noise[::2], y[::2], noise[1::2], y[1::2], k=500) < 0.5
