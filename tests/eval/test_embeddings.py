"""Embeddings: weighted kNN against hand values and a naive loop, collapse metrics in closed form,
projections, bad input, and the features of a real (tiny) run before and after pretraining."""

import math
import sys

import numpy as np
import pytest
import torch

from sslcore.config import PretrainConfig
from sslcore.errors import DataError, SslcoreError
from sslcore.eval import (
    Features,
    collapse_metrics,
    extract_features,
    project,
    run_features,
    weighted_knn,
    weighted_knn_predict,
)
from sslcore.runs import RunStore
from sslcore.train.pretrain import build, build_models, pretrain


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def clusters(n_per_class=20, dim=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    x = np.eye(dim)[y] * 3.0 + rng.normal(0, 0.1, (len(y), dim))
    return x.astype(np.float32), y


# ---- weighted kNN --------------------------------------------------------------------------------


def test_weighted_knn_is_perfect_on_separated_clusters():
    x, y = clusters()
    assert weighted_knn(x[::2], y[::2], x[1::2], y[1::2], k=5) == 1.0
    # k above the train size is capped: every train row votes, the own cluster's weigh most
    assert weighted_knn(x[::2], y[::2], x[1::2], y[1::2], k=10_000) == 1.0
    shuffled = np.random.default_rng(1).permutation(y[1::2])
    assert weighted_knn(x[::2], y[::2], x[1::2], shuffled, k=5) < 0.7


def test_vote_shares_match_a_hand_computed_example():
    # cosine similarities of the query (1, 0): a = 1, c = 1/sqrt(2), b = 0, d = -1
    train = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0], [-1.0, 0.0]])  # a, b, c, d
    train_y = np.array([5, 9, 9, 5])  # non-contiguous labels: vote columns are [5, 9]
    query = np.array([[2.0, 0.0]])
    for tau in (0.5, 2.0):
        w_a, w_c, w_b = math.exp(1 / tau), math.exp(2**-0.5 / tau), math.exp(0.0)
        expected = np.array([[w_a, w_c + w_b]]) / (w_a + w_c + w_b)  # k = 3 leaves d out
        predicted, votes = weighted_knn_predict(train, train_y, query, k=3, temperature=tau)
        np.testing.assert_allclose(votes, expected, rtol=1e-6)
        assert predicted.tolist() == [5 if tau == 0.5 else 9]  # a hot τ lets b and c outvote a
    # k = 1: only a votes
    _, votes = weighted_knn_predict(train, train_y, query, k=1, temperature=0.5)
    np.testing.assert_allclose(votes, [[1.0, 0.0]])


def naive_votes(train, train_y, test, k, tau):
    """One test row at a time, in float64: sort similarities, add exp(s/τ) per class."""
    classes = np.unique(train_y)
    bank = train / np.linalg.norm(train, axis=1, keepdims=True)
    out = np.zeros((len(test), len(classes)))
    for r, q in enumerate(test):
        s = bank @ (q / np.linalg.norm(q))
        for i in np.argsort(-s)[:k]:
            out[r, np.searchsorted(classes, train_y[i])] += math.exp(s[i] / tau)
    return out / out.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("chunk_size", [1, 3, 1024])
def test_weighted_knn_matches_a_naive_loop_for_every_chunk_size(chunk_size):
    rng = np.random.default_rng(2)
    train, test = rng.normal(size=(31, 5)), rng.normal(size=(7, 5))
    train_y = rng.integers(0, 3, 31)
    predicted, votes = weighted_knn_predict(train, train_y, test, 6, 0.1, chunk_size)
    expected = naive_votes(train, train_y, test, 6, 0.1)
    np.testing.assert_allclose(votes, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(predicted, np.unique(train_y)[expected.argmax(axis=1)])


def test_weighted_knn_does_not_overflow_at_a_tiny_temperature():
    x, y = clusters()
    _, votes = weighted_knn_predict(x[::2], y[::2], x[1::2], k=10, temperature=1e-4)
    assert np.isfinite(votes).all()
    np.testing.assert_allclose(votes.sum(axis=1), 1.0)


# ---- collapse metrics ----------------------------------------------------------------------------


def test_collapsed_representations():
    rng = np.random.default_rng(3)
    point = np.tile(rng.normal(size=(1, 16)), (50, 1)).astype(np.float32)  # all rows equal
    line = (rng.normal(size=(50, 1)) @ rng.normal(size=(1, 16))).astype(np.float32)  # rank 1
    for features in (point, line):
        m = collapse_metrics(features)
        assert m["effective_rank"] == pytest.approx(1.0, abs=1e-6)
    m = collapse_metrics(point)
    assert m["std_normalized"] == pytest.approx(0.0, abs=1e-6)
    assert m["uniformity"] == pytest.approx(0.0, abs=1e-9)
    assert m["alignment"] is None and m["class_alignment"] is None


def test_isotropic_gaussian_is_healthy():
    dim = 8
    x = np.random.default_rng(4).normal(size=(2000, dim))
    m = collapse_metrics(x)
    assert dim - 0.1 < m["effective_rank"] <= dim + 1e-9
    assert m["std_normalized"] == pytest.approx(1 / math.sqrt(dim), rel=0.03)
    assert m["uniformity"] < -1.0


def test_effective_rank_of_two_equal_directions_is_two():
    x = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]]) * 5 + 7
    assert collapse_metrics(x)["effective_rank"] == pytest.approx(2.0, abs=1e-9)


