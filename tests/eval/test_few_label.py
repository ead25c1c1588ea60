"""Few-label accuracy over label draws: the draws, the statistics, the pairing."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sslcore.data import load_dataset, split_in_domain
from sslcore.data.splits import label_indices
from sslcore.eval.few_label import FewLabelResult, few_label_accuracy, paired_difference


def blobs(n_per_class: int, classes: int, spread: float, seed: int):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, 8)) * 5
    y = np.repeat(np.arange(classes), n_per_class)
    return centres[y] + spread * rng.normal(size=(len(y), 8)), y


def test_in_domain_split_of_digits_is_the_standard_70_30():
    split = split_in_domain(load_dataset("digits"), 0.3, seed=0)
    assert (len(split.train), len(split.test)) == (1257, 540)  # as train_test_split(0.3)
    test_counts = np.bincount(split.test.y.numpy())
    all_counts = np.bincount(load_dataset("digits").y.numpy())
    assert np.all(np.abs(test_counts - 0.3 * all_counts) < 1)  # stratified
    assert np.array_equal(np.bincount(split.train.y.numpy()) + test_counts, all_counts)
    again = split_in_domain(load_dataset("digits"), 0.3, seed=0)
    assert np.array_equal(again.test.x.numpy(), split.test.x.numpy())
    other = split_in_domain(load_dataset("digits"), 0.3, seed=1)
    assert not np.array_equal(other.test.x.numpy(), split.test.x.numpy())


def test_draws_differ_and_keep_every_class():
    _, y = blobs(30, 4, 1.0, 0)
    draws = [label_indices(y, 0.1, seed) for seed in range(5)]
    assert all(len(d) == 12 and set(y[d]) == {0, 1, 2, 3} for d in draws)
    assert len({tuple(d) for d in draws}) == 5


def test_separable_classes_score_one_on_every_draw():
    x, y = blobs(40, 3, 0.01, 0)
    result = few_label_accuracy(x[::2], y[::2], x[1::2], y[1::2], 0.05, draws=10)
    assert result.accuracies == (1.0,) * 10 and result.std == 0.0
    assert result.labels == 3 and result.draws == 10  # max(1, round(0.05 * 20)) per class


def test_each_draw_is_an_independent_logistic_regression_on_its_labels():
    x, y = blobs(50, 4, 4.0, 1)
    train, test = slice(0, None, 2), slice(1, None, 2)
    result = few_label_accuracy(x[train], y[train], x[test], y[test], 0.1, draws=3, seed=7)
    scaler = StandardScaler().fit(x[train])  # the whole train split, as the SSL protocol does
    for d, accuracy in enumerate(result.accuracies):
        idx = label_indices(y[train], 0.1, 7 + d)
        fit = LogisticRegression(C=1.0, max_iter=1000).fit(
            scaler.transform(x[train][idx]), y[train][idx]
        )
        assert accuracy == fit.score(scaler.transform(x[test]), y[test])
    record = result.to_dict()
    assert record["accuracy"] == pytest.approx(np.mean(result.accuracies))
    assert record["accuracy_std"] == pytest.approx(np.std(result.accuracies, ddof=1))
    assert record["accuracy_min"] == min(result.accuracies) and record["draws"] == 3
    assert len(set(result.accuracies)) > 1  # hard enough that draws disagree


def test_knn_and_bad_arguments():
    x, y = blobs(20, 2, 0.1, 0)
    assert few_label_accuracy(x, y, x, y, 1.0, draws=2, classifier="knn").mean == 1.0
    with pytest.raises(ValueError, match="classifier"):
        few_label_accuracy(x, y, x, y, 0.5, classifier="svm")
    with pytest.raises(ValueError, match="draws"):
        few_label_accuracy(x, y, x, y, 0.5, draws=0)
    with pytest.raises(ValueError, match="fraction"):
        few_label_accuracy(x, y, x, y, 0.0)
    with pytest.raises(ValueError, match="features"):
        few_label_accuracy(x, y, x[:, :3], y, 0.5)
    bad = x.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        few_label_accuracy(bad, y, x, y, 0.5)


def test_paired_difference_counts_wins_on_the_same_draws():
    a = FewLabelResult("linear", 0.01, 13, 0, (0.9, 0.8, 0.7))
    b = FewLabelResult("linear", 0.01, 13, 0, (0.8, 0.8, 0.5))
    paired = paired_difference(a, b)
    assert paired["wins"] == 1 + 0 + 1 and paired["draws"] == 3
    assert paired["mean"] == pytest.approx(0.1) and paired["min"] == pytest.approx(0.0)
    assert paired["std"] == pytest.approx(np.std([0.1, 0.0, 0.2], ddof=1))
    with pytest.raises(ValueError, match="same label draws"):
        paired_difference(a, FewLabelResult("linear", 0.01, 13, 1, (0.8, 0.8, 0.5)))


def test_in_domain_split_refuses_an_empty_part():
    one = load_dataset("wine").subset([0])
    with pytest.raises(ValueError, match=r"train of .* would be empty"):
        split_in_domain(one, 0.3)
    with pytest.raises(ValueError, match="test_fraction"):
        split_in_domain(load_dataset("wine"), 1.0)
