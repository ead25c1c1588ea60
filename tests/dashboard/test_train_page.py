"""The Train page through AppTest: start, list, curves, refuse a twin, cancel, resume, adapt."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.state import Keys
from sslcore import jobs
from sslcore.config import PretrainConfig
from sslcore.runs import RunStore

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/train.py"
# What the form starts with its default settings.
DEFAULT_CONFIG = PretrainConfig(
    task="rotation",
    data="shapes",
    data_options={"n": 2000},
    steps=300,
    batch_size=64,
    lr=2e-3,
    seed=0,
    eval_every=50,
    checkpoint_every=50,
)


def open_page(errors: bool = False) -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    if not errors:
        ok(at)
    assert [t.value for t in at.title] == ["Train"]
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def chart(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and c.proto.id.endswith(key)]
    assert found, f"no plotly chart {key!r}"
    return json.loads(found[0].proto.spec)


def table(at: AppTest, index: int = 0) -> list[dict]:
    df = at.dataframe[index].value
    return df.astype(object).where(df.notna(), None).to_dict("records")


def test_an_empty_store_shows_the_form_and_no_runs(run_store):
    at = open_page()
    assert any("No runs in" in i.value for i in at.info)
    assert not at.button(key=Keys.TRAIN_START).disabled
    assert any(str(run_store.root.resolve()) in c.value for c in at.sidebar.caption)


def test_the_run_is_listed_with_its_curves(trained_store):
    run = trained_store.list()[0]
    metrics = run.metrics()
    at = open_page()
    [row] = table(at)
    assert (row["run"], row["state"], row["steps done"], row["steps"]) == (run.id, "done", 4, 4)
    assert row["last loss"] == metrics[-1]["loss"]
    assert row["probe acc."] == metrics[-1]["probe_accuracy"]
    assert at.selectbox(key=Keys.TRAIN_RUN).value == run.id
    assert any(m.value.startswith("**done** · step 4 of 4") for m in at.markdown)
    loss = chart(at, "train.loss")["data"][0]
    assert loss["x"] == [1, 2, 3, 4] and loss["y"] == [r["loss"] for r in metrics]
    probe, knn = chart(at, "train.accuracy")["data"][:2]
    assert probe["x"] == [2, 4] and knn["name"] == "kNN"
    assert at.button(key=Keys.TRAIN_CANCEL).disabled and at.button(key=Keys.TRAIN_RESUME).disabled
    assert any("No adaptation yet" in c.value for c in at.caption)


def test_start_launches_the_form_settings_and_opens_the_run(run_store, monkeypatch):
    launched = []

    def fake_launch(config, store):
        launched.append(config)
        return store.create(config)  # no process: the page must only pass the settings on

    monkeypatch.setattr(jobs, "launch", fake_launch)
    at = open_page()
    at.selectbox(key=Keys.TRAIN_DATA).set_value("wine").run()
    assert at.selectbox(key=Keys.TRAIN_TASK).value == "vime"
    at.checkbox(key=Keys.TRAIN_TUNED).uncheck().run()
    at.number_input(key=Keys.TRAIN_STEPS).set_value(123).run()
    at.number_input(key=Keys.TRAIN_SEED).set_value(5).run()
    at.select_slider(key=Keys.TRAIN_BATCH).set_value(16).run()
    at.selectbox(key=Keys.TRAIN_ENCODER).set_value("mlp").run()
    at.selectbox(key=Keys.TRAIN_PROTOCOL).set_value("transfer").run()
    at.number_input(key=Keys.TRAIN_MINUTES).set_value(1.5).run()
    at.button(key=Keys.TRAIN_START).click().run()
    ok(at)
    [config] = launched
    assert (config.task, config.data, config.data_options) == ("vime", "wine", {})
    assert (config.steps, config.seed, config.batch_size, config.lr) == (123, 5, 16, 2e-3)
    assert (config.encoder, config.protocol, config.minutes) == ("mlp", "transfer", 1.5)
    [run] = run_store.list()
    assert at.selectbox(key=Keys.TRAIN_RUN).value == run.id
    assert table(at)[0]["state"] == "created"
    assert any(run.id in s.value for s in at.success)
    at.run()  # a rerun keeps the selection and starts nothing
    assert len(launched) == 1 and at.selectbox(key=Keys.TRAIN_RUN).value == run.id


def test_the_form_s_defaults_make_a_run_of_its_steps_without_a_time_budget(run_store, monkeypatch):
    launched = []
    monkeypatch.setattr(jobs, "launch", lambda config, store: launched.append(config))
    at = open_page()
    at.checkbox(key=Keys.TRAIN_TUNED).uncheck().run()
    assert at.number_input(key=Keys.TRAIN_MINUTES).value == 0.0
    at.button(key=Keys.TRAIN_START).click().run()
    assert launched == [DEFAULT_CONFIG] and launched[0].minutes is None
    # "auto" resolves to shapes' tuned encoder, the ResNet at width 16 (DATASET_DEFAULTS)
    assert (launched[0].encoder, launched[0].width) == ("resnet", 16)
    assert launched[0].protocol == "in_domain"


def test_tuned_settings_start_the_dataset_s_tuned_run_and_say_what_they_are(run_store, monkeypatch):
    launched = []
    monkeypatch.setattr(jobs, "launch", lambda config, store: launched.append(config))
    at = open_page()
    at.selectbox(key=Keys.TRAIN_DATA).set_value("digits").run()
    at.selectbox(key=Keys.TRAIN_TASK).set_value("contrastive").run()
    assert at.checkbox(key=Keys.TRAIN_TUNED).value  # on by default
    assert at.number_input(key=Keys.TRAIN_STEPS).disabled
    tuned = PretrainConfig(task="contrastive", data="digits")
    assert any(
        f"{tuned.minutes:g} min" in c.value and f"batch {tuned.batch_size}" in c.value
        for c in at.caption
    )
    at.button(key=Keys.TRAIN_START).click().run()
    [config] = launched
    assert (config.steps, config.minutes, config.batch_size, config.lr) == (
        tuned.steps,
        tuned.minutes,
        tuned.batch_size,
        tuned.lr,
    )
    assert config.task_options == tuned.task_options


def test_a_running_time_budgeted_run_shows_its_cap_and_budget(run_store):
    run = run_store.create(PretrainConfig(task="vime", data="wine", steps=2000, minutes=2.0))
    run.set_status("running", pid=os.getpid())
    at = open_page()
    [row] = table(at)
    assert (row["steps done"], row["steps"], row["budget"]) == (0, 2000, "2 min")
    assert any(
        m.value.startswith("**running** · step 0 of ≤2,000 · 0.0 of 2 min") for m in at.markdown
    )


def test_an_identical_run_is_refused_while_it_runs(run_store):
    twin = run_store.create(DEFAULT_CONFIG)
    twin.set_status("running", pid=os.getpid())  # "running": this test process is alive
    at = open_page()
    assert table(at)[0]["state"] == "running"
    assert not at.button(key=Keys.TRAIN_CANCEL).disabled
    at.checkbox(key=Keys.TRAIN_TUNED).uncheck().run()  # the form's own settings: DEFAULT_CONFIG
    at.button(key=Keys.TRAIN_START).click().run()
    assert not at.exception, at.exception
    assert at.warning and "identical run is already running" in at.warning[0].value
    assert [r.id for r in run_store.list()] == [twin.id]


def test_cancel_sends_sigint_and_the_run_ends_cancelled(run_store):
    run = run_store.create(PretrainConfig(task="vime", data="wine", steps=10))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run.set_status("running", pid=sleeper.pid)  # as launch records a starting process
        at = open_page()
        assert any(m.value.startswith("**running**") for m in at.markdown)
        at.button(key=Keys.TRAIN_CANCEL).click().run()
        ok(at)
        # KeyboardInterrupt in sleep, or SIGTERM where SIGINT is ignored (a background shell)
        assert sleeper.wait(timeout=30) in (1, -signal.SIGINT, -signal.SIGTERM)
        assert run.status()["state"] == "cancelled"
        assert table(at)[0]["state"] == "cancelled"
        assert at.button(key=Keys.TRAIN_CANCEL).disabled
        assert not at.button(key=Keys.TRAIN_RESUME).disabled
    finally:
        sleeper.kill()
        sleeper.wait()


def test_resume_and_sweep_pass_their_settings_on(trained_store, monkeypatch):
    run = trained_store.list()[0]
    resumed, swept = [], []
    monkeypatch.setattr(jobs, "resume", lambda r, store, steps=None: resumed.append((r.id, steps)))
    monkeypatch.setattr(
        jobs,
        "launch_sweep",
        lambda r, store, f, m, s, draws: swept.append((r.id, f, m, s, draws)),
    )
    at = open_page()
    at.number_input(key=Keys.TRAIN_EXTRA_STEPS).set_value(10).run()
    assert not at.button(key=Keys.TRAIN_RESUME).disabled  # done, but 10 more steps asked
    at.button(key=Keys.TRAIN_RESUME).click().run()
    ok(at)
    assert resumed == [(run.id, 14)]
    at.button(key=Keys.ADAPT_START).click().run()  # the defaults: the baseline is in them
    ok(at)
    assert swept == [(run.id, [0.01, 0.1, 1.0], ["linear", "knn", "scratch"], 0, 10)]
    at.multiselect(key=Keys.ADAPT_MODES).set_value(["knn", "scratch"]).run()
    at.multiselect(key=Keys.ADAPT_FRACTIONS).set_value([1.0, 0.1]).run()
    at.number_input(key=Keys.ADAPT_DRAWS).set_value(3).run()
    at.button(key=Keys.ADAPT_START).click().run()
    ok(at)
    assert swept[1] == (run.id, [0.1, 1.0], ["knn", "scratch"], 0, 3)


def test_label_efficiency_chart_and_a_failed_sweep(trained_store):
    run = trained_store.list()[0]
    records = [
        {"mode": m, "label_fraction": f, "labels": int(f * 100), "accuracy": a, "test_loss": 1.0}
        for m, f, a in [("linear", 0.1, 0.4), ("linear", 1.0, 0.8), ("knn", 0.1, 0.3)]
    ]
    (run.path / "adapt.json").write_text(json.dumps(records))
    failed = {"pid": 2**22 + 12345, "started": 0.0, "modes": ["knn"], "fractions": [1.0]}
    (run.path / jobs.SWEEP_JOB).write_text(json.dumps(failed | {"output": "sweep-x.json"}))
    (run.path / "sweep.log").write_text("sslcore: error: something went wrong\n")
    at = open_page(errors=True)
    assert at.error and "something went wrong" in at.error[0].value
    lines = chart(at, "adapt.chart")["data"]
    assert [t["name"] for t in lines] == ["linear probe (θ* frozen)", "kNN (no head)"]
    assert lines[0]["x"] == [0.1, 1.0] and lines[0]["y"] == [0.4, 0.8]
    assert chart(at, "adapt.chart")["layout"]["xaxis"]["type"] == "log"
    rows = table(at, 1)
    assert [(r["labels"], r["mode"], r["accuracy"]) for r in rows] == [
        ("10% (10)", "linear", 0.4),
        ("10% (10)", "knn", 0.3),
        ("100% (100)", "linear", 0.8),
    ]


def test_label_draws_are_error_bars_and_columns(trained_store):
    run = trained_store.list()[0]
    drawn = {"accuracy_std": 0.05, "draws": 10, "accuracies": [0.4] * 10}
    records = [
        {"mode": "scratch", "label_fraction": 0.1, "labels": 10, "accuracy": 0.4} | drawn,
        {"mode": "scratch", "label_fraction": 1.0, "labels": 100, "accuracy": 0.8, "draws": 1},
    ]
    (run.path / "adapt.json").write_text(json.dumps(records))
    at = open_page()
    [line] = chart(at, "adapt.chart")["data"]
    assert line["name"] == "supervised (scratch)" and line["error_y"]["array"] == [0.05, 0.0]
    rows = table(at, 1)
    assert [(r["± std"], r["draws"]) for r in rows] == [(0.05, 10), (None, 1)]


def test_a_running_sweep_shows_its_last_progress_line(trained_store):
    run = trained_store.list()[0]
    job = {"pid": os.getpid(), "started": time.time(), "modes": ["knn"], "fractions": [0.1, 1.0]}
    (run.path / jobs.SWEEP_JOB).write_text(
        json.dumps(job | {"draws": 10, "output": "sweep-x.json"})
    )
    (run.path / jobs.SWEEP_LOG).write_text("sweep: 1/2 knn 10 %: 40.0 % ± 5.0 (10 draws, 3 s)\n")
    at = open_page()
    [info] = [i.value.replace("\\", "") for i in at.info if "A sweep is running" in i.value]
    assert "10 label draws each" in info and "1/2 knn 10 %: 40.0 % ± 5.0" in info


def test_a_store_folder_typed_in_the_sidebar(trained_store, tmp_path):
    at = open_page()
    assert len(table(at)) == 1
    elsewhere = RunStore(tmp_path / "elsewhere")
    at.sidebar.text_input(key=Keys.RUNS_ROOT).input(str(elsewhere.root)).run()
    ok(at)
    assert any("No runs in" in i.value for i in at.info)


def test_a_finished_run_offers_its_report_and_bundle(trained_store):
    at = open_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download report (HTML)", "Download run bundle (zip)"]
    assert not any(b.proto.disabled for b in at.get("download_button"))
