"""The Views page through AppTest: views and params follow the controls, seeds replay, errors."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.state import DEFAULTS, Keys, preset_values

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE = "app_pages/views.py"
SHAPES = {"circle", "square", "triangle", "star", "cross", "hexagon", "ring", "heart"}


def open_views() -> AppTest:
    at = AppTest.from_file(str(ENTRY), default_timeout=60)
    at.switch_page(PAGE).run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def chart(at: AppTest, key: str) -> dict:
    found = [c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id]
    assert found, f"no plotly chart {key!r}"
    return json.loads(found[0].proto.spec)


def tiles(at: AppTest) -> list[str]:
    return [a["text"] for a in chart(at, "views.grid")["layout"]["annotations"]]


def table(at: AppTest) -> list[dict]:
    df = at.dataframe[0].value
    return df.astype(object).where(df.notna(), None).to_dict("records")  # NaN == NaN is False


def test_page_renders_with_defaults():
    at = open_views()
    assert at.selectbox(key=Keys.VIEWS_DATASET).options == ["shapes", "digits"]
    assert any("wine" in i.value and "feature tables" in i.value for i in at.info)
    n, per = DEFAULTS[Keys.VIEWS_COUNT], DEFAULTS[Keys.VIEWS_PER_IMAGE]
    assert len(tiles(at)) == n * (1 + per)
    assert len(table(at)) == n * per


@pytest.mark.parametrize(("count", "per"), [(1, 2), (3, 4)])
def test_tiles_and_captions_follow_the_controls_and_params(count, per):
    at = open_views()
    at.slider(key=Keys.VIEWS_COUNT).set_value(count).run()
    at.slider(key=Keys.VIEWS_PER_IMAGE).set_value(per).run()
    ok(at)
    assert at.slider(key=Keys.VIEWS_COUNT).value == count
    assert at.slider(key=Keys.VIEWS_PER_IMAGE).value == per
    texts, rows = tiles(at), table(at)
    assert len(texts) == count * (1 + per) and len(rows) == count * per
    for i in range(count):
        label, *captions = texts[i * (1 + per) : (i + 1) * (1 + per)]
        assert label in SHAPES
        for j, caption in enumerate(captions):
            row = rows[j * count + i]  # row j·N + i is view j of image i
            assert (row["image"], row["view"]) == (rows[i]["image"], j + 1)
            words = caption.replace("<br>", " · ").split(" · ")
            share = row["height"] * row["width"] / 32**2
            assert words[0] == f"{share:.0%}"
            assert ("flip" in words) == row["flip"]
            assert ("jitter" in words) == row["jitter"]
            assert ("gray" in words) == row["grayscale"]
            assert any(w.startswith("σ=") for w in words) == (row["blur σ"] > 0)


def test_seed_changes_params_and_replays():
    at = open_views()
    first = table(at)
    at.number_input(key=Keys.VIEWS_SEED).set_value(7).run()
    ok(at)
    assert table(at) != first
    at.number_input(key=Keys.VIEWS_SEED).set_value(0).run()
    assert table(at) == first  # same seed, same params
    image = chart(at, "views.grid")["data"][0]["source"]
    at.button(key=Keys.VIEWS_REGENERATE).click().run()
    ok(at)
    assert at.number_input(key=Keys.VIEWS_SEED).value == 1
    assert table(at) != first
    assert chart(at, "views.grid")["data"][0]["source"] != image


def test_preset_switch_sets_sliders_and_a_moved_slider_makes_it_custom():
    at = open_views()
    simclr, byol = preset_values("SimCLR"), preset_values("BYOL")
    assert at.slider(key=Keys.VIEWS_BRIGHTNESS).value == simclr[Keys.VIEWS_BRIGHTNESS] == 0.8
    at.selectbox(key=Keys.VIEWS_PRESET).set_value("BYOL").run()
    ok(at)
    for key in (Keys.VIEWS_BRIGHTNESS, Keys.VIEWS_SATURATION, Keys.VIEWS_HUE, Keys.VIEWS_BLUR_P):
        assert at.slider(key=key).value == byol[key], key
    assert at.slider(key=Keys.VIEWS_SATURATION).value == 0.2
    assert at.slider(key=Keys.VIEWS_BLUR_P).value == 1.0
    # BYOL's view 1 always blurs (p 1.0), view 2 with p 0.1; only view 2 may solarize.
    at.slider(key=Keys.VIEWS_COUNT).set_value(16).run()
    rows = table(at)
    assert all(r["blur σ"] > 0 for r in rows if r["view"] == 1)
    assert not any(r["solarize"] for r in rows if r["view"] == 1)
    assert any(r["blur σ"] == 0 for r in rows if r["view"] == 2)

    at.slider(key=Keys.VIEWS_HUE).set_value(0.3).run()
    ok(at)
    assert at.selectbox(key=Keys.VIEWS_PRESET).value == "custom"
    assert at.slider(key=Keys.VIEWS_HUE).value == 0.3
    at.selectbox(key=Keys.VIEWS_PRESET).set_value("SimCLR").run()
    assert at.slider(key=Keys.VIEWS_HUE).value == simclr[Keys.VIEWS_HUE] == 0.2


@pytest.mark.parametrize(
    ("steps", "needle"),
    [
        ([(Keys.VIEWS_SCALE_MIN, 0.9), (Keys.VIEWS_SCALE_MAX, 0.5)], "scale"),
        ([(Keys.VIEWS_BLUR_KERNEL, 4)], "odd"),
        ([(Keys.VIEWS_SIZE, 16), (Keys.VIEWS_BLUR_KERNEL, 41)], "41 taps"),
    ],
)
def test_invalid_recipe_shows_error_and_app_recovers(steps, needle):
    at = open_views()
    widgets = {
        Keys.VIEWS_SCALE_MIN: at.slider,
        Keys.VIEWS_SCALE_MAX: at.slider,
        Keys.VIEWS_BLUR_KERNEL: at.number_input,
        Keys.VIEWS_SIZE: at.select_slider,
    }
    for key, value in steps:
        widgets[key](key=key).set_value(value).run()
        assert widgets[key](key=key).value == value
    assert not at.exception, at.exception
    assert at.error and needle in at.error[0].value
    assert not [c for c in at.get("plotly_chart") if "views.grid" in c.proto.id]
    at.selectbox(key=Keys.VIEWS_PRESET).set_value("BYOL").run()  # a preset is a valid recipe
    ok(at)
    assert len(tiles(at)) == DEFAULTS[Keys.VIEWS_COUNT] * 3


def test_digits_are_gray_and_labelled():
    at = open_views()
    at.selectbox(key=Keys.VIEWS_DATASET).set_value("digits").run()
    ok(at)
    per = 1 + DEFAULTS[Keys.VIEWS_PER_IMAGE]
    labels = tiles(at)[::per]
    assert labels and set(labels) <= {str(d) for d in range(10)}


def test_timing_button_shows_three_contenders():
    at = open_views()
    at.select_slider(key=Keys.VIEWS_TIME_BATCH).set_value(16).run()
    assert at.select_slider(key=Keys.VIEWS_TIME_BATCH).value == 16
    assert not [c for c in at.get("plotly_chart") if "views.timing" in c.proto.id]
    at.button(key=Keys.VIEWS_TIME).click().run()
    ok(at)
    bars = chart(at, "views.timing")["data"][0]
    assert bars["y"] == ["sslcore", "PyTorch", "kornia"]
    assert all(v > 0 for v in bars["x"])
    assert any("views/s" in m.value and "×" in m.value for m in at.markdown)
    notes = [c.value for c in at.caption]
    assert any(n.startswith("PyTorch: ") for n in notes)
    # A new recipe marks the timing as stale; the chart stays until it is timed again.
    at.slider(key=Keys.VIEWS_FLIP_P).set_value(0.0).run()
    assert any("earlier recipe" in c.value for c in at.caption)


def test_recipe_sliders_reach_the_views():
    at = open_views()
    at.slider(key=Keys.VIEWS_COUNT).set_value(8).run()
    for key, value in [
        (Keys.VIEWS_FLIP_P, 0.0),
        (Keys.VIEWS_GRAYSCALE_P, 1.0),
        (Keys.VIEWS_BLUR_P, 0.0),
        (Keys.VIEWS_JITTER_P, 1.0),
    ]:
        at.slider(key=key).set_value(value).run()
        assert at.slider(key=key).value == value
    ok(at)
    rows = table(at)
    assert len(rows) == 16
    assert not any(r["flip"] for r in rows) and all(r["grayscale"] for r in rows)
    assert all(r["blur σ"] == 0 for r in rows) and all(r["jitter"] for r in rows)
    at.slider(key=Keys.VIEWS_SCALE_MIN).set_value(1.0).run()
    at.select_slider(key=Keys.VIEWS_SIZE).set_value(16).run()
    assert all((r["height"], r["width"]) == (32, 32) for r in table(at))  # the whole image
    assert all(c.startswith("100%") for c in tiles(at)[1::3])
