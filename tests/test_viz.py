import pytest
import torch

from sslcore import viz


def test_montage_places_each_tile():
    images = torch.zeros(5, 3, 2, 3, dtype=torch.uint8)
    for i in range(5):
        images[i] = 10 * (i + 1)
    canvas = viz.montage(images, cols=2, pad=1, fill=255)
    assert canvas.shape == (3 * 3 - 1, 2 * 4 - 1, 3)
    assert (canvas[0:2, 0:3] == 10).all() and (canvas[0:2, 4:7] == 20).all()
    assert (canvas[6:8, 0:3] == 50).all() and (canvas[6:8, 4:7] == 255).all()
    assert (canvas[2, :] == 255).all()  # the padding row


def test_montage_gray_to_rgb_and_bad_input():
    gray = torch.full((1, 1, 2, 2), 7, dtype=torch.uint8)
    assert (viz.montage(gray, cols=1) == 7).all()
    with pytest.raises(ValueError, match="images"):
        viz.montage(torch.zeros(1, 3, 2, 2), cols=1)
    with pytest.raises(ValueError, match="cols"):
        viz.montage(gray, cols=0)


def test_image_grid_captions_follow_labels():
    images = torch.randint(0, 255, (6, 3, 8, 8), dtype=torch.uint8)
    fig = viz.image_grid(images, [0, 1, 2, 0, 1, 2], ["a", "b", "c"], cols=3)
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c", "a", "b", "c"]
    assert fig.data[0].source.startswith("data:image/png;base64,")
    with pytest.raises(ValueError, match="labels"):
        viz.image_grid(images, [0, 1], ["a", "b"])


def test_class_counts_and_heatmap():
    fig = viz.class_counts_figure({"s": {"a": 2, "b": 3}, "t": {"a": 1, "b": 0}})
    assert [list(b.y) for b in fig.data] == [[2, 3], [1, 0]]
    heat = viz.feature_heatmap(
        torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), [1, 0, 1], ["x", "y"]
    )
    assert heat.data[0].z.tolist() == [[3.0, 4.0], [1.0, 2.0], [5.0, 6.0]]  # sorted by class
    with pytest.raises(ValueError, match="features"):
        viz.feature_heatmap(torch.zeros(3), [0, 0, 0], ["x"])
