"""The Paradigms page (first in the navigation): three paradigms with results, the workflow's links,
a one-click default run (digits) when the store has none, its sweep, and the few-label answer."""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from sslcore import jobs
from sslcore.config import PretrainConfig
from sslcore.runs import atomic_write_text

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_the_first_page_shows_the_three_paradigms_and_the_workflow(run_store):
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Three ways to learn from data"]
    assert [s.value for s in at.subheader][:3] == [
        "Supervised: (x, y) → f",
        "Unsupervised: x → structure",
        "Self-supervised: x → P → (x̃, z)",
    ]
    captions = " ".join(c.value for c in at.caption)
    assert "held-out" in captions and "adjusted Rand index" in captions
    assert "and with 13 labels: " in captions and "(mean ± std over 10 label draws)" in captions
    links = at.get("page_link")
    assert len(links) == 7
    assert any(b.proto.label == "Start the default run" for b in at.button)
    assert any("about 2 minutes of pretraining on a CPU" in i.value for i in at.info)


def test_one_click_starts_the_default_run_and_shows_its_progress(run_store, monkeypatch):
    launched = []

    def fake_launch(config, store):
        launched.append(config)
        return store.create(config)  # the run exists; no process is started in a unit test

    monkeypatch.setattr(jobs, "launch", fake_launch)
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    at.run()
    at.button(key="paradigms.start").click().run()
    assert not at.exception, at.exception
    assert launched and launched[0].task == "contrastive" and launched[0].data == "digits"
    assert [(r.config.steps, r.config.minutes) for r in run_store.list()] == [(2000, 2.0)]
    assert any("step 0 of ≤2,000 · 0.0 of 2 min" in p.proto.text for p in at.get("progress"))


def done_digits_run(store):
    """A finished digits SimCLR run (never trained: the tests stub what would read it)."""
    run = store.create(PretrainConfig(data="digits", steps=2, batch_size=8, width=4))
    run.set_status("done")
    return run


def test_a_finished_default_run_gets_one_sweep_however_often_the_page_reruns(
    run_store, monkeypatch
):
    run = done_digits_run(run_store)
    calls, job = [], {"value": None}

    def fake_launch_sweep(run, store, fractions, modes, adapt_steps=400, draws=1):
        calls.append((run.id, list(fractions), list(modes), draws))
        return {"alive": True, "log": "", "results": None}

    monkeypatch.setattr(jobs, "launch_sweep", fake_launch_sweep)
    monkeypatch.setattr(jobs, "sweep_job", lambda run: job["value"])  # its record not yet there
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    for _ in range(3):
        at.run()
        assert not at.exception, at.exception
    assert calls == [(run.id, [0.01, 0.1], ["linear", "scratch"], 10)]
    assert any("Adapting" in i.value and "10 label draws" in i.value for i in at.info)
    # another session (a new tab) finds the sweep running and starts none; it shows its log
    job["value"] = {"alive": True, "log": "sweep: linear 1 % done\n", "results": None}
    other = AppTest.from_file(str(ENTRY), default_timeout=120)
    other.run()
    assert not other.exception, other.exception
    assert len(calls) == 1
    assert any("Last: " in i.value and "linear 1 % done" in i.value for i in other.info)


def test_a_sweep_that_cannot_start_is_a_warning_and_is_not_retried(run_store, monkeypatch):
    done_digits_run(run_store)
    calls = []

    def refused(*args, **kwargs):
        calls.append(args)
        raise jobs.JobError("run x has no checkpoint to adapt yet")

    monkeypatch.setattr(jobs, "launch_sweep", refused)
    monkeypatch.setattr(jobs, "sweep_job", lambda run: None)
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    at.run()
    at.run()
    assert not at.exception, at.exception
    assert len(calls) == 1
    assert any("no checkpoint to adapt yet" in w.value for w in at.warning)


def test_the_sweep_records_give_the_answer_with_error_bars_and_links_onward(run_store, monkeypatch):
    run = done_digits_run(run_store)
    records = [
        {"mode": "linear", "label_fraction": 0.01, "labels": 13, "accuracy": 0.937,
         "accuracy_std": 0.024, "draws": 10, "test_loss": 0.3},
        {"mode": "scratch", "label_fraction": 0.01, "labels": 13, "accuracy": 0.706,
         "accuracy_std": 0.071, "draws": 10, "test_loss": 1.1},
        {"mode": "linear", "label_fraction": 0.1, "labels": 126, "accuracy": 0.982,
         "accuracy_std": 0.007, "draws": 10, "test_loss": 0.1},
        {"mode": "scratch", "label_fraction": 0.1, "labels": 126, "accuracy": 0.964,
         "accuracy_std": 0.008, "draws": 10, "test_loss": 0.2},
        {"mode": "knn", "label_fraction": 0.01, "labels": 13, "accuracy": 0.5},
    ]  # fmt: skip
    atomic_write_text(run.path / "adapt.json", json.dumps(records))
    calls = []
    monkeypatch.setattr(jobs, "launch_sweep", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(
        jobs, "sweep_job", lambda run: {"alive": False, "log": "", "results": records}
    )
    at = AppTest.from_file(str(ENTRY), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert not calls
    text = " ".join(m.value for m in at.markdown)
    assert (
        "With 13 labels: self-supervised + linear probe **93.7 % ± 2.4** vs supervised from "
        "scratch **70.6 % ± 7.1** (10 label draws)."
    ) in text
    assert "With 126 labels: self-supervised + linear probe **98.2 % ± 0.7**" in text
    chart = [c for c in at.get("plotly_chart") if "supervised (scratch)" in c.proto.spec]
    assert chart and "kNN" not in chart[0].proto.spec  # only the sweep's modes
    links = {link.proto.label: link.proto.page for link in at.get("page_link")}
    onward = {label.split(":")[0]: page for label, page in links.items() if ":" in label}
    assert onward == {"Train": "train", "Embeddings": "embeddings", "Theory": "theory"}
