"""The Theory page through AppTest: no runs, measure a run, the relation figure and its table."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/theory.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Theory"]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {
        c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if c.proto.id
    }


def test_an_empty_store_says_what_to_do(run_store):
    at = open_page()
    assert any("No finished run" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_measure_then_plot_the_relation(trained_store):
    at = open_page()
    (run,) = trained_store.list()
    assert at.multiselect(key="theory.runs").value == [run.id]
    assert not at.get("plotly_chart")  # nothing measured yet
    at.button(key="theory.measure").click().run()
    assert not at.exception, at.exception
    assert [r["step"] for r in run.transfer_rows()] == [0, 2, 4]
    figures = charts(at)
    relation = next(f for k, f in figures.items() if k.endswith("theory_relation"))
    (trace,) = relation["data"]
    assert len(trace["x"]) == 3 and min(trace["x"]) == 0.0 and max(trace["x"]) == 1.0  # rescaled
    rows = at.dataframe[0].value.to_dict("records")
    assert rows[0]["run"] == run.id and rows[0]["checkpoints"] == 3
    at.radio(key="theory.scale").set_value("raw").run()
    raw = next(f for k, f in charts(at).items() if k.endswith("theory_relation"))
    assert raw["data"][0]["x"] == [r["pretext_loss"] for r in run.transfer_rows()]
