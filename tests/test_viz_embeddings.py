"""Embedding figures: one WebGL trace per class, metric rows per step, nearest neighbours."""

import numpy as np
import pytest

from sslcore.viz_embeddings import embedding_scatter, metrics_rows, nearest_neighbours


def test_one_trace_per_present_class_with_rows_as_customdata():
    points = np.arange(12, dtype=np.float32).reshape(6, 2)
    labels = np.array([0, 2, 0, 2, 2, 0])
    fig = embedding_scatter(points, labels, ["a", "b", "c"], explained=[0.7, 0.2])
    assert [t.name for t in fig.data] == ["a", "c"]
    assert list(fig.data[1].customdata) == [1, 3, 4] and fig.data[0].type == "scattergl"
    assert fig.layout.xaxis.title.text.startswith("PC1 (70%")


def test_bad_points_are_named():
    with pytest.raises(ValueError, match="points"):
        embedding_scatter(np.zeros((3, 3)), np.zeros(3), ["a"])


def test_metric_rows_have_one_column_per_step():
    rows = metrics_rows({0: {"effective_rank": 1.0}, 600: {"effective_rank": 12.5}})
    rank = next(r for r in rows if r["metric"].startswith("effective rank"))
    assert rank == {"metric": rank["metric"], "step 0": 1.0, "step 600": 12.5}
    assert next(r for r in rows if "kNN" in r["metric"])["step 0"] is None


def test_nearest_neighbours_by_cosine_without_the_point_itself():
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [0.5, 0.5]], dtype=np.float32)
    assert list(nearest_neighbours(x, 0, k=2)) == [1, 4]
    assert list(nearest_neighbours(x, 0, k=10)) == [1, 4, 2, 3]
    with pytest.raises(ValueError, match="row"):
        nearest_neighbours(x, 5)
