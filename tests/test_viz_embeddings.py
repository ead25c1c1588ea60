"""Embedding figures: one WebGL trace per class, metric rows per step, nearest neighbours."""

import json

import numpy as np
import pytest

from sslcore.viz_embeddings import (
    embedding_scatter,
    hover_map_html,
    metrics_rows,
    nearest_neighbours,
    neighbour_table,
)


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


def test_neighbour_table_matches_nearest_neighbours_row_by_row():
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    table = neighbour_table(x, k=5, chunk=7)  # several chunks
    assert table.shape == (50, 5)
    for i in range(50):
        assert list(table[i]) == list(nearest_neighbours(x, i, k=5))


def test_hover_map_is_self_contained_and_checks_its_inputs():
    import torch

    images = torch.zeros(3, 3, 8, 8, dtype=torch.uint8)
    labels = np.array([0, 1, 0])
    fig = embedding_scatter(np.zeros((3, 2)), labels, ["a", "b"])
    html = hover_map_html(fig, images, labels, ["a", "b"], np.arange(3), np.zeros((3, 2), int))
    assert "data:image/jpeg;base64," in html and "<meta charset='utf-8'>" in html
    assert "<script src=" not in html and "Plotly.newPlot" in html  # plotly.js inline
    with pytest.raises(ValueError, match="3 rows each"):
        hover_map_html(fig, images[:2], labels, ["a", "b"], np.arange(3), np.zeros((3, 2), int))


HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"


def _scripts(html: str) -> list[str]:
    """The text of every <script> element, split the way an HTML parser (and a browser) does."""
    from html.parser import HTMLParser

    class Scripts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str] = []
            self.inside = False

        def handle_starttag(self, tag, attrs):
            if tag == "script":
                self.inside = True
                self.found.append("")

        def handle_endtag(self, tag):
            if tag == "script":
                self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.found[-1] += data

    parser = Scripts()
    parser.feed(html)
    return parser.found


def _hover_map(class_names: list[str]) -> str:
    import torch

    images = torch.zeros(3, 3, 8, 8, dtype=torch.uint8)
    labels = np.array([0, 1, 0])
    fig = embedding_scatter(np.zeros((3, 2)), labels, class_names)
    return hover_map_html(fig, images, labels, class_names, np.arange(3), np.zeros((3, 2), int))


def test_a_hostile_class_name_stays_data_inside_the_script_and_parses_back_exactly():
    names = [HOSTILE, "b\u2028<!--"]
    html = _hover_map(names)
    scripts = _scripts(html)
    assert len(scripts) == len(_scripts(_hover_map(["a", "b"])))  # no script element added
    assert not any("<script" in s.lower() or "alert(1)</" in s for s in scripts)
    ours = scripts[-1]
    start = ours.index("const data = ") + len("const data = ")
    data, _ = json.JSONDecoder().raw_decode(ours[start:])
    assert data["names"] == names  # the exact names reach the page, as data
    assert HOSTILE not in html  # neither in our script nor in plotly's figure JSON


def test_the_hover_map_builds_captions_with_text_content_never_inner_html():
    from sslcore.viz_embeddings import _HOVER_JS

    assert "innerHTML" not in _HOVER_JS and "textContent" in _HOVER_JS


def test_scatter_shows_a_class_name_as_text_in_the_legend_and_hover():
    fig = embedding_scatter(np.zeros((2, 2)), np.array([0, 1]), ["<b>a</b>", "%{x}"])
    assert [t.name for t in fig.data] == ["&lt;b&gt;a&lt;/b&gt;", "%{x}"]
    assert all(t.hovertemplate.startswith("%{fullData.name}<br>") for t in fig.data)
