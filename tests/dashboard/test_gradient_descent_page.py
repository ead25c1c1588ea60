"""The Gradient descent page (AppTest): α moves the path, divergence is told, bad α is named."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/gradient_descent.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Gradient descent"]
    return at


def chart(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and c.proto.id.endswith(key)]
    assert found, f"no plotly chart {key!r}"
    return json.loads(found[0].proto.spec)


def path(at: AppTest) -> list[float]:
    trace = chart(at, "gd_contour")["data"][1]  # 0 is the contour, 1 the first run's path
    return trace["x"] if isinstance(trace["x"], list) else trace["x"]["bdata"]


def test_dog_vs_cat_shows_examples_and_boundary_and_alpha_moves_the_path():
    at = open_page()
    assert not at.error, [e.value for e in at.error]
    examples = chart(at, "gd_examples")
    assert examples["layout"]["title"]["text"].startswith("l(θ) = Σ d_k")
    assert any(t.get("name") == "p(dog) = ½" for t in chart(at, "gd_boundary")["data"])
    before = path(at)
    at.number_input(key="gd.lr").set_value(0.2).run()
    assert not at.exception and path(at) != before


def test_the_quadratic_shows_theory_and_divergence_above_two_over_l():
    at = open_page()
    at.selectbox(key="gd.problem").set_value("quadratic").run()
    rows = at.dataframe[0].value.to_dict("records")
    assert rows[0]["value"] == "2"  # 2/L with L = 1
    assert any(r[""].startswith("measured rate") for r in rows)
    at.number_input(key="gd.lr").set_value(2.5).run()
    assert not at.exception
    assert any("diverged" in w.value and "2/L = 2" in w.value for w in at.warning)


@pytest.mark.parametrize("lr", [0.0])
def test_a_zero_step_is_named_and_the_page_keeps_working(lr):
    at = open_page()
    at.number_input(key="gd.lr").set_value(lr).run()
    assert not at.exception
    assert any("α must be" in e.value for e in at.error)
    at.number_input(key="gd.lr").set_value(0.1).run()
    assert not at.error


def test_a_start_outside_the_box_is_named():
    at = open_page()
    at.number_input(key="gd.start_x").set_value(50.0).run()
    assert not at.exception and any("outside" in e.value for e in at.error)


def test_a_real_run_path_on_its_loss_surface(trained_store):
    at = open_page()
    (run,) = trained_store.list()
    assert at.selectbox(key="gd.run").value == run.id
    assert not any(c.proto.id.endswith("gd_run_plane") for c in at.get("plotly_chart"))
    at.select_slider(key="gd.resolution").set_value(5).run()
    at.button(key="gd.compute").click().run()
    assert not at.exception, at.exception
    assert (run.path / "landscape-pca.json").exists()
    figure = chart(at, "gd_run_plane")
    assert figure["data"][1]["text"] == ["0", "2", "4"]  # the path, labelled by step
