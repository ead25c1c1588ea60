import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

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


def test_view_caption_names_what_was_applied():
    row = {
        "crop": {"top": 0, "left": 0, "height": 8, "width": 16},
        "flip": True,
        "jitter": False,
        "grayscale": True,
        "blur_sigma": 1.23,
        "solarize": True,
        "image_area": 32 * 16,
    }
    assert viz.view_caption(row) == "25% · flip · gray · σ=1.2 · solar"
    plain = {**row, "flip": False, "grayscale": False, "blur_sigma": 0.0, "solarize": False}
    assert viz.view_caption(plain) == "25%"
    assert viz.view_caption({"blur_sigma": 0.0}) == "crop only"


def test_views_grid_rows_and_tiles():
    n, per, tile = 3, 2, 40
    originals = torch.zeros(n, 1, 8, 8, dtype=torch.uint8)
    views = torch.zeros(n * per, 1, 4, 4)
    for j in range(per):
        for i in range(n):
            views[j * n + i] = (10 * i + j + 1) / 255  # view j of image i, a flat grey level
    fig = viz.views_grid(
        originals,
        views,
        per,
        captions=[f"v{j}i{i}" for j in range(per) for i in range(n)],
        labels=["a", "b", "c"],
        tile=tile,
    )
    # Row i: the original's label, then its views in order.
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["a", "v0i0", "v1i0", "b", "v0i1", "v1i1", "c", "v0i2", "v1i2"]
    # Each view's tile sits in its image's row and its view's column, with its grey level.
    png = base64.b64decode(fig.data[0].source.split(",", 1)[1])
    canvas = np.asarray(Image.open(io.BytesIO(png)))
    for a in fig.layout.annotations:
        if not a.text.startswith("v"):
            continue
        j, i = int(a.text[1]), int(a.text[3])
        centre = canvas[int(a.y) - tile // 2, int(a.x)]
        assert (centre == 10 * i + j + 1).all(), (a.text, centre)
    assert fig.layout.height == canvas.shape[0]


def test_views_grid_checks_counts():
    originals = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match="views"):
        viz.views_grid(originals, torch.zeros(3, 3, 4, 4), 2)
    with pytest.raises(ValueError, match="captions"):
        viz.views_grid(originals, torch.zeros(4, 3, 4, 4), 2, captions=["x"])
    with pytest.raises(ValueError, match="labels"):
        viz.views_grid(originals, torch.zeros(4, 3, 4, 4), 2, labels=["x"])
    with pytest.raises(ValueError, match="originals"):
        viz.views_grid(originals.float(), torch.zeros(4, 3, 4, 4), 2)
    default = viz.views_grid(originals, torch.zeros(4, 3, 4, 4), 2)
    assert [a.text for a in default.layout.annotations][:3] == ["original", "view 1", "view 2"]


def test_contenders_figure_ratios():
    fig = viz.contenders_figure(
        [
            {"contender": "sslcore", "views_per_s": 1000.0, "note": "ours"},
            {"contender": "PyTorch", "views_per_s": 250.0, "note": "theirs"},
        ]
    )
    bar = fig.data[0]
    assert list(bar.y) == ["sslcore", "PyTorch"] and list(bar.x) == [1000.0, 250.0]
    assert bar.text[1] == "250/s · sslcore ×4.0" and list(bar.hovertext) == ["ours", "theirs"]
    with pytest.raises(ValueError, match="results"):
        viz.contenders_figure([])


def test_class_and_feature_names_are_plotly_text_not_markup():
    import torch

    from sslcore.viz import feature_heatmap, image_grid, views_grid

    names = ["<b>bold</b>", "a & b"]
    grid = image_grid(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), [0, 1], names)
    assert [a.text for a in grid.layout.annotations] == ["&lt;b&gt;bold&lt;/b&gt;", "a &amp; b"]
    heat = feature_heatmap(torch.zeros(2, 2), [0, 1], names, ["<i>f</i>", "g"])
    assert list(heat.data[0].x) == ["&lt;i&gt;f&lt;/i&gt;", "g"]
    assert list(heat.data[0].y) == ["0: &lt;b&gt;bold&lt;/b&gt;", "1: a &amp; b"]
    views = views_grid(
        torch.zeros(1, 3, 8, 8, dtype=torch.uint8), torch.zeros(2, 3, 8, 8), 2, labels=[names[0]]
    )
    assert views.layout.annotations[0].text == "&lt;b&gt;bold&lt;/b&gt;"


def test_class_counts_show_class_names_as_text():
    from sslcore.viz import class_counts_figure

    fig = class_counts_figure({"all": {"<img src=x>": 3, "b": 1}})
    assert list(fig.data[0].x) == ["&lt;img src=x&gt;", "b"]
