"""The Pseudolabels gallery: every tile against a naive NumPy crop/rotate/place of the raw image."""

import numpy as np
import pytest
import torch

from sslcore import viz_pretext as vp
from sslcore import viz_pretext_vectors as vv
from sslcore.pretext import make_task, task_class
from sslcore.pretext.base import to_model_input
from sslcore.pretext_predictions import Predictions

B = 3


def raw_images(c: int = 3, side: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (B, c, side, side), generator=g, dtype=torch.uint8)


def hwc(image: torch.Tensor) -> np.ndarray:
    return np.repeat(image.numpy().transpose(1, 2, 0), 3 // image.shape[0], axis=2)


def naive_grid(cells: list[np.ndarray | None], g: int, fill: int) -> np.ndarray:
    """g×g cells (h, w, 3) in raster order, 1-px white gaps, `fill` where a cell is None."""
    h, w = next(c for c in cells if c is not None).shape[:2]
    out = np.full((g * (h + 1) - 1, g * (w + 1) - 1, 3), 255, dtype=np.uint8)
    for k, cell in enumerate(cells):
        r, c = divmod(k, g)
        block = np.full((h, w, 3), fill, dtype=np.uint8) if cell is None else cell
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = block
    return out


def crop(x: torch.Tensor, i: int, origin, size) -> np.ndarray:
    top, left = (int(v) for v in origin)
    return hwc(x[i, :, top : top + size[0], left : left + size[1]])


def batch_of(name: str, x: torch.Tensor, seed: int = 0, **options):
    try:
        task_class(name)
    except Exception as exc:  # a task module still being written
        pytest.skip(f"{name} does not import: {exc}")
    task = make_task(name, tuple(x.shape[1:]), **options)
    return task, task.make_batch(x, torch.Generator().manual_seed(seed))


def test_to_uint8_inverts_the_encoder_scale_exactly():
    every = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(vp.to_uint8(to_model_input(every)), every)
    assert vp.to_uint8(torch.tensor([[[[-9.0, 9.0]]]])).tolist() == [[[[0, 255]]]]  # clamped
    with pytest.raises(ValueError, match="images"):
        vp.to_uint8(every)


def test_rotation_tiles_are_the_four_quarter_turns():
    x = raw_images()
    task, batch = batch_of("rotation", x)
    rows = vp.gallery_rows(task, x, batch, labels=["a", "b", "c"])
    assert [r.label for r in rows] == ["a", "b", "c"]
    for i, row in enumerate(rows):
        assert np.array_equal(row.original, hwc(x[i]))
        assert [t.caption for t in row.tiles] == [["z: 0°"], ["z: 90°"], ["z: 180°"], ["z: 270°"]]
        for k, tile in enumerate(row.tiles):  # np.rot90 turns counter-clockwise, as torch.rot90
            assert np.array_equal(tile.image, np.rot90(hwc(x[i]), k, axes=(0, 1)))


def test_rotation_predictions_are_marked_right_and_wrong():
    x = raw_images()
    task, batch = batch_of("rotation", x)
    guess = batch.pseudolabels.clone()
    guess[B + 1] = 3  # image 1 turned by 90°, predicted 270°
    rows = vp.gallery_rows(task, x, batch, Predictions(pseudolabels=guess))
    assert rows[0].tiles[1].caption == ["z: 90°", "pred: 90° ✓"]
    assert rows[1].tiles[1].caption == ["z: 90°", "pred: 270° ✗"]


def test_jigsaw_shows_the_shuffled_grid_and_puts_it_back_in_order():
    x = raw_images()
    task, batch = batch_of("jigsaw", x, seed=4)
    g, size = task.grid.grid, task.grid.tile
    origins, z = batch.extras["origins"], batch.pseudolabels
    guess = z.clone()
    guess[0] = (z[0] + 1) % task.num_classes
    rows = vp.gallery_rows(task, x, batch, Predictions(pseudolabels=guess))
    for i, row in enumerate(rows):
        crops = [crop(x, i, origins[i, t], size) for t in range(g * g)]  # raster order
        perm = task.permutations[int(z[i])].tolist()
        shuffled, put_back, predicted = row.tiles
        assert np.array_equal(shuffled.image, naive_grid([crops[t] for t in perm], g, 0))
        assert shuffled.caption == ["x̃: shuffled", f"z: {task.describe(z[i])}"]
        assert np.array_equal(put_back.image, naive_grid(crops, g, 0))
        assert (predicted.caption[0].endswith("✓")) == (i != 0)
        assert np.array_equal(predicted.image, put_back.image) == (i != 0)


def test_relative_position_places_the_other_patch_where_z_says():
    x = raw_images()
    task, batch = batch_of("relative_position", x, seed=2)
    size, z = task.grid.tile, batch.pseudolabels
    rows = vp.gallery_rows(task, x, batch)
    for i, row in enumerate(rows):
        centre = crop(x, i, batch.extras["origins"][i, 0], size)
        other = crop(x, i, batch.extras["origins"][i, 1], size)
        cells: list = [None] * 9
        cells[4] = centre
        cells[int(z[i]) + (int(z[i]) >= 4)] = other  # z skips the centre of the raster
        centre_tile, other_tile, layout = row.tiles
        assert np.array_equal(centre_tile.image, centre) and np.array_equal(other_tile.image, other)
        assert np.array_equal(layout.image, naive_grid(cells, 3, 225))
        assert layout.caption == [f"z: {task.describe(z[i])}"]


def test_masked_tiles_are_the_masked_input_and_the_target():
    x = raw_images()
    task, batch = batch_of("masked", x)
    mask = batch.extras["mask"]  # (B, 1, H, W)
    recon = batch.pseudolabels.clone()
    recon[mask.expand_as(recon)] += 0.5  # off by 0.5 on every masked pixel: MSE 0.25
    rows = vp.gallery_rows(task, x, batch, Predictions(images=recon))
    for i, row in enumerate(rows):
        masked, target, predicted = row.tiles
        expected = hwc(x[i]).copy()
        expected[mask[i, 0].numpy()] = 128  # 0 on the encoder scale is the mean, 127.5
        assert np.array_equal(masked.image, expected)
        assert masked.caption == ["x̃: masked", task.describe(mask[i])]
        assert np.array_equal(target.image, hwc(x[i]))
        assert predicted.caption == ["pred: reconstruction", "MSE on mask 0.250"]


def test_colorization_input_is_gray_and_target_is_the_image():
    x = raw_images()
    task, batch = batch_of("colorization", x)
    for i, row in enumerate(vp.gallery_rows(task, x, batch)):
        gray, colour = row.tiles
        assert (gray.image == gray.image[..., :1]).all()
        assert np.array_equal(colour.image, hwc(x[i]))
        assert colour.caption == ["z: colours", task.describe(batch.pseudolabels[i])]


@pytest.mark.parametrize("name", ["contrastive", "simsiam", "vicreg"])
def test_two_view_tiles_name_the_row_they_pair_with(name):
    x = raw_images()
    task, batch = batch_of(name, x)
    views = vp.to_uint8(batch.inputs)
    for i, row in enumerate(vp.gallery_rows(task, x, batch)):
        first, second = row.tiles
        assert first.caption == [f"x̃ view {i}", f"z: pairs with view {i + B}"]
        assert second.caption == [f"x̃ view {i + B}", f"z: pairs with view {i}"]
        assert np.array_equal(second.image, hwc(views[B + i]))


def test_gray_images_become_rgb_tiles():
    x = raw_images(c=1, side=8)
    task, batch = batch_of("rotation", x)
    row = vp.gallery_rows(task, x, batch)[0]
    assert row.original.shape == (8, 8, 3) and row.tiles[0].image.shape == (8, 8, 3)


def test_gallery_canvas_places_every_picture_and_caption():
    red, blue = np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2, 3), np.uint8)
    red[..., 0], blue[..., 2] = 200, 200
    rows = [
        vp.GalleryRow(red, "first", [vp.Tile(blue, ["one"]), vp.Tile(blue, ["two", "lines"])]),
        vp.GalleryRow(red, "second", [vp.Tile(blue, ["three"])]),
    ]
    canvas, texts = vp.gallery_canvas(rows, tile=40)
    assert canvas.shape[1] == 40 + 18 + 2 * (40 + 6) - 6
    assert (canvas[:40, :40] == [200, 0, 0]).all()  # the original, scaled into its box
    assert (canvas[:40, 58:98] == [0, 0, 200]).all()  # the first tile after the wider gap
    assert [(t[2], t[3]) for t in texts] == [
        ("first", 0),
        ("one", 1),
        ("two<br>lines", 2),
        ("second", 0),
        ("three", 1),
    ]
    assert texts[3][1] == 40 + 2 * 14 + 8 + 40  # row 1 starts below row 0's two caption lines
    fig = vp.gallery_figure(rows, tile=40)
    assert [a.text for a in fig.layout.annotations] == [t[2] for t in texts]
    assert fig.data[0].source.startswith("data:image/png;base64,")
    with pytest.raises(ValueError, match="rows"):
        vp.gallery_canvas([])


