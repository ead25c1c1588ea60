"""The Loss kernel page through AppTest: the loss follows the controls, timing tables, bad files."""

import base64
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.state import DEFAULTS, Keys

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/loss_kernel.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=60)
    at.run()  # the page's url_path differs from its file name: switch only after a first run
    at.switch_page(PAGE).run()
    ok(at)
    assert [t.value for t in at.title] == ["Loss kernel"]
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, prefix: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(prefix)]
    assert len(found) == 1, [m.label for m in at.metric]
    return found[0]


def loss(at: AppTest) -> float:
    return float(metric(at, "Loss"))


def chart(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and c.proto.id.endswith(key)]
    assert found, f"no plotly chart {key!r}"
    return json.loads(found[0].proto.spec)


def matrix(z) -> np.ndarray:
    """A heatmap's z from the figure JSON: a nested list, or plotly's base64 typed array."""
    if isinstance(z, dict):
        flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
        return flat.reshape([int(k) for k in z["shape"].split(",")])
    return np.array(z, dtype=float)


def charts(at: AppTest, prefix: str) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart") if prefix in c.proto.id]


def table(at: AppTest, index: int = 0) -> list[dict]:
    df = at.dataframe[index].value
    return df.astype(object).where(df.notna(), None).to_dict("records")


def test_page_renders_the_small_batch():
    at = open_page()
    n = DEFAULTS[Keys.LOSS_N]
    assert float(metric(at, "Reference log(2N − 1)")) == pytest.approx(math.log(2 * n - 1), 1e-4)
    assert 0 < loss(at) < 10
    gap = metric(at, "|kernel − reference|")
    assert gap == "0 (exact)" or float(gap) < 1e-4
    heat, marks = chart(at, "loss.similarity")["data"]
    z = matrix(heat["z"])
    assert heat["type"] == "heatmap" and z.shape == (2 * n, 2 * n)
    assert np.isnan(np.diag(z)).all() and not np.isnan(z[~np.eye(2 * n, dtype=bool)]).any()
    assert marks["x"][0] == "b0" and marks["x"][n] == "a0"  # a0's positive is b0 and back
    bars = chart(at, "loss.row_losses")["data"][0]
    assert len(bars["y"]) == 2 * n
    assert sum(bars["y"]) / (2 * n) == pytest.approx(loss(at), abs=1e-4)
    assert any("never builds this matrix" in c.value for c in at.caption)
    assert not at.dataframe  # nothing timed yet, nothing uploaded


def test_controls_change_the_loss():
    at = open_page()
    before = loss(at)
    at.slider(key=Keys.LOSS_N).set_value(16).run()
    ok(at)
    assert at.slider(key=Keys.LOSS_N).value == 16
    assert loss(at) != before
    assert float(metric(at, "Reference log(2N − 1)")) == pytest.approx(math.log(31), abs=1e-4)
    assert matrix(chart(at, "loss.similarity")["data"][0]["z"]).shape == (32, 32)

    at.select_slider(key=Keys.LOSS_TEMPERATURE).set_value(1.0).run()
    assert at.select_slider(key=Keys.LOSS_TEMPERATURE).value == 1.0
    warm = loss(at)
    at.select_slider(key=Keys.LOSS_TEMPERATURE).set_value(0.05).run()
    ok(at)
    assert loss(at) != warm

    at.slider(key=Keys.LOSS_ALIGNMENT).set_value(0.0).run()
    assert at.slider(key=Keys.LOSS_ALIGNMENT).value == 0.0
    random = loss(at)
    at.slider(key=Keys.LOSS_ALIGNMENT).set_value(1.0).run()
    ok(at)
    assert loss(at) < 0.1 < random  # identical views at a small τ: the positives win
    assert metric(at, "Top-1") == "100%"

    at.selectbox(key=Keys.LOSS_FORM).set_value("clip").run()
    ok(at)
    assert float(metric(at, "Reference log(N)")) == pytest.approx(math.log(16), abs=1e-4)
    assert matrix(chart(at, "loss.similarity")["data"][0]["z"]).shape == (16, 16)
    assert len(chart(at, "loss.row_losses")["data"][0]["y"]) == 32


def test_settings_survive_a_visit_to_another_page():
    at = open_page()
    at.slider(key=Keys.LOSS_ALIGNMENT).set_value(0.8).run()
    shown = loss(at)
    at.switch_page("app_pages/data_explorer.py").run()
    at.switch_page(PAGE).run()
    ok(at)
    assert at.slider(key=Keys.LOSS_ALIGNMENT).value == 0.8
    assert loss(at) == shown


