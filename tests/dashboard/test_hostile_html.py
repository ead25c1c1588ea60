"""Script injection: a dataset's hostile class names reach the browser as text, never as code.

Class names come from someone else's data (an .npz's ``class_names``, image-folder subfolders,
CIFAR meta). The embedding map is opened in Chromium, alone and inside the app's Embeddings page,
on a dataset whose class names are markup; any ``alert()`` is a dialog, and fails the test.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from tests.dashboard.test_browser import POINT_XY, serve

pytestmark = pytest.mark.browser

HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
NAMES = [HOSTILE, "<img src=x onerror=alert(3)>", "plain"]


def watch_dialogs(page) -> list[str]:
    """Every dialog the page (or one of its frames) opens, dismissed and recorded."""
    dialogs: list[str] = []

    def record(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def hostile_npz(path: Path, n: int = 60) -> Path:
    """A small image .npz whose class names are HTML and script."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(n, 3, 16, 16), dtype=np.uint8)
    y = np.arange(n) % len(NAMES)
    np.savez(path, x=x, y=y, class_names=np.array(NAMES))
    return path


def hover_and_click(frame, page) -> tuple[str, list[str]]:
    """Hovers, then clicks, the first point of the map in `frame`: the tip's and panel's text."""
    frame.wait_for_function("() => document.getElementById('map')?._fullLayout", timeout=60_000)
    x, y = frame.evaluate(POINT_XY, 0)
    if frame != page.main_frame:  # the frame's coordinates, offset by the iframe's position
        box = frame.frame_element().bounding_box()
        x, y = x + box["x"], y + box["y"]
    page.mouse.move(x, y)
    tip = frame.locator("#tip")
    tip.wait_for(state="visible", timeout=10_000)
    text = tip.inner_text().strip()  # after the thumbnail and its <br>
    page.mouse.click(x, y)
    frame.locator("#neighbours figure").first.wait_for(timeout=10_000)
    captions = frame.locator("#neighbours figcaption").all_inner_texts()
    return text, captions


def assert_no_markup_ran(frame) -> None:
    """Neither injected element exists: the names were never parsed as HTML."""
    assert frame.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    scripts = frame.evaluate("() => [...document.scripts].map(s => s.textContent)")
    assert not any(s.strip() == "alert(1)" for s in scripts)


def test_the_hover_map_shows_hostile_class_names_as_text(browser, tmp_path):
    import torch

    from sslcore.viz_embeddings import embedding_scatter, hover_map_html, neighbour_table

    n = 30
    labels = np.zeros(n, dtype=np.int64)  # every point of class 0: hover shows HOSTILE
    labels[1::2] = 1
    images = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8)
    points = np.random.default_rng(0).uniform(size=(n, 2)).astype(np.float32)
    features = np.random.default_rng(1).normal(size=(n, 8)).astype(np.float32)
    fig = embedding_scatter(points, labels, NAMES, "hostile")
    html = hover_map_html(fig, images, labels, NAMES, np.arange(n), neighbour_table(features))
    path = tmp_path / "map.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 900, "height": 700})
    dialogs = watch_dialogs(page)
    page.goto(path.as_uri())
    tip, captions = hover_and_click(page.main_frame, page)
    assert tip.startswith(HOSTILE + " · sample 0")  # the name, shown as text
    assert captions[0] == HOSTILE and set(captions) <= set(NAMES)
    legend = page.locator("#map .legendtext").all_text_contents()
    assert legend[:2] == NAMES[:2]  # plotly shows them literally as well
    assert_no_markup_ran(page.main_frame)
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert dialogs == []
    page.close()


@pytest.fixture(scope="module")
def hostile_app_url(tmp_path_factory):
    """Streamlit on a run store holding one tiny run pretrained on the hostile .npz."""
    import torch

    from sslcore.config import PretrainConfig
    from sslcore.runs import RunStore
    from sslcore.train.pretrain import pretrain

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("hostile")
    data = hostile_npz(folder / "hostile.npz")
    config = PretrainConfig(
        task="rotation",
        data=str(data),
        steps=2,
        batch_size=8,
        width=4,
        eval_every=2,
        checkpoint_every=2,
    )
    pretrain(config, store=RunStore(folder / "runs"), progress=False)
    yield from serve(dict(os.environ, SSLCORE_RUNS=str(folder / "runs")))


def test_the_embeddings_page_on_a_hostile_dataset_runs_no_script(hostile_app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    dialogs = watch_dialogs(page)
    page.goto(f"{hostile_app_url}/embeddings?split=source")
    page.locator("iframe").first.wait_for(timeout=90_000)
    map_frame = page.locator("iframe").first.element_handle().content_frame()
    tip, captions = hover_and_click(map_frame, page)
    assert any(tip.startswith(name + " · sample ") for name in NAMES)
    assert set(captions) <= set(NAMES) and captions
    assert_no_markup_ran(map_frame)
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length") == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    page.close()
