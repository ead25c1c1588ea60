"""The dashboard benchmark's plumbing: it renders a page and refuses a bad --repeat."""

import pytest

from benchmarks import bench_dashboard


def test_render_times_a_page_and_names_a_broken_one(monkeypatch, tmp_path):
    monkeypatch.setenv("SSLCORE_RUNS", str(tmp_path))
    assert bench_dashboard.render("theory") > 0
    with pytest.raises(ValueError, match="no-such-page"):
        bench_dashboard.render("no-such-page")


def test_bad_repeat_is_refused():
    with pytest.raises(SystemExit):
        bench_dashboard.main(["--repeat", "0"])
