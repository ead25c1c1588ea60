"""``.npz`` and ``.csv`` loaders: modalities, labels, names, and errors naming file, row, column."""

import numpy as np
import pytest
import torch

from sslcore.data import load_csv, load_npz
from sslcore.errors import DataError


def test_npz_vectors_with_names(tmp_path):
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.savez(
        tmp_path / "feat.npz",
        x=x,
        y=np.array([0, 2, 1, 2]),
        class_names=np.array(["lo", "mid", "hi"]),
        feature_names=np.array(["a", "b", "c"]),
    )
    data = load_npz(tmp_path / "feat.npz")
    assert data.name == "feat" and data.modality == "vector" and data.x.dtype == torch.float32
    assert np.array_equal(data.x.numpy(), x) and data.y.tolist() == [0, 2, 1, 2]
    assert data.class_names == ["lo", "mid", "hi"] and data.feature_names == ["a", "b", "c"]


@pytest.mark.parametrize("layout", ["nchw", "nhwc", "nhw"])
def test_npz_images_in_every_layout(tmp_path, layout):
    nchw = np.random.default_rng(0).integers(0, 256, (5, 3, 4, 6), dtype=np.uint8)
    stored = {"nchw": nchw, "nhwc": nchw.transpose(0, 2, 3, 1), "nhw": nchw[:, 0]}[layout]
    np.savez(tmp_path / "img.npz", images=stored, labels=np.array([0, 1, 0, 1, 3], np.int32))
    data = load_npz(tmp_path / "img.npz", x_key="images", y_key="labels")
    want = nchw[:, :1] if layout == "nhw" else nchw
    assert data.modality == "image" and np.array_equal(data.x.numpy(), want)
    assert data.class_names == ["0", "1", "2", "3"] and data.y.dtype == torch.int64


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"x": np.zeros((2, 3))}, r"no array 'y'; arrays present: \['x'\]"),
        ({"x": np.zeros((2, 3)), "y": np.zeros(2)}, "labels 'y' must be integers"),
        ({"x": np.zeros((2, 3)), "y": np.zeros(3, int)}, r"of shape \(2,\)"),
        ({"x": np.zeros((2, 3)), "y": np.array([0, -1])}, ">= 0"),
        ({"x": np.zeros((2, 3, 4, 4), np.float32), "y": np.zeros(2, int)}, "must be uint8"),
        ({"x": np.zeros((2, 5, 4, 4), np.uint8), "y": np.zeros(2, int)}, "1 or 3 channels"),
        ({"x": np.zeros(2), "y": np.zeros(2, int)}, "got shape"),
        ({"x": np.array([[0.0, np.inf]]), "y": np.zeros(1, int)}, "non-finite value at row 0"),
        ({"x": np.array([["a", "b"]]), "y": np.zeros(1, int)}, "must be numeric"),
        (
            {"x": np.zeros((2, 3)), "y": np.array([0, 2]), "class_names": np.array(["a"])},
            "1 class_names but labels go up to 2",
        ),
    ],
)
def test_npz_errors(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=match):
        load_npz(tmp_path / "bad.npz")


def test_npz_refuses_pickles_and_garbage(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([object(), 1], dtype=object), y=np.zeros(2, int))
    with pytest.raises(DataError, match=r"cannot read .*obj\.npz"):
        load_npz(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk\.npz"):
        load_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(DataError, match="not a single array"):
        load_npz(tmp_path / "one.npy")
    with pytest.raises(DataError, match="not found"):
        load_npz(tmp_path / "missing.npz")


def write_csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_string_labels_sorted(tmp_path):
    path = write_csv(
        tmp_path / "t.csv", "\ufeffh, label ,w\n1.5,pear,2\n-3,apple,4e2\n\n0,pear,0\n"
    )
    data = load_csv(path)
    assert data.name == "t" and data.modality == "vector"
    assert data.class_names == ["apple", "pear"] and data.y.tolist() == [1, 0, 1]
    assert data.feature_names == ["h", "w"]
    assert data.x.tolist() == [[1.5, 2.0], [-3.0, 400.0], [0.0, 0.0]]


def test_csv_integer_labels_sort_numerically(tmp_path):
    path = write_csv(tmp_path / "t.csv", "a,cls\n0,10\n1,2\n2,2\n3,1\n")
    data = load_csv(path, label_column="cls")
    assert data.class_names == ["1", "2", "10"] and data.y.tolist() == [2, 1, 1, 0]


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "a,b,label\n1,2,x\n3,abc,y\n",
            r"line 3 \(data row 2\), column 'b': cannot read 'abc' as a number",
        ),
        ("a,label\n1,x\n,y\n", r"line 3 \(data row 2\), column 'a': cannot read ''"),
        ("a,label\nnan,x\n", r"column 'a': 'nan' is not a finite"),
        ("a,label\n1e39,x\n", "not a finite float32"),
        ("a,label\n1,x\n2\n", "line 3 has 1 cells, the header has 2"),
        ("a,label\n1,\n", "empty label"),
        ("a,b\n1,2\n", r"no label column 'label'; columns: \['a', 'b'\]"),
        ("label\nx\n", "no feature columns"),
        ("a,label\n", "header only"),
        ("", "empty file"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        load_csv(write_csv(tmp_path / "bad.csv", text))


def test_csv_not_utf8_or_missing(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"a,label\n1,caf\xe9\n")
    with pytest.raises(DataError, match=r"cannot read .*latin\.csv"):
        load_csv(tmp_path / "latin.csv")
    with pytest.raises(DataError, match="not found"):
        load_csv(tmp_path / "none.csv")
