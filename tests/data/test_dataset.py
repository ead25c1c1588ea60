"""Dataset: validation at construction, indexing, subsets, counts, describe, to_float."""

import json

import pytest
import torch

from sslcore.data import Dataset


def images(n=6, c=3, hw=4, classes=("a", "b", "c")):
    x = torch.arange(n * c * hw * hw, dtype=torch.int64).remainder(256).to(torch.uint8)
    y = torch.arange(n) % len(classes)
    return Dataset("img", x.view(n, c, hw, hw), y, list(classes), "image")


def vectors(n=5, d=3):
    x = torch.arange(n * d, dtype=torch.float32).view(n, d)
    return Dataset(
        "vec",
        x,
        torch.zeros(n, dtype=torch.int64),
        ["only"],
        "vector",
        feature_names=[f"f{i}" for i in range(d)],
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"x": torch.zeros(2, 3, 4, 4)}, TypeError, "uint8"),
        ({"x": torch.zeros(2, 2, 4, 4, dtype=torch.uint8)}, ValueError, r"C in \{1, 3\}"),
        ({"x": torch.zeros(2, 3, 4, dtype=torch.uint8)}, ValueError, r"\(N, C, H, W\)"),
        ({"y": torch.zeros(3, dtype=torch.int64)}, ValueError, "2 samples but y has 3"),
        ({"y": torch.zeros(2, dtype=torch.int32)}, TypeError, "int64"),
        ({"y": torch.tensor([0, 2])}, ValueError, r"\[0, 2\)"),
        ({"y": torch.tensor([-1, 0])}, ValueError, "labels must lie"),
        ({"class_names": []}, ValueError, "class_names must not be empty"),
        ({"class_names": ["a", "a"]}, ValueError, "unique"),
        ({"modality": "audio"}, ValueError, "modality"),
        ({"name": ""}, ValueError, "name"),
        ({"feature_names": ["r", "g"]}, ValueError, "only for vector"),
        ({"x": [[0]]}, TypeError, "torch.Tensor"),
    ],
)
def test_image_validation(kwargs, error, match):
    args = {
        "name": "t",
        "x": torch.zeros(2, 3, 4, 4, dtype=torch.uint8),
        "y": torch.tensor([0, 1]),
        "class_names": ["a", "b"],
        "modality": "image",
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Dataset(**args)


def test_vector_validation_names_the_bad_value():
    x = torch.zeros(4, 3)
    x[2, 1] = float("nan")
    with pytest.raises(ValueError, match="nan at row 2, column 1"):
        Dataset("v", x, torch.zeros(4, dtype=torch.int64), ["a"], "vector")
    x[2, 1] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        Dataset("v", x, torch.zeros(4, dtype=torch.int64), ["a"], "vector")
    with pytest.raises(TypeError, match="float32"):
        Dataset(
            "v",
            torch.zeros(4, 3, dtype=torch.float64),
            torch.zeros(4, dtype=torch.int64),
            ["a"],
            "vector",
        )
    with pytest.raises(ValueError, match="2 feature_names for 3 features"):
        Dataset(
            "v",
            torch.zeros(4, 3),
            torch.zeros(4, dtype=torch.int64),
            ["a"],
            "vector",
            feature_names=["p", "q"],
        )


def test_indexing_and_dataloader():
    data = images()
    x, y = data[4]
    assert torch.equal(x, data.x[4]) and int(y) == 1
    assert len(data) == 6 and data.num_classes == 3 and data.sample_shape == (3, 4, 4)
    batches = list(torch.utils.data.DataLoader(data, batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 3, 4, 4), (2, 3, 4, 4)]
    assert torch.equal(torch.cat([b[1] for b in batches]), data.y)


def test_subset_keeps_classes_and_rows():
    data = images()
    sub = data.subset([5, 0], name="two")
    assert sub.name == "two" and sub.class_names == data.class_names
    assert torch.equal(sub.x, data.x[[5, 0]]) and sub.y.tolist() == [2, 0]
    assert data.subset(torch.tensor([1])).name == "img"
    assert len(data.subset([])) == 0
    with pytest.raises(IndexError, match=r"\[0, 6\)"):
        data.subset([6])


def test_class_counts_include_empty_classes():
    data = images(n=4, classes=("a", "b", "c", "d", "e"))
    assert data.class_counts() == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 0}


def test_describe_is_json_and_correct():
    desc = json.loads(json.dumps(vectors().describe()))
    assert desc == {
        "name": "vec",
        "modality": "vector",
        "num_samples": 5,
        "sample_shape": [3],
        "dtype": "float32",
        "num_classes": 1,
        "class_names": ["only"],
        "class_counts": {"only": 5},
    }
    assert images().describe()["sample_shape"] == [3, 4, 4]


def test_to_float_vectors_pass_through():
    data = vectors()
    assert data.to_float() is data.x
    with pytest.raises(ValueError, match="images only"):
        data.to_float(mean=[0.0])


def test_to_float_images_shape_and_dtype():
    pytest.importorskip("sslcore.ops")
    data = images(c=1)
    out = data.to_float()
    assert out.dtype == torch.float32 and out.shape == data.x.shape
    torch.testing.assert_close(out, data.x.float() / 255, atol=1e-5, rtol=1e-5)


def test_subset_rejects_negative_indices():
    with pytest.raises(IndexError, match=r"got range \[-1, 0\]"):
        images().subset([0, -1])
