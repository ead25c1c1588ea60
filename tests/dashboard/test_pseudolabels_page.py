"""The Pseudolabels page through AppTest: x̃ and z per task, reseeding, vectors, predictions."""

import json
import re
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from dashboard.state import DEFAULTS, Keys
from sslcore.pretext import PRETEXT_TASKS

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/pseudolabels.py"
SHAPES = {"circle", "square", "triangle", "star", "cross", "hexagon", "ring", "heart"}


def open_page() -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page(PAGE).run()
    ok(at)
    assert [t.value for t in at.title] == ["Pseudolabels"]
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def chart(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and c.proto.id.endswith(key)]
    assert found, f"no plotly chart {key!r}"
    return json.loads(found[0].proto.spec)


def texts(at: AppTest, key: str = "pseudo.gallery") -> list[str]:
    return [a["text"] for a in chart(at, key)["layout"]["annotations"]]


def test_rotation_shows_each_image_and_its_four_turns():
    at = open_page()
    n = DEFAULTS[Keys.PSEUDO_BATCH]
    captions = texts(at)
    assert len(captions) == n * 5
    assert set(captions[::5]) <= SHAPES  # the raw images' classes
    for i in range(n):
        assert captions[5 * i + 1 : 5 * i + 5] == ["z: 0°", "z: 90°", "z: 180°", "z: 270°"]
    assert any("Gidaris" in m.value for m in at.markdown)
    at.slider(key=Keys.PSEUDO_BATCH).set_value(4).run()
    ok(at)
    assert at.slider(key=Keys.PSEUDO_BATCH).value == 4 and len(texts(at)) == 20


def test_reseed_changes_the_pseudolabels_and_a_seed_replays_them():
    at = open_page()
    at.selectbox(key=Keys.PSEUDO_TASK).set_value("jigsaw").run()
    ok(at)
    first = texts(at)
    assert any(t.startswith("x̃: shuffled<br>z: perm ") for t in first)
    at.button(key=Keys.PSEUDO_RESEED).click().run()
    ok(at)
    assert at.number_input(key=Keys.PSEUDO_SEED).value == 1
    second = texts(at)
    assert second != first and second[::3] == first[::3]  # new puzzles, the same images
    at.number_input(key=Keys.PSEUDO_SEED).set_value(0).run()
    assert texts(at) == first
    at.number_input(key=Keys.PSEUDO_SAMPLE_SEED).set_value(3).run()
    ok(at)
    image = chart(at, "pseudo.gallery")["data"][0]["source"]
    at.number_input(key=Keys.PSEUDO_SAMPLE_SEED).set_value(0).run()
    assert chart(at, "pseudo.gallery")["data"][0]["source"] != image  # other samples


def test_two_view_and_patch_tasks_render():
    at = open_page()
    for task, needle in [
        ("contrastive", "pairs with view"),
        ("masked", "x̃: masked"),
        ("relative_position", "x̃: centre"),
        ("colorization", "x̃: luma"),
    ]:
        at.selectbox(key=Keys.PSEUDO_TASK).set_value(task).run()
        ok(at)
        assert any(needle in t for t in texts(at)), task


def test_vector_task_shows_x_against_x_tilde():
    at = open_page()
    at.selectbox(key=Keys.PSEUDO_DATASET).set_value("wine").run()
    ok(at)
    task = at.selectbox(key=Keys.PSEUDO_TASK)
    assert task.value == "vime" and set(task.options) >= {"vime", "scarf"}
    assert "rotation" not in task.options
    spec = chart(at, "pseudo.vectors")
    heat, marks = spec["data"][0], spec["data"][1]
    n = DEFAULTS[Keys.PSEUDO_BATCH]
    assert (
        heat["type"] == "heatmap" and heat["y"][:2] == ["#0 x", "#0 x̃"] and len(heat["y"]) == 2 * n
    )
    captions = texts(at, "pseudo.vectors")
    counts = [int(re.match(r"z: (\d+) of 13 features masked", c).group(1)) for c in captions]
    assert len(marks["x"]) == sum(counts)  # one × per masked entry
    at.selectbox(key=Keys.PSEUDO_TASK).set_value("scarf").run()
    ok(at)
    assert all("pairs with view" in c for c in texts(at, "pseudo.vectors"))


def test_a_task_that_does_not_fit_or_does_not_load_is_an_error(monkeypatch):
    monkeypatch.setitem(PRETEXT_TASKS, "broken", "sslcore.pretext.no_such_task:Nope")
    at = open_page()
    assert "broken (unavailable)" in at.selectbox(key=Keys.PSEUDO_TASK).options
    at.selectbox(key=Keys.PSEUDO_TASK).set_value("broken").run()
    assert not at.exception, at.exception
    assert at.error and "cannot be loaded" in at.error[0].value
    assert "ModuleNotFoundError" in at.error[0].value
    assert not at.get("plotly_chart")
    at.selectbox(key=Keys.PSEUDO_DATASET).set_value("digits").run()
    at.selectbox(key=Keys.PSEUDO_TASK).set_value("colorization").run()
    assert not at.exception and at.error and "3 channels" in at.error[0].value
    at.selectbox(key=Keys.PSEUDO_TASK).set_value("rotation").run()
    ok(at)
    assert set(texts(at)[::5]) <= {str(d) for d in range(10)}


def test_without_a_trained_run_the_toggle_is_off():
    at = open_page()
    assert at.toggle(key=Keys.PSEUDO_PREDICT).disabled
    assert any("No trained run" in c.value for c in at.caption)


def test_predictions_of_a_trained_rotation_head(trained_store):
    run = trained_store.list()[0]
    at = open_page()
    toggle = at.toggle(key=Keys.PSEUDO_PREDICT)
    assert not toggle.disabled and toggle.value is False
    assert at.selectbox(key=Keys.PSEUDO_RUN).options == [run.id]
    plain = texts(at)
    toggle.set_value(True).run()
    ok(at)
    captions = texts(at)
    tiles = [c for c in captions if c.startswith("z: ")]
    assert len(tiles) == 4 * DEFAULTS[Keys.PSEUDO_BATCH]
    right = 0
    for caption in tiles:
        z, pred, mark = re.fullmatch(r"z: (\d+)°<br>pred: (\d+)° ([✓✗])", caption).groups()
        assert (z == pred) == (mark == "✓"), caption
        right += mark == "✓"
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["accuracy"]) == np.float64(f"{right / len(tiles):.3g}")
    assert float(metrics["L_pre on this batch"]) > 0
    assert any(run.id in m.value for m in at.markdown)
    at.toggle(key=Keys.PSEUDO_PREDICT).set_value(False).run()
    assert texts(at) == plain