def test_uniformity_alignment_and_class_alignment_in_closed_form():
    antipodal = np.array([[2.0, 0.0], [-3.0, 0.0]])  # normalised: ±e0, squared distance 4
    m = collapse_metrics(antipodal, labels=[0, 0], positives=antipodal * 10)
    assert m["uniformity"] == pytest.approx(-8.0)  # log exp(-2 · 4)
    assert m["alignment"] == pytest.approx(0.0)  # positives equal after normalisation
    assert m["class_alignment"] == pytest.approx(4.0)
    assert collapse_metrics(antipodal, positives=-antipodal)["alignment"] == pytest.approx(4.0)
    assert collapse_metrics(antipodal, labels=[0, 1])["class_alignment"] is None


def test_uniformity_subsamples_pairs_deterministically():
    x = np.random.default_rng(5).normal(size=(100, 8))
    full = collapse_metrics(x)["uniformity"]  # 4950 pairs: all of them
    sampled = collapse_metrics(x, max_pairs=1000)
    assert sampled == collapse_metrics(x, max_pairs=1000)
    assert sampled["uniformity"] == pytest.approx(full, abs=0.1)
    assert sampled["uniformity"] != full


def test_collapse_metrics_take_the_labels_of_features():
    x, y = clusters()
    feats = Features(x, y, ["a", "b", "c"], 0, np.arange(len(y)), "target_test")
    tight = collapse_metrics(feats)["class_alignment"]
    assert tight is not None and tight < 0.05


# ---- projections ---------------------------------------------------------------------------------


def test_pca_of_points_on_a_line():
    t = np.linspace(-1, 2, 9)[:, None]
    x = t * np.array([[1.0, 2.0, -3.0, 0.5]]) + 4.0
    proj = project(x, "pca")
    assert proj.points.shape == (9, 2) and proj.points.dtype == np.float32
    np.testing.assert_allclose(proj.explained_variance_ratio, [1.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(proj.points[:, 1], 0.0, atol=1e-5)
    assert abs(np.corrcoef(proj.points[:, 0], t[:, 0])[0, 1]) == pytest.approx(1.0)


def test_tsne_clips_perplexity_is_deterministic_and_refuses_tiny_sets():
    x, _ = clusters(n_per_class=4)
    first = project(torch.from_numpy(x), "tsne", seed=3)
    assert first.points.shape == (12, 2) and first.params["perplexity"] == pytest.approx(11 / 3)
    np.testing.assert_array_equal(first.points, project(x, "tsne", seed=3).points)
    with pytest.raises(ValueError, match="t-SNE needs at least 4 points, got 2"):
        project(x[:2], "tsne")
    assert project(x[:2], "pca").points.shape == (2, 2)


def test_umap_without_the_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # import umap raises ImportError
    with pytest.raises(ImportError, match="pip install umap-learn"):
        project(np.eye(5), "umap")


# ---- bad input -----------------------------------------------------------------------------------


def test_bad_features_are_named():
    x = np.ones((5, 3))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="features contain NaN at row 2"):
        collapse_metrics(x)
    x[2, 1], x[4, 0] = 0.0, -np.inf
    with pytest.raises(ValueError, match="features contain inf at row 4"):
        project(x)
    with pytest.raises(ValueError, match=r"train contain NaN at row 0"):
        weighted_knn([[np.nan, 1.0]], [0], [[1.0, 1.0]], [0])
    with pytest.raises(ValueError, match=r"2-D array \(N, D\), got shape \(5,\)"):
        collapse_metrics(np.ones(5))
    with pytest.raises(ValueError, match="non-empty"):
        project(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        collapse_metrics(np.ones((1, 3)))
    with pytest.raises(ValueError, match="method"):
        project(np.eye(3), "isomap")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k: expected an integer >= 1"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"train_y": np.zeros(3)}, r"train_y: expected shape \(6,\)"),
        ({"test_y": np.zeros(5)}, r"test_y: expected shape \(2,\)"),
        ({"test": np.ones((2, 4))}, "test: expected 3 columns"),
    ],
)
def test_bad_knn_arguments_are_named(kwargs, message):
    args = {
        "train": np.eye(6, 3) + 0.1,
        "train_y": np.arange(6) % 2,
        "test": np.ones((2, 3)),
        "test_y": np.zeros(2),
    } | kwargs
    with pytest.raises(ValueError, match=message):
        weighted_knn(**args)


