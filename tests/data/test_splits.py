"""Source/target splits and few-label subsets: stratified, disjoint, covering, seeded, nested."""

import itertools
import json
import math

import pytest
import torch

from sslcore.data import (
    LABEL_FRACTIONS,
    Dataset,
    label_count,
    label_indices,
    label_subset,
    protocol_split,
    split_source_target,
)

CLASS_SIZES = [50, 31, 7, 2, 0, 1]  # class 4 has no samples


def indexed(sizes=CLASS_SIZES, seed=0):
    """A vector dataset whose first feature is the row index, so subsets can be traced back."""
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(sizes)])
    y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]
    x = torch.stack([torch.arange(len(y), dtype=torch.float32), y.float()], 1)
    return Dataset("toy", x, y, [f"c{i}" for i in range(len(sizes))], "vector")


def rows(data):
    return data.x[:, 0].long().tolist()


def test_split_is_disjoint_covering_and_ordered():
    data = indexed()
    split = split_source_target(data, seed=1)
    parts = [rows(split.source), rows(split.target_train), rows(split.target_test)]
    assert sorted(i for part in parts for i in part) == list(range(len(data)))
    assert all(p == sorted(p) for p in parts)
    for part in (split.source, split.target_train, split.target_test):
        assert torch.equal(part.y, part.x[:, 1].long())  # labels travelled with their rows
        assert part.class_names == data.class_names
    assert split.source.name == "toy/source" and split.target_test.name == "toy/target_test"


def round_half_up(v):
    return math.floor(v + 0.5)


@pytest.mark.parametrize("source_fraction, test_fraction", [(0.5, 0.2), (0.8, 0.5), (0.1, 0.3)])
def test_split_is_stratified(source_fraction, test_fraction):
    split = split_source_target(indexed(), source_fraction, test_fraction)
    for c, n in enumerate(CLASS_SIZES):
        n_source = round_half_up(source_fraction * n)
        n_test = round_half_up(test_fraction * (n - n_source))
        assert split.source.class_counts()[f"c{c}"] == n_source
        assert split.target_test.class_counts()[f"c{c}"] == n_test
        assert split.target_train.class_counts()[f"c{c}"] == n - n_source - n_test


def test_split_is_seeded():
    data = indexed()
    a, b, c = (split_source_target(data, seed=s) for s in (3, 3, 4))
    assert rows(a.source) == rows(b.source) and rows(a.target_test) == rows(b.target_test)
    assert rows(a.source) != rows(c.source)


def test_split_describe_is_json():
    desc = json.loads(json.dumps(split_source_target(indexed()).describe()))
    assert set(desc) == {"source", "target_train", "target_test"}
    assert sum(d["num_samples"] for d in desc.values()) == sum(CLASS_SIZES)


def test_split_refuses_an_empty_part():
    tiny = indexed([2, 1])
    with pytest.raises(ValueError, match="target_test of 'toy' would be empty"):
        split_source_target(tiny, 0.5, 0.2)


BAD_FRACTIONS = [0, 0.0, 1.5, -0.1, float("nan"), float("inf"), True, "0.5", None]


@pytest.mark.parametrize("value", BAD_FRACTIONS + [1, 1.0])
def test_split_rejects_bad_fractions(value):
    with pytest.raises(ValueError, match=r"source_fraction must be a number in \(0, 1\), got"):
        split_source_target(indexed(), source_fraction=value)
    with pytest.raises(ValueError, match="test_fraction must be"):
        split_source_target(indexed(), test_fraction=value)


@pytest.mark.parametrize("value", BAD_FRACTIONS)
def test_label_subset_rejects_bad_fractions(value):
    with pytest.raises(ValueError, match=rf"fraction must be a number in \(0, 1\], got {value!r}"):
        label_subset(indexed(), value)


