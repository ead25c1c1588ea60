"""Rotation (Gidaris et al. 2018): pseudolabels against known rotations, determinism, checks,
and a tiny training run whose loss must fall."""

from __future__ import annotations

import math

import pytest
import torch

from sslcore.data import load_digits
from sslcore.errors import DataError
from sslcore.pretext.base import to_model_input
from sslcore.pretext.rotation import Rotation
from tests.pretext.classification import raw, relative_drop, train


def corner_images(h: int = 5, w: int = 5) -> torch.Tensor:
    """Two 1-channel images with one bright pixel each: top-left (0, 0) and (0, 1)."""
    x = torch.zeros(2, 1, h, w, dtype=torch.uint8)
    x[0, 0, 0, 0] = 255
    x[1, 0, 0, 1] = 200
    return x


def bright_pixel(image: torch.Tensor) -> tuple[int, int]:
    """(row, col) of the brightest pixel of a ``(1, H, W)`` image."""
    flat = int(image[0].argmax())
    return divmod(flat, image.shape[-1])


def turned(pixel: tuple[int, int], turns: int, h: int, w: int) -> tuple[int, int]:
    """Where `pixel` lands after `turns` counter-clockwise quarter turns (as displayed), by hand:
    one turn sends (r, c) of an h×w image to (w − 1 − c, r) of the w×h result."""
    r, c = pixel
    for _ in range(turns):
        r, c, h, w = w - 1 - c, r, w, h
    return r, c


@pytest.mark.parametrize("all_rotations", [True, False])
def test_each_row_is_its_image_turned_by_z_quarter_turns(all_rotations):
    x = corner_images()
    task = Rotation((1, 5, 5), all_rotations=all_rotations)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    b = x.shape[0]
    assert batch.inputs.dtype == torch.float32 and batch.pseudolabels.dtype == torch.int64
    assert batch.inputs.shape == ((4 * b if all_rotations else b), 1, 5, 5)
    pixels = raw(batch.inputs)
    for row, z in enumerate(batch.pseudolabels.tolist()):
        source = x[row % b]
        # Independent oracle: the bright pixel moved where a hand-made quarter turn puts it ...
        assert bright_pixel(pixels[row]) == turned(bright_pixel(source), z, 5, 5)
        # ... and the whole row is exactly the raw rotation, normalised.
        expected = to_model_input(torch.rot90(source, z, dims=(1, 2))[None])[0]
        assert torch.equal(batch.inputs[row], expected)


def test_all_rotations_layout_is_rotation_major():
    x = corner_images()
    batch = Rotation((1, 5, 5)).make_batch(x, torch.Generator().manual_seed(0))
    assert batch.pseudolabels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(raw(batch.inputs[:2]), x)  # 0° rows are the images unchanged
    assert batch.extras == {}


def test_one_random_rotation_per_image_uses_all_four():
    x = torch.randint(0, 256, (64, 3, 6, 6), dtype=torch.uint8, generator=torch.Generator())
    batch = Rotation((3, 6, 6), all_rotations=False).make_batch(x, torch.Generator().manual_seed(1))
    z = batch.pseudolabels
    assert z.shape == (64,) and set(z.tolist()) == {0, 1, 2, 3}
    for row in range(64):
        assert torch.equal(raw(batch.inputs[row]), torch.rot90(x[row], int(z[row]), dims=(1, 2)))


def test_non_square_images_turn_by_half_turns_only():
    x = corner_images(h=4, w=6)
    task = Rotation((1, 4, 6))
    assert task.rotations == (0, 2)
    batch = task.make_batch(x, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == (4, 1, 4, 6)
    assert batch.pseudolabels.tolist() == [0, 0, 2, 2]
    assert bright_pixel(raw(batch.inputs[2])) == turned((0, 0), 2, 4, 6) == (3, 5)
    one = Rotation((1, 4, 6), all_rotations=False)
    z = one.make_batch(x.repeat(16, 1, 1, 1), torch.Generator().manual_seed(0)).pseudolabels
    assert set(z.tolist()) == {0, 2}
    assert one.pretext_head(8)(torch.zeros(2, 8)).shape == (2, 4)  # z keeps its 4-way meaning


def test_make_batch_replays_for_a_seed():
    x = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator())
    task = Rotation((3, 8, 8), all_rotations=False)
    a, b = (task.make_batch(x, torch.Generator().manual_seed(5)) for _ in range(2))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.pseudolabels, b.pseudolabels)
    c = task.make_batch(x, torch.Generator().manual_seed(6))
    assert not torch.equal(a.pseudolabels, c.pseudolabels)


def test_rejects_bad_input():
    with pytest.raises(DataError, match="rotation"):
        Rotation((13,))
    task = Rotation((3, 8, 8))
    gen = torch.Generator()
    with pytest.raises(ValueError, match=r"\(B, 3, 8, 8\)"):
        task.make_batch(torch.zeros(2, 3, 8, 7, dtype=torch.uint8), gen)
    with pytest.raises(ValueError, match="non-empty"):
        task.make_batch(torch.zeros(0, 3, 8, 8, dtype=torch.uint8), gen)
    with pytest.raises(TypeError, match="uint8"):
        task.make_batch(torch.zeros(2, 3, 8, 8), gen)
    with pytest.raises(TypeError, match="generator"):
        task.make_batch(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), 0)
    with pytest.raises(ValueError, match="hidden"):
        Rotation((3, 8, 8), hidden=0)


def test_head_loss_and_describe():
    task = Rotation((3, 8, 8))
    assert task.name == "rotation" and task.modalities == ("image",) and "Gidaris" in task.paper
    assert task.pretext_head(16)(torch.zeros(3, 16)).shape == (3, 4)
    assert Rotation((3, 8, 8), hidden=32).pretext_head(16)(torch.zeros(3, 16)).shape == (3, 4)
    batch = task.make_batch(
        corner_images(8, 8).expand(-1, 3, -1, -1).contiguous(), torch.Generator()
    )
    z = batch.pseudolabels
    uniform = task.loss(torch.zeros(len(z), 4), batch)
    assert math.isclose(uniform.loss.item(), math.log(4), rel_tol=1e-6)  # closed form
    right = task.loss(10 * torch.nn.functional.one_hot(z, 4).float(), batch)
    assert right.metrics["accuracy"] == 1.0 and right.loss.item() < 1e-3
    wrong = task.loss(10 * torch.nn.functional.one_hot((z + 1) % 4, 4).float(), batch)
    assert wrong.metrics["accuracy"] == 0.0
    assert [task.describe(torch.tensor(k)) for k in range(4)] == ["0°", "90°", "180°", "270°"]
    with pytest.raises(ValueError, match="quarter-turn"):
        task.describe(torch.tensor(4))


def test_loss_falls_and_generalises_on_digits():
    # Digits, not shapes: shapes draws the shape's angle, position and texture direction
    # uniformly, so its distribution is invariant under quarter turns and the rotation of a
    # held-out shapes image cannot be told beyond chance. Upright handwritten digits can.
    digits = load_digits().x  # (1797, 1, 8, 8)
    result = train(Rotation((1, 8, 8)), digits[:512], digits[1024:1280], steps=40, batch=32)
    assert relative_drop(result.losses) > 0.5
    assert result.eval_accuracy > 0.6  # held-out digits; chance is 0.25
