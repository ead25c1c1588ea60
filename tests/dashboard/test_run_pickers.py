"""Every page with a run picker beside unreadable runs: listed with the reason, never a crash.

Broken copies of a finished run (a summary.json that is a list, a metrics line that is not an
object, an empty status.json, a transfer table of numbers) sit in the store beside the good run;
each page offers the good run only, lists the others as "unreadable: <reason>" and draws.
"""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.state import Keys

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
BROKEN = {
    "bad-summary": ("summary.json", "[1]"),
    "bad-metrics": ("metrics.jsonl", '{"step": 1, "loss": 1.0}\n[1]\n"x"\n'),
    "bad-status": ("status.json", "{}"),
    "bad-transfer": ("transfer.json", "[1]"),
}
# page file, its picker's key, and the title it draws
PICKERS = [
    ("app_pages/train.py", Keys.TRAIN_RUN, "Train"),
    ("app_pages/embeddings.py", Keys.EMBED_RUN, "Embeddings"),
    ("app_pages/gradient_descent.py", Keys.GD_RUN, None),
    ("app_pages/theory.py", Keys.THEORY_RUNS, "Theory"),
    ("app_pages/pseudolabels.py", Keys.PSEUDO_RUN, "Pseudolabels"),
]


@pytest.fixture
def mixed_store(trained_store):
    """The trained run and four broken copies of it (their ids sort after it: newest first)."""
    (good,) = trained_store.list()
    for suffix, (name, content) in BROKEN.items():
        copy = trained_store.root / f"{good.id}-{suffix}"
        shutil.copytree(good.path, copy)
        (copy / name).write_text(content)
    return trained_store


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page(page).run()
    return at


def picker_options(at: AppTest, key: str) -> list[str]:
    widget = at.multiselect(key=key) if key == Keys.THEORY_RUNS else at.selectbox(key=key)
    return list(widget.options)


def unreadable_cells(at: AppTest) -> list[str]:
    return [
        str(state)
        for frame in at.dataframe
        if "state" in frame.value
        for state in frame.value["state"]
        if str(state).startswith("unreadable: ")
    ]


@pytest.mark.parametrize(("page", "key", "title"), PICKERS)
def test_a_picker_offers_the_readable_run_and_lists_the_others(mixed_store, page, key, title):
    (good,) = [r for r in mixed_store.list() if not r.id.endswith(tuple(BROKEN))]
    at = open_page(page)
    assert not at.exception, at.exception
    if title:
        assert title in [t.value for t in at.title]
    assert picker_options(at, key) == [good.id]
    cells = unreadable_cells(at)
    assert len(cells) == len(BROKEN)
    for name, _ in BROKEN.values():
        assert any(name in cell for cell in cells), name
    if page != "app_pages/train.py":
        assert f"{len(BROKEN)} unreadable run(s), not offered" in [e.label for e in at.expander]


def test_the_train_page_lists_unreadable_runs_in_its_table_and_shows_the_good_one(mixed_store):
    (good,) = [r for r in mixed_store.list() if not r.id.endswith(tuple(BROKEN))]
    at = open_page("app_pages/train.py")
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    rows = at.dataframe[0].value
    states = dict(zip(rows["run"], rows["state"], strict=True))
    assert states[good.id] == "done"
    assert states[f"{good.id}-bad-summary"].startswith("unreadable: run ")
    assert "summary.json: expected a JSON object, got list" in states[f"{good.id}-bad-summary"]
    assert at.selectbox(key=Keys.TRAIN_RUN).value == good.id
    assert any(m.value.startswith("**done** · step 4 of 4") for m in at.markdown)


def test_a_store_of_unreadable_runs_only_still_draws(trained_store):
    (good,) = trained_store.list()
    (good.path / "status.json").write_text("")
    at = open_page("app_pages/train.py")
    assert not at.exception, at.exception
    assert any("No run here can be read" in i.value for i in at.info)
    assert unreadable_cells(at)
    at = open_page("app_pages/paradigms.py")
    assert not at.exception, at.exception
    assert "1 unreadable run(s), not offered" in [e.label for e in at.expander]


def test_a_resume_beside_another_writer_is_refused_with_a_message(trained_store):
    (run,) = trained_store.list()
    at = open_page("app_pages/train.py")
    at.number_input(key=Keys.TRAIN_EXTRA_STEPS).set_value(10).run()
    with run.lock():  # a CLI resume of this run holds it
        at.button(key=Keys.TRAIN_RESUME).click().run()
    assert not at.exception, at.exception
    assert any("being written by another process" in w.value for w in at.warning)
    assert run.status()["state"] == "done" and run.config.steps == 4
