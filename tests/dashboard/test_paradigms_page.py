"""The Paradigms page (first in the navigation): three paradigms with results, the workflow's links,
and a one-click default run when the store is empty."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from sslcore import jobs

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
    links = at.get("page_link")
    assert len(links) == 7
    assert any(b.proto.label == "Start the default run" for b in at.button)


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
    assert launched and launched[0].task == "contrastive" and launched[0].data == "shapes"
    assert [r.config.steps for r in run_store.list()] == [600]
    assert any("step 0 of 600" in p.proto.text for p in at.get("progress"))