def test_bad_positives_and_labels_are_named():
    x = np.random.default_rng(6).normal(size=(4, 3))
    with pytest.raises(ValueError, match=r"positives: expected shape \(4, 3\)"):
        collapse_metrics(x, positives=x[:3])
    with pytest.raises(ValueError, match=r"labels: expected shape \(4,\)"):
        collapse_metrics(x, labels=[0, 1])


# ---- features of a run ---------------------------------------------------------------------------

CONFIG = PretrainConfig(
    task="rotation",
    data="shapes",
    data_options={"n": 64, "size": 16},
    steps=2,
    batch_size=8,
    lr=1e-2,
    warmup_steps=0,
    eval_every=2,
    checkpoint_every=2,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    store = RunStore(tmp_path_factory.mktemp("runs"))
    return store, pretrain(CONFIG, store=store, progress=False)


def test_run_features_of_the_last_checkpoint(trained):
    _, run = trained
    test_set = build(CONFIG).split.target_test
    feats = run_features(run)
    assert feats.step == 2 and feats.split == "target_test"
    assert feats.features.dtype == np.float32 and feats.features.shape[0] == len(test_set)
    np.testing.assert_array_equal(feats.labels, test_set.y.numpy())
    np.testing.assert_array_equal(feats.indices, np.arange(len(test_set)))
    assert feats.class_names == test_set.class_names
    assert np.isfinite(feats.features).all()


def test_step_zero_is_the_seeded_init_and_differs_from_the_trained_encoder(trained):
    _, run = trained
    rng_before = torch.get_rng_state()
    initial = run_features(run, "target_train", checkpoint_step=0)
    assert torch.equal(torch.get_rng_state(), rng_before)  # the global generator is untouched
    assert initial.step == 0
    data = build(CONFIG).split.target_train
    _, encoder, _ = build_models(CONFIG, data.sample_shape)
    np.testing.assert_allclose(initial.features, extract_features(encoder, data.x), atol=1e-6)
    after = run_features(run, "target_train", checkpoint_step=2)
    assert after.features.shape == initial.features.shape
    assert not np.allclose(after.features, initial.features, atol=1e-3)


def test_run_features_subsamples_reproducibly(trained):
    _, run = trained
    full = run_features(run, "source")
    some = run_features(run, "source", max_samples=5)
    assert len(some.indices) == 5 and np.all(np.diff(some.indices) > 0)
    np.testing.assert_array_equal(some.indices, run_features(run, "source", max_samples=5).indices)
    np.testing.assert_array_equal(some.labels, full.labels[some.indices])
    np.testing.assert_allclose(some.features, full.features[some.indices], atol=1e-5)


def test_runs_without_the_checkpoint_give_clear_errors(trained):
    store, run = trained
    empty = store.create(CONFIG)
    with pytest.raises(DataError, match=f"run {empty.id} has no checkpoints"):
        run_features(empty)
    assert issubclass(DataError, SslcoreError)
    # the random init needs no checkpoint, and is the same for the same config
    np.testing.assert_array_equal(
        run_features(empty, checkpoint_step=0).features,
        run_features(run, checkpoint_step=0).features,
    )
    with pytest.raises(DataError, match="no checkpoint at step 1"):
        run_features(run, checkpoint_step=1)
    with pytest.raises(ValueError, match="split"):
        run_features(run, "validation")
    with pytest.raises(ValueError, match="max_samples"):
        run_features(run, max_samples=0)


def test_pseudolabel_features_are_the_rotated_copies_labelled_by_z(trained):
    _, run = trained
    feats = run_features(run, "target_test", max_samples=6, pseudolabels=True)
    assert feats.class_names == ["0°", "90°", "180°", "270°"]
    assert feats.features.shape[0] == 24 and list(np.bincount(feats.labels)) == [6, 6, 6, 6]
    plain = run_features(run, "target_test", max_samples=6)
    np.testing.assert_array_equal(feats.indices, np.tile(plain.indices, 4))
    np.testing.assert_allclose(feats.features[:6], plain.features, rtol=1e-5, atol=1e-6)  # 0°


def test_pseudolabels_that_pair_views_are_refused(tmp_path):
    config = PretrainConfig(
        task="contrastive",
        data="shapes",
        data_options={"n": 64, "size": 16},
        steps=1,
        batch_size=8,
        checkpoint_every=1,
        eval_every=1,
    )
    run = pretrain(config, store=RunStore(tmp_path), progress=False)
    with pytest.raises(DataError, match="colour by class"):
        run_features(run, pseudolabels=True)
