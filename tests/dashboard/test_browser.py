"""One real-browser test: Streamlit served on 127.0.0.1, Debian's Chromium driven by Playwright."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
CHROMIUM = os.environ.get("SSLCORE_CHROMIUM", "/usr/bin/chromium")

if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    pytest.skip(
        f"no Chromium at {CHROMIUM}: run as root `apt-get install -y chromium` (the test "
        "command does it) or set SSLCORE_CHROMIUM",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api", reason="pip install playwright")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict[str, str] | None = None):
    """Streamlit serving the app on a free local port: yields its URL, stops it after."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRY),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not answer /_stcore/health:\n{proc.stdout.read()}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server_url():
    yield from serve()


def grid_captions(page) -> list[str]:
    grid = page.locator(".js-plotly-plot").first
    grid.wait_for(timeout=60_000)
    return grid.locator(".annotation-text").all_text_contents()


def test_open_app_change_dataset_grid_changes(server_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server_url}/data")
    page.locator(".js-plotly-plot .annotation-text").first.wait_for(timeout=60_000)
    before = grid_captions(page)
    assert len(before) == 48 and len(set(before)) >= 4, before

    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="digits").click()
    page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('.js-plotly-plot')][0]"
        "?.querySelectorAll('.annotation-text'); return t && t.length"
        " && [...t].every(e => /^[0-9]$/.test(e.textContent)); }",
        timeout=60_000,
    )
    after = grid_captions(page)
    assert after != before and all(c.isdigit() for c in after)
    out = Path(os.environ.get("SSLCORE_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "data_explorer_digits.png"), full_page=True)
    page.close()


def test_views_page_regenerate_changes_views(server_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server_url}/views")
    grid = page.locator(".js-plotly-plot").first
    grid.locator(".annotation-text").first.wait_for(timeout=60_000)
    image = grid.locator("image").first
    before = image.get_attribute("href")
    captions = grid.locator(".annotation-text").all_text_contents()
    assert before and before.startswith("data:image/png")
    assert len(captions) == 6 * 3  # 6 images × (original + 2 views), the defaults

    page.get_by_role("button", name="Regenerate").click()
    page.wait_for_function(
        "(before) => document.querySelector('.js-plotly-plot image')"
        "?.getAttribute('href') !== before",
        arg=before,
        timeout=60_000,
    )
    assert page.get_by_role("spinbutton", name="Seed").input_value() == "1"
    assert image.get_attribute("href") != before
    out = Path(os.environ.get("SSLCORE_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "views.png"), full_page=True)
    page.close()


POINT_XY = """(i) => {
  const gd = document.getElementById('map');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const t = gd._fullData[0], box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(t.x[i]), box.top + ya._offset + ya.l2p(t.y[i])];
}"""


def test_embedding_map_shows_a_thumbnail_on_hover_and_neighbours_on_click(browser, tmp_path):
    import numpy as np

    from sslcore.data import make_shapes
    from sslcore.viz_embeddings import embedding_scatter, hover_map_html, neighbour_table

    data = make_shapes(40, seed=3)
    labels = data.y.numpy()
    points = np.random.default_rng(0).uniform(size=(40, 2)).astype(np.float32)
    features = np.random.default_rng(1).normal(size=(40, 8)).astype(np.float32)
    fig = embedding_scatter(points, labels, data.class_names, "map")
    html = hover_map_html(
        fig, data.x, labels, data.class_names, np.arange(40), neighbour_table(features)
    )
    path = tmp_path / "map.html"
    path.write_text(html)
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.goto(path.as_uri())  # a file: no server, no network
    page.wait_for_function("() => document.getElementById('map')?._fullLayout", timeout=30_000)
    x, y = page.evaluate(POINT_XY, 0)
    page.mouse.move(x, y)
    tip = page.locator("#tip")
    tip.wait_for(state="visible", timeout=10_000)
    first = int(np.flatnonzero(labels == np.unique(labels)[0])[0])  # trace 0's first point
    assert f"sample {first}" in tip.inner_text()
    assert "data:image/jpeg" in tip.locator("div").first.get_attribute("style")
    page.mouse.click(x, y)
    page.locator("#neighbours figure").first.wait_for(timeout=10_000)
    assert page.locator("#neighbours figure").count() == 1 + 8
    page.close()


def test_a_shared_url_reopens_the_same_grid_and_the_url_follows_the_page(server_url, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server_url}/data?dataset=digits&grid_count=12&grid_seed=4")
    page.wait_for_function(
        "() => { const t = document.querySelector('.js-plotly-plot')"
        "?.querySelectorAll('.annotation-text'); return t && t.length === 12"
        " && [...t].every(e => /^[0-9]$/.test(e.textContent)); }",
        timeout=60_000,
    )
    assert "dataset=digits" in page.url and "grid_seed=4" in page.url
    page.get_by_role("spinbutton", name="Sample seed").fill("7")
    page.get_by_role("spinbutton", name="Sample seed").press("Enter")
    page.wait_for_function("() => location.search.includes('grid_seed=7')", timeout=60_000)
    page.close()
