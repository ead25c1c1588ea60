"""The registry and the one entry point: names, options, paths, and errors that list choices."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import sslcore.data as sd
from sslcore.data import DATASETS, dataset_names, load_dataset, load_path
from sslcore.errors import DataError


def test_names_and_all():
    assert dataset_names() == ["shapes", "digits", "wine", "breast_cancer"] == list(DATASETS)
    assert all(hasattr(sd, name) for name in sd.__all__)
    assert {"load_dataset", "Dataset", "split_source_target", "label_subset"} <= set(sd.__all__)


def test_embedded_with_options():
    data = load_dataset("shapes", n=24, size=16, seed=2)
    assert data.x.shape == (24, 3, 16, 16)
    assert torch.equal(data.x, sd.make_shapes(24, 16, seed=2).x)
    assert load_dataset("digits", size=12).x.shape == (1797, 1, 12, 12)
    assert load_dataset("wine").x.shape == (178, 13)
    assert load_dataset("breast_cancer").num_classes == 2


def test_unknown_option_names_it_and_the_accepted_ones():
    with pytest.raises(
        TypeError,
        match=r"dataset 'shapes'.*'colour'.*accepted options: n, size, "
        r"seed, noise",
    ):
        load_dataset("shapes", colour="red")
    with pytest.raises(TypeError, match=r"'size'.*accepted options: none"):
        load_dataset("wine", size=8)


def test_unknown_name_lists_the_choices(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"unknown dataset 'mnist'; expected one of shapes, "
        r"digits, wine, breast_cancer or a path to",
    ):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset(str(tmp_path / "missing.npz"))
    with pytest.raises(TypeError, match="name_or_path"):
        load_dataset(3)


def test_paths_by_format(tmp_path):
    with open(tmp_path / "a.NPZ", "wb") as f:  # upper-case suffix; np.savez would add ".npz"
        np.savez(f, x=np.ones((3, 2)), y=np.array([0, 1, 1]))
    (tmp_path / "b.csv").write_text("f,label\n1,x\n2,y\n")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "imgs_cls.png")
    (tmp_path / "imgs" / "cls").mkdir(parents=True)
    (tmp_path / "imgs_cls.png").rename(tmp_path / "imgs" / "cls" / "0.png")
    assert len(load_dataset(tmp_path / "a.NPZ")) == 3
    assert load_dataset(str(tmp_path / "b.csv")).class_names == ["x", "y"]
    assert load_path(Path(tmp_path / "imgs"), size=2).x.shape == (1, 3, 2, 2)
    assert load_dataset(tmp_path / "imgs", channels=1).x.shape == (1, 1, 4, 4)


def test_path_errors(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_path(tmp_path / "gone")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt: cannot tell the format; expected an \.npz"):
        load_path(tmp_path / "notes.txt")
    (tmp_path / "b.csv").write_text("f,label\n1,x\n")
    with pytest.raises(TypeError, match=r"load_csv.*'size'.*accepted options: label_column"):
        load_dataset(tmp_path / "b.csv", size=3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class subfolders"):
        load_dataset(tmp_path / "empty")
