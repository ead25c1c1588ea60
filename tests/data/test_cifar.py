"""CIFAR-10/100 python batches: layout, splits, label sets, and a refusing unpickler."""

import os
import pickle

import numpy as np
import pytest

from sslcore.data import load_cifar, load_path
from sslcore.errors import DataError

CIFAR10_NAMES = [
    b"airplane",
    b"automobile",
    b"bird",
    b"cat",
    b"deer",
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]


def dump(path, obj, protocol=2):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=protocol))


def batch(seed, n, **labels):
    """A batch dict as the official (Python 2) files hold it: bytes keys."""
    data = np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)
    return {
        b"batch_label": b"batch",
        b"data": data,
        b"filenames": [b"f.png"] * n,
        **{k.encode(): v for k, v in labels.items()},
    }


@pytest.fixture
def cifar10(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    batches = [batch(k, 3, labels=[k, (k + 1) % 10, 9]) for k in range(1, 6)]
    for k, b in enumerate(batches, start=1):
        dump(root / f"data_batch_{k}", b)
    dump(root / "test_batch", batch(9, 2, labels=[4, 5]), protocol=5)
    dump(root / "batches.meta", {b"label_names": CIFAR10_NAMES, b"num_vis": 3072})
    return root, batches


def test_cifar10_train_concatenates_batches_in_order(cifar10):
    root, batches = cifar10
    data = load_cifar(root)
    assert data.name == "cifar10-train" and data.x.shape == (15, 3, 32, 32)
    want = np.concatenate([b[b"data"] for b in batches]).reshape(15, 3, 32, 32)
    assert np.array_equal(data.x.numpy(), want)
    # Each row holds the red plane, then green, then blue, each row-major.
    assert data.x[0, 1, 0, 5] == batches[0][b"data"][0, 1024 + 5]
    assert data.y.tolist() == [v for b in batches for v in b[b"labels"]]
    assert data.class_names[:2] == ["airplane", "automobile"] and data.num_classes == 10


def test_cifar10_test_split_parent_folder_and_single_file(cifar10):
    root, _ = cifar10
    test = load_cifar(root.parent, split="test")  # the parent of the extracted folder works too
    assert test.name == "cifar10-test" and test.y.tolist() == [4, 5]
    single = load_cifar(root / "data_batch_3")
    assert len(single) == 3 and single.y.tolist() == [3, 4, 9]
    assert single.class_names[9] == "truck"
    assert len(load_path(root)) == 15 and len(load_path(root / "test_batch")) == 2


def test_cifar100_fine_and_coarse(tmp_path):
    root = tmp_path / "cifar-100-python"
    dump(root / "train", batch(1, 4, fine_labels=[0, 99, 5, 5], coarse_labels=[0, 19, 1, 1]))
    dump(root / "test", batch(2, 1, fine_labels=[7], coarse_labels=[3]))
    dump(
        root / "meta",
        {
            b"fine_label_names": [f"f{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"c{i}".encode() for i in range(20)],
        },
    )
    fine = load_cifar(root)
    assert fine.name == "cifar100-train" and fine.y.tolist() == [0, 99, 5, 5]
    assert fine.num_classes == 100 and fine.class_names[99] == "f99"
    coarse = load_cifar(root, split="test", label="coarse")
    assert coarse.y.tolist() == [3] and coarse.class_names == [f"c{i}" for i in range(20)]
    assert load_cifar(root / "test", label="coarse").y.tolist() == [3]


def test_single_batch_without_meta_gets_numbered_classes(tmp_path):
    dump(tmp_path / "data_batch_1", batch(0, 2, labels=[0, 1]))
    assert load_cifar(tmp_path / "data_batch_1").class_names == [str(i) for i in range(10)]


class Hostile:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_hostile_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    dump(tmp_path / "data_batch_1", {b"data": Hostile(f"touch {marker}"), b"labels": []})
    with pytest.raises(DataError, match=r"refusing to unpickle global posix\.system"):
        load_cifar(tmp_path / "data_batch_1")
    assert not marker.exists()
    dump(tmp_path / "test_batch", {b"data": eval, b"labels": []})
    with pytest.raises(DataError, match=r"refusing to unpickle global builtins\.eval"):
        load_cifar(tmp_path / "test_batch")


@pytest.mark.parametrize(
    "content, match",
    [
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, r"uint8 array \(N, 3072\)"),
        ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, r"\(N, 3072\)"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"\[0, 10\)"),
        ({b"data": np.zeros((1, 3072), np.uint8)}, "expected keys 'data' and 'labels'"),
        ([1, 2, 3], "expected a pickled dict"),
    ],
)
def test_wrong_format(tmp_path, content, match):
    dump(tmp_path / "data_batch_1", content)
    with pytest.raises(DataError, match=match):
        load_cifar(tmp_path / "data_batch_1")


def test_truncated_pickle_and_incomplete_folders(tmp_path, cifar10):
    root, _ = cifar10
    good = (root / "data_batch_2").read_bytes()
    (root / "data_batch_2").write_bytes(good[:100])
    with pytest.raises(DataError, match=r"data_batch_2: not a readable pickle"):
        load_cifar(root)
    (root / "test_batch").unlink()
    with pytest.raises(DataError, match=r"test split incomplete, missing .*test_batch"):
        load_cifar(root, split="test")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="not a CIFAR folder"):
        load_cifar(tmp_path / "plain")
    with pytest.raises(DataError, match="no such file"):
        load_cifar(tmp_path / "absent")


def test_bad_arguments(cifar10):
    root, _ = cifar10
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        load_cifar(root, split="val")
    with pytest.raises(ValueError, match="CIFAR-10 has a single label set"):
        load_cifar(root, label="coarse")
    with pytest.raises(ValueError, match="label must be 'fine' or 'coarse'"):
        load_cifar(root, label="super")


def test_numpy1_module_path_of_the_official_files(tmp_path):
    """The official files name ``numpy.core.multiarray``; numpy 2 moved it to ``numpy._core``."""
    raw = pickle.dumps(batch(3, 2, labels=[1, 2]), protocol=2)
    if b"numpy._core.multiarray" in raw:
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\n_reconstruct" in raw
    (tmp_path / "data_batch_1").write_bytes(raw)
    data = load_cifar(tmp_path / "data_batch_1")
    assert data.y.tolist() == [1, 2] and len(data) == 2