@pytest.mark.parametrize("seed", ["1", -1, 1.0])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        label_subset(indexed(), 0.5, seed=seed)


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.25, 0.5, 1.0])
def test_label_subset_is_stratified_with_one_per_present_class(fraction):
    sub = label_subset(indexed(), fraction)
    present = [n for n in CLASS_SIZES if n]
    assert len(sub) == label_count(sum(present), len(present), fraction)
    for c, n in enumerate(CLASS_SIZES):
        got = sub.class_counts()[f"c{c}"]
        if not n:
            assert got == 0
            continue
        assert 1 <= got <= n
        assert math.floor(fraction * n) - 1 <= got <= max(1, math.ceil(fraction * n) + 1)
    assert rows(sub) == sorted(rows(sub)) and sub.num_classes == len(CLASS_SIZES)


def test_label_count_is_a_fraction_of_all_labels_with_one_per_class():
    assert label_count(1257, 10, 0.01) == 13  # digits' in-domain train split at 1 %
    assert label_count(1257, 10, 0.1) == 126
    assert label_count(1257, 10, 1.0) == 1257
    assert label_count(300, 10, 0.01) == 10  # 3 by the fraction, but one per class
    assert label_count(6, 10, 0.5) == 6  # never more than there are


def test_a_draw_at_1_percent_of_digits_keeps_13_labels_of_every_class():
    y = torch.arange(10).repeat_interleave(
        torch.tensor([124, 127, 124, 128, 127, 127, 127, 125, 122, 126])
    )
    idx = label_indices(y.numpy(), 0.01, seed=3)
    assert len(idx) == 13 and set(y[idx].tolist()) == set(range(10))


def test_per_class_draws_keep_k_of_every_class_and_nest():
    y = indexed().y.numpy()
    two, three = label_indices(y, per_class=2), label_indices(y, per_class=3)
    counts = {c: int((y[two] == c).sum()) for c in set(y.tolist())}
    assert counts == {0: 2, 1: 2, 2: 2, 3: 2, 5: 1}  # class 5 has a single sample
    assert set(two) < set(three)
    with pytest.raises(ValueError, match="not both"):
        label_indices(y, 0.1, per_class=2)
    with pytest.raises(ValueError, match="per_class must be an int >= 1"):
        label_indices(y, per_class=0)


def test_in_domain_split_pretrains_on_the_pool_the_labels_come_from():
    data = indexed([60, 40, 20])
    split = protocol_split(data, "in_domain", test_fraction=0.3, seed=0)
    assert rows(split.source) == rows(split.target_train)
    assert not set(rows(split.target_train)) & set(rows(split.target_test))
    assert len(split.target_test) == 36 and len(split.target_train) == 84
    transfer = protocol_split(data, "transfer", 0.5, 0.3, seed=0)
    assert not set(rows(transfer.source)) & set(rows(transfer.target_train))
    with pytest.raises(ValueError, match="protocol: expected"):
        protocol_split(data, "semi", 0.5, 0.3)


def test_label_subsets_are_nested_and_seeded():
    data = indexed([400, 300, 250, 50])
    for seed in (0, 5):
        subsets = [set(rows(label_subset(data, f, seed=seed))) for f in (0.01, 0.05, 0.1, 0.5)]
        subsets.append(set(rows(label_subset(data, 1.0, seed=seed))))
        assert all(small < big for small, big in itertools.pairwise(subsets))
        assert subsets[-1] == set(range(len(data)))
    assert rows(label_subset(data, 0.1, seed=0)) == rows(label_subset(data, 0.1, seed=0))
    assert rows(label_subset(data, 0.1, seed=0)) != rows(label_subset(data, 0.1, seed=1))
    assert label_subset(data, 0.1).name == "toy/10% labels"


def test_label_fractions():
    assert LABEL_FRACTIONS == (0.01, 0.1, 1.0)
    data = indexed([300, 200])
    sizes = [len(label_subset(data, f)) for f in LABEL_FRACTIONS]
    assert sizes == [5, 50, 500]
