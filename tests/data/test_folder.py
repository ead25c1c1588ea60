"""Image folders: class per subfolder, formats, sizes, and clear errors on bad input."""

import numpy as np
import pytest
import torch
from PIL import Image

from sslcore.data import load_image_folder
from sslcore.errors import DataError


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


def rgb(seed, h=6, w=5):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pets"
    arrays = {
        "dog/b.png": write(root / "dog/b.png", rgb(1)),
        "dog/a.PNG": write(root / "dog/a.PNG", rgb(2)),
        "cat/x.png": write(root / "cat/x.png", rgb(3)),
    }
    write(root / "cat/y.JPG", rgb(4))  # lossy: checked for presence only
    (root / "cat/notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    write(root / ".hidden/z.png", rgb(5))
    return root, arrays


def test_classes_labels_and_pixels(folder):
    root, arrays = folder
    data = load_image_folder(root)
    assert data.name == "pets" and data.class_names == ["cat", "dog"]
    assert data.x.shape == (4, 3, 6, 5) and data.x.dtype == torch.uint8
    assert data.y.tolist() == [0, 0, 1, 1]  # cat: x.png, y.JPG; dog: a.PNG, b.png
    as_hwc = data.x.permute(0, 2, 3, 1).numpy()
    assert np.array_equal(as_hwc[0], arrays["cat/x.png"])
    assert np.array_equal(as_hwc[2], arrays["dog/a.PNG"])
    assert np.array_equal(as_hwc[3], arrays["dog/b.png"])


def test_greyscale_and_resize(folder):
    root, arrays = folder
    data = load_image_folder(root, size=(3, 4), channels=1)
    assert data.x.shape == (4, 1, 3, 4)
    grey = load_image_folder(root, channels=1)
    want = np.asarray(Image.fromarray(arrays["dog/b.png"]).convert("L"))
    assert np.array_equal(grey.x[3, 0].numpy(), want)


def test_greyscale_png_becomes_rgb(tmp_path):
    write(tmp_path / "a/g.png", np.full((4, 4), 9, dtype=np.uint8))
    data = load_image_folder(tmp_path)
    assert data.x.shape == (1, 3, 4, 4) and (data.x == 9).all()


def test_mixed_sizes_need_size(tmp_path):
    write(tmp_path / "a/1.png", rgb(0, 6, 5))
    write(tmp_path / "b/2.png", rgb(0, 7, 5))
    with pytest.raises(DataError, match=r"2\.png is 7x5 but .*1\.png is 6x5.*size"):
        load_image_folder(tmp_path)
    assert load_image_folder(tmp_path, size=8).x.shape == (2, 3, 8, 8)


def test_corrupt_image_is_named(tmp_path):
    write(tmp_path / "a/good.png", rgb(0))
    (tmp_path / "a/bad.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(DataError, match=r"cannot read image .*bad\.png"):
        load_image_folder(tmp_path)


def test_truncated_image_is_named(tmp_path):
    write(tmp_path / "a/good.png", rgb(0, 40, 40))
    data = (tmp_path / "a/good.png").read_bytes()
    (tmp_path / "a/cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.png"):
        load_image_folder(tmp_path)


def test_missing_empty_and_bad_arguments(tmp_path):
    with pytest.raises(DataError, match=r"not found.*nowhere"):
        load_image_folder(tmp_path / "nowhere")
    with pytest.raises(DataError, match="no class subfolders"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="empty_class: class folder has no PNG or JPEG"):
        load_image_folder(tmp_path)
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(DataError, match="expected a folder"):
        load_image_folder(tmp_path / "file.png")
    with pytest.raises(ValueError, match="channels"):
        load_image_folder(tmp_path, channels=2)
    with pytest.raises(ValueError, match="size"):
        load_image_folder(tmp_path, size=0)
