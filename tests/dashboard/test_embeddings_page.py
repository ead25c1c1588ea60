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


def test_before_and_after_maps_with_metrics_and_a_checkpoint_slider(trained_store):
    at = open_page()
    assert not at.error, [e.value for e in at.error]
    assert titles(at) == ["Before pretraining (step 0, random init)", "After 4 steps of rotation"]
    assert shown(at, 0) == shown(at, 1) == 160  # the source split: 80 % of 200
    rows = at.dataframe[0].value.to_dict("records")
    rank = next(r for r in rows if r["metric"].startswith("effective rank"))
    assert rank["step 0"] >= 1 and rank["step 4"] >= 1
    at.select_slider(key="embed.step").set_value(2).run()
    assert not at.exception, at.exception
    assert titles(at)[1] == "After 2 steps of rotation"
    at.radio(key="embed.split").set_value("target_test").run()
    assert 0 < shown(at, 1) < 40


def test_colour_by_pseudolabel_shows_the_rotations(trained_store):
    at = open_page()
    at.radio(key="embed.colour").set_value("pseudolabel z").run()
    assert not at.exception, at.exception
    spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert [t["name"] for t in spec["data"]] == ["0°", "90°", "180°", "270°"]
    assert shown(at, 1) == 4 * 160
