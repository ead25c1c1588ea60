"""The dashboard through Streamlit's AppTest: every page renders, widgets change what is shown."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.state import DISK, Keys

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGES = [
    "app_pages/paradigms.py",
    "app_pages/data_explorer.py",
    "app_pages/views.py",
    "app_pages/pseudolabels.py",
    "app_pages/train.py",
    "app_pages/gradient_descent.py",
    "app_pages/embeddings.py",
    "app_pages/theory.py",
    "app_pages/loss_kernel.py",
]


def run_app() -> AppTest:
    """The app on its Data page (the first page is Paradigms)."""
    at = AppTest.from_file(str(ENTRY), default_timeout=60)
    at.run()
    at.switch_page("app_pages/data_explorer.py").run()
    assert not at.exception, at.exception
    return at


def grid_spec(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert charts, "no plotly chart rendered"
    return json.loads(charts[0].proto.spec)


def captions(spec: dict) -> list[str]:
    return [a["text"] for a in spec["layout"].get("annotations", [])]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(page):
    at = run_app()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_data_explorer_defaults_show_shapes_grid():
    at = run_app()
    assert at.selectbox(key=Keys.DATASET).value == "shapes"
    spec = grid_spec(at)
    assert spec["data"][0]["type"] == "image"
    names = captions(spec)
    assert len(names) == 48  # Keys.GRID_COUNT default
    assert (
        set(names) <= {"circle", "square", "triangle", "star", "cross", "hexagon", "ring", "heart"}
        or len(set(names)) >= 6
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Samples"] == "4,000"


def test_changing_dataset_changes_grid():
    at = run_app()
    before = captions(grid_spec(at))
    at.selectbox(key=Keys.DATASET).set_value("digits").run()
    assert not at.exception, at.exception
    after = captions(grid_spec(at))
    assert after != before and set(after) <= {str(d) for d in range(10)}
    assert {m.label: m.value for m in at.metric}["Samples"] == "1,797"


def test_vector_dataset_shows_heatmap():
    at = run_app()
    at.selectbox(key=Keys.DATASET).set_value("wine").run()
    assert not at.exception, at.exception
    assert grid_spec(at)["data"][0]["type"] == "heatmap"


def test_sample_count_slider():
    at = run_app()
    at.slider(key=Keys.GRID_COUNT).set_value(16).run()
    assert at.slider(key=Keys.GRID_COUNT).value == 16
    assert len(captions(grid_spec(at))) == 16


def test_split_chart_counts_add_up():
    at = run_app()
    charts = at.get("plotly_chart")
    split = next(
        json.loads(c.proto.spec)
        for c in charts
        if "Source / target" in json.dumps(json.loads(c.proto.spec)["layout"])
    )
    total = sum(sum(trace["y"]) for trace in split["data"])
    assert total == 4000


@pytest.mark.parametrize("kind", ["missing", "image", "cifar", "csv"])
def test_bad_path_shows_error_and_app_keeps_running(bad_files, kind):
    path, needle = bad_files[kind]
    at = run_app()
    at.selectbox(key=Keys.DATASET).set_value(DISK).run()
    at.text_input(key=Keys.PATH).input(str(path)).run()
    assert not at.exception, at.exception
    assert at.error and needle in at.error[0].value
    # The app recovers when a good dataset is chosen again.
    at.selectbox(key=Keys.DATASET).set_value("wine").run()
    assert not at.exception and not at.error


def test_user_image_folder_loads(tmp_path):
    from PIL import Image

    for name, colour in [("cat", (200, 10, 10)), ("dog", (10, 10, 200))]:
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.new("RGB", (12, 12), colour).save(tmp_path / name / f"{i}.png")
    at = run_app()
    at.selectbox(key=Keys.DATASET).set_value(DISK).run()
    at.text_input(key=Keys.PATH).input(str(tmp_path)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert set(captions(grid_spec(at))) == {"cat", "dog"}


def test_settings_survive_a_visit_to_another_page():
    at = run_app()
    at.slider(key=Keys.GRID_COUNT).set_value(24).run()
    at.switch_page("app_pages/views.py").run()
    assert not at.exception, at.exception
    at.switch_page("app_pages/data_explorer.py").run()
    assert not at.exception, at.exception
    assert at.slider(key=Keys.GRID_COUNT).value == 24
    assert len(captions(grid_spec(at))) == 24
