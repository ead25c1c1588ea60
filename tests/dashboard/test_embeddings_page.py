"""The Embeddings page through AppTest: no runs, before vs after maps, metrics, checkpoints."""

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/embeddings.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Embeddings"]
    return at


def count(values) -> int:
    """Length of a plotly array, plain or typed (``{"dtype", "bdata"}``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).size
    return len(values)


def shown(at: AppTest, index: int) -> int:
    spec = json.loads(at.get("plotly_chart")[index].proto.spec)
    assert all(t["type"] == "scattergl" for t in spec["data"])
    return sum(count(t["x"]) for t in spec["data"])


def titles(at: AppTest) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_an_empty_store_says_what_to_do(run_store):
    at = open_page()
    assert any("No finished run" in i.value for i in at.info)


def hover_map(at: AppTest) -> str:
    (frame,) = at.get("iframe")
    return frame.proto.srcdoc


def test_before_and_after_maps_with_metrics_and_a_checkpoint_slider(trained_store):
    at = open_page()
    assert not at.error, [e.value for e in at.error]
    assert titles(at) == ["Before pretraining (step 0, random init)"]
    assert shown(at, 0) == 160  # the source split: 80 % of 200
    after = hover_map(at)  # ≤ 2,000 image points: thumbnails on hover, neighbours on click
    assert "After 4 steps of rotation" in after and "data:image/jpeg;base64," in after
    assert "plotly_hover" in after and "plotly_click" in after
    rows = at.dataframe[0].value.to_dict("records")
    rank = next(r for r in rows if r["metric"].startswith("effective rank"))
    assert rank["step 0"] >= 1 and rank["step 4"] >= 1
    at.select_slider(key="embed.step").set_value(2).run()
    assert not at.exception, at.exception
    assert "After 2 steps of rotation" in hover_map(at)
    at.radio(key="embed.split").set_value("target_test").run()
    assert 0 < shown(at, 0) < 40


def test_colour_by_pseudolabel_shows_the_rotations(trained_store):
    at = open_page()
    at.radio(key="embed.colour").set_value("pseudolabel z").run()
    assert not at.exception, at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in spec["data"]] == ["0°", "90°", "180°", "270°"]
    assert shown(at, 0) == 4 * 160
    assert '"names": ["0\\u00b0", "90\\u00b0"' in hover_map(at)


def test_above_the_thumbnail_limit_the_map_is_selectable(trained_store, monkeypatch):
    monkeypatch.setattr("sslcore.viz_embeddings.MAX_HOVER_THUMBNAILS", 100)
    at = open_page()
    assert not at.get("iframe") and len(at.get("plotly_chart")) == 2
    assert any("Select a point" in c.value for c in at.caption)
