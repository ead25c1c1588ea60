"""The whole app in a real browser: every page opens from a shared URL, draws its main figure,
keeps the URL's setting, and answers its main control (the URL follows); a screenshot of each
page is written.

Screenshots go to $SSLCORE_SCREENSHOTS (default: the test's temporary folder), never the repo.
"""

import os
from pathlib import Path

import pytest

from tests.dashboard.test_browser import serve

pytestmark = pytest.mark.browser

# url path, a shared setting to open it with, what its main figure is.
PAGES = [
    ("paradigms", "", ".js-plotly-plot"),
    ("data", "seed=5", ".js-plotly-plot"),
    ("views", "seed=3", ".js-plotly-plot"),
    ("pseudolabels", "seed=4", ".js-plotly-plot"),
    ("train", "tuned=false&steps=250", ".js-plotly-plot"),  # tuned: the step box is disabled
    ("gradient-descent", "lr=0.2", ".js-plotly-plot"),
    ("embeddings", "split=target_test", "iframe"),
    ("theory", "scale=raw", ".js-plotly-plot"),
    ("loss-kernel", "seed=2", ".js-plotly-plot"),
]


# The main control of each page: (kind, its label, the value to give, what the URL then holds).
CONTROLS = {
    "paradigms": ("link", "explore →", None, "/data"),
    "data": ("number", "Seed", "6", "seed=6"),
    "views": ("number", "Seed", "6", "seed=6"),
    "pseudolabels": ("number", "Seed", "6", "seed=6"),
    "train": ("number", "Steps", "300", "steps=300"),
    "gradient-descent": ("number", "Step size α", "0.3", "lr=0.3"),
    "embeddings": ("radio", "target_train", None, "split=target_train"),
    "theory": ("radio", "relative", None, "scale=relative"),
    "loss-kernel": ("number", "Seed", "6", "seed=6"),
}


def use_control(page, path: str) -> None:
    """Operates the page's main control and waits for the view and its URL to follow."""
    kind, label, value, expect = CONTROLS[path]
    if kind == "link":
        page.get_by_role("link", name=label).first.click()
    elif kind == "number":
        box = page.get_by_role("spinbutton", name=label, exact=True).first
        box.fill(value)
        box.press("Enter")
    else:
        page.get_by_text(label, exact=True).first.click()
    page.wait_for_function("(s) => location.href.includes(s)", arg=expect, timeout=60_000)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """Streamlit on a run store holding one small finished run with its transfer table."""
    import torch

    from sslcore.config import PretrainConfig
    from sslcore.eval.transfer import transfer_table
    from sslcore.runs import RunStore
    from sslcore.train.pretrain import pretrain

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("browser-runs")
    config = PretrainConfig(
        task="rotation",
        protocol="transfer",  # source, target train and test: three different splits to show
        data_options={"n": 400},
        steps=4,
        batch_size=8,
        width=4,
        eval_every=2,
        checkpoint_every=2,
    )
    transfer_table(pretrain(config, store=RunStore(root), progress=False), batches=1)
    yield from serve(dict(os.environ, SSLCORE_RUNS=str(root)))


@pytest.mark.parametrize(("path", "setting", "figure"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_opens_from_a_shared_url(app_url, browser, tmp_path, path, setting, figure):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    address = "" if path == "paradigms" else path  # the first page lives at the root
    page.goto(f"{app_url}/{address}" + (f"?{setting}" if setting else ""))
    page.locator(figure).first.wait_for(timeout=90_000)
    page.wait_for_timeout(500)  # the URL is written after the page's script has run
    if setting:
        page.wait_for_function("(s) => location.search.includes(s)", arg=setting, timeout=30_000)
    assert not page.get_by_test_id("stException").count(), f"{path}: an exception is shown"
    assert not page.get_by_role("dialog").count(), f"{path}: a dialog is shown"
    use_control(page, path)
    page.locator(".js-plotly-plot, iframe").first.wait_for(timeout=90_000)
    assert not page.get_by_test_id("stException").count(), f"{path}: an exception after its control"
    out = Path(os.environ.get("SSLCORE_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"{path}.png"), full_page=True)
    assert not errors, errors
    page.close()


def test_gradient_descent_alpha_moves_the_path_in_the_browser(app_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/gradient-descent?problem=quadratic")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    path_x = "() => document.querySelector('.js-plotly-plot')._fullData[1].x.slice(0, 5).join()"
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')?._fullData?.length")
    before = page.evaluate(path_x)
    box = page.get_by_role("spinbutton", name="Step size α")
    box.fill("0.9")
    box.press("Enter")
    page.wait_for_function(f"(b) => ({path_x})() !== b", arg=before, timeout=60_000)
    page.wait_for_function("() => location.search.includes('lr=0.9')", timeout=30_000)
    page.close()


def test_two_sessions_at_once_keep_their_own_settings(app_url, browser):
    one, two = browser.new_context(), browser.new_context()  # two visitors, two sessions
    pages = [one.new_page(), two.new_page()]
    for page, seed in zip(pages, ("5", "9"), strict=True):
        page.goto(f"{app_url}/data?seed={seed}")
    for page in pages:
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    box = pages[0].get_by_role("spinbutton", name="Seed").first
    box.fill("6")
    box.press("Enter")
    pages[0].wait_for_function("() => location.search.includes('seed=6')", timeout=30_000)
    pages[1].reload()
    pages[1].locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    pages[1].wait_for_function("() => location.search.includes('seed=9')", timeout=30_000)
    assert pages[1].get_by_role("spinbutton", name="Seed").first.input_value() == "9"
    one.close()
    two.close()