def fake_timing(calls: list) -> types.ModuleType:
    """Stands in for sslcore.info_nce_timing: instant records, torch out of memory at 4096."""

    def measure_in_subprocess(n, d=128, contender="sslcore", *, repeats=3, **kwargs):
        calls.append((n, d, contender, repeats))
        scale = 1.0 if contender == "sslcore" else 3.0
        oom = contender == "torch" and n >= 4096
        return {
            "N": n,
            "D": d,
            "contender": contender,
            "threads": 2,
            "ms": None if oom else scale * n / 100,
            "peak_mb": None if oom else scale * n / 64,
            "rss_mb": None if oom else 400.0,
            "gflop": 1.0,
            "gflops": None if oom else 5.0,
            "error": "out of memory: the dense logits need ~1.2 GB" if oom else None,
        }

    module = types.ModuleType("sslcore.info_nce_timing")
    module.CONTENDERS = ("sslcore", "torch")
    module.measure_in_subprocess = measure_in_subprocess
    return module


def test_live_run_shows_table_charts_and_ratios_and_keeps_them(monkeypatch):
    calls: list = []
    monkeypatch.setitem(sys.modules, "sslcore.info_nce_timing", fake_timing(calls))
    at = open_page()
    assert at.multiselect(key=Keys.LOSS_LIVE_NS).value == [256, 1024]
    at.multiselect(key=Keys.LOSS_LIVE_NS).set_value([4096, 256]).run()
    at.button(key=Keys.LOSS_LIVE_RUN).click().run()
    ok(at)
    assert calls == [
        (256, 128, "sslcore", 1),
        (256, 128, "torch", 1),
        (4096, 128, "sslcore", 1),
        (4096, 128, "torch", 1),
    ]
    rows = table(at)
    assert [(r["N"], r["contender"]) for r in rows] == [
        (256, "sslcore"),
        (256, "torch"),
        (4096, "sslcore"),
        (4096, "torch"),
    ]
    assert rows[0]["ms / step"] == 2.56 and rows[3]["ms / step"] is None
    assert rows[3]["error"].startswith("out of memory")
    assert any("torch at N = 4,096" in w.value for w in at.warning)
    ms = chart(at, "loss.live.ms")
    assert [t["name"] for t in ms["data"]] == ["sslcore", "torch"]
    assert ms["data"][1]["x"] == [256]  # the failed run is not plotted as a number
    assert ms["layout"]["yaxis"]["type"] == "log"
    assert chart(at, "loss.live.peak_mb")["data"][0]["y"] == [4.0, 64.0]
    assert table(at, 1)[0]["speed (their ms / sslcore ms)"] == 3.0
    assert any("takes **3.0×** sslcore's time" in m.value for m in at.markdown)

    at.select_slider(key=Keys.LOSS_TEMPERATURE).set_value(0.5).run()  # a rerun keeps them
    ok(at)
    assert len(calls) == 4 and len(table(at)) == 4
    at.multiselect(key=Keys.LOSS_LIVE_NS).set_value([512]).run()
    assert any("Measured for N = 256, 4096" in c.value for c in at.caption)


def test_live_run_without_the_timing_module_shows_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sslcore.info_nce_timing", None)  # import raises
    at = open_page()
    at.button(key=Keys.LOSS_LIVE_RUN).click().run()
    assert not at.exception, at.exception
    assert at.error and "not available" in at.error[0].value
    assert not charts(at, "loss.live")


def upload(at: AppTest, data: bytes, name: str = "bench.json") -> None:
    at.file_uploader(key=Keys.LOSS_UPLOAD).set_value((name, data, "application/json")).run()
    assert not at.exception, at.exception


def test_benchmark_json_is_plotted_and_a_corrupt_one_is_an_error():
    records = [
        fake_timing([]).measure_in_subprocess(n, contender=c)
        for n in (256, 1024, 4096)
        for c in ("sslcore", "torch")
    ]
    good = json.dumps({"meta": {"commit": "abc123", "threads": 2}, "records": records}).encode()
    at = open_page()
    upload(at, good)
    ok(at)
    assert len(table(at)) == 6 and table(at)[-1]["error"].startswith("out of memory")
    assert [t["x"] for t in chart(at, "loss.bench.ms")["data"]] == [[256, 1024, 4096], [256, 1024]]
    assert any("Benchmark metadata" in e.label for e in at.expander)

    for data, needle in [
        (good[: len(good) // 2], "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"records": [{"N": 8}]}).encode(), "missing key(s)"),
    ]:
        upload(at, data, "broken.json")
        assert at.error, data
        assert "broken.json" in at.error[0].value and needle in at.error[0].value
        assert not charts(at, "loss.bench") and not at.dataframe

    upload(at, good)  # a good file again: the page recovers
    ok(at)
    assert charts(at, "loss.bench")