def test_place_in_grid_and_bad_inputs():
    patch = torch.full((3, 2, 2), 9, dtype=torch.uint8)
    grid = vp.place_in_grid({0: patch, 8: patch}, 3)
    assert grid.shape == (8, 8, 3)
    assert (grid[:2, :2] == 9).all() and (grid[6:, 6:] == 9).all() and (grid[3:5, 3:5] == 225).all()
    with pytest.raises(ValueError, match="outside"):
        vp.place_in_grid({9: patch}, 3)
    x = raw_images()
    task, batch = batch_of("rotation", x)
    with pytest.raises(ValueError, match="labels"):
        vp.gallery_rows(task, x, batch, labels=["only one"])
    with pytest.raises(ValueError, match="uint8"):
        vp.gallery_rows(task, x.float(), batch)


def vectors(seed: int = 0) -> torch.Tensor:
    return torch.randn(4, 6, generator=torch.Generator().manual_seed(seed))


def test_vime_gallery_marks_the_mask_and_the_predictions():
    x = vectors()
    task, batch = batch_of("vime", x, p_m=0.5)
    z = batch.pseudolabels  # (B, D) 0/1
    gallery = vv.vector_gallery(task, x, batch)
    assert torch.equal(gallery.mask, z.bool()) and torch.equal(gallery.x_tilde, batch.inputs)
    assert torch.equal(gallery.x_tilde[~gallery.mask], x[~gallery.mask])
    assert gallery.captions[0] == [f"z: {task.describe(z[0])}"]
    fig = vv.vector_figure(gallery, [f"c{j}" for j in range(6)])
    heat, marks = fig.data[0], fig.data[1]
    assert np.asarray(heat.z).shape == (8, 6) and list(heat.y[:2]) == ["#0 x", "#0 x̃"]
    assert len(marks.x) == int(z.sum()) and set(marks.y) <= {f"#{i} x̃" for i in range(4)}
    assert [a.text for a in fig.layout.annotations] == [c[0] for c in gallery.captions]

    guess = z.clone()
    guess[0] = 1 - guess[0]  # row 0 entirely wrong
    predicted = vv.vector_gallery(task, x, batch, Predictions(pseudolabels=guess, features=x + 1))
    assert predicted.captions[0][1].endswith("0% of entries right")
    assert predicted.captions[1][1].endswith("100% of entries right")
    fig = vv.vector_figure(predicted)
    assert np.asarray(fig.data[0].z).shape == (12, 6)  # x, x̃, x̂ per row
    assert len(fig.data[2].x) == int(guess.sum())  # the predicted mask's circles


def test_scarf_gallery_compares_the_anchor_with_its_corrupted_view():
    x = vectors(1)
    task, batch = batch_of("scarf", x)
    gallery = vv.vector_gallery(task, x, batch)
    assert torch.equal(gallery.x, x) and torch.equal(gallery.x_tilde, batch.inputs[4:])
    assert torch.equal(gallery.mask, x != batch.inputs[4:])
    assert gallery.captions[2][0] == "z: pairs with view 6"
    with pytest.raises(ValueError, match="feature_names"):
        vv.vector_figure(gallery, ["too", "few"])


def test_a_class_name_in_the_gallery_is_plotly_text_not_markup():
    x = raw_images()
    task, batch = batch_of("rotation", x)
    rows = vp.gallery_rows(task, x, batch, labels=["<b>a</b>", "b & c", "c"])
    texts = [a.text for a in vp.gallery_figure(rows).layout.annotations]
    assert "&lt;b&gt;a&lt;/b&gt;" in texts and "b &amp; c" in texts
    assert not any("<b>" in t for t in texts)
