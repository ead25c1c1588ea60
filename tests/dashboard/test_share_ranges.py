"""A shared URL never crashes a page: every key's hostile values fall back with a notice.

The values are generated from the share module's own key table (`share.SHARED`): out of the
widget's range, outside its choices, of the wrong type, NaN, infinite, huge, empty, too long.
Each page is opened through AppTest with one bad value for every one of its keys at once, a few
times over; each key must end where the page puts it when opened without a URL, and be named
in a notice.
"""

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import share
from dashboard.share import MAX_RAW, SHARED, Limit

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
FILES = {
    "data": "data_explorer",
    "views": "views",
    "pseudolabels": "pseudolabels",
    "train": "train",
    "gradient-descent": "gradient_descent",
    "embeddings": "embeddings",
    "theory": "theory",
    "loss-kernel": "loss_kernel",
}
PAGE_BOUNDED = {"gd.t"}  # its slider ends at the steps run; the page clamps the value to them
HOSTILE_TEXT = "</script><script>alert(1)</script>[x](javascript:alert(2))"


def open_page(page: str, params: dict[str, str] | None = None) -> AppTest:
    """The app switched to `page` with the URL parameters `params` (none: the page's defaults)."""
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page(f"app_pages/{FILES[page]}.py")
    for name, value in (params or {}).items():
        at.query_params[name] = value
    return at.run()


def _numbers(limit: Limit, kind: type) -> list[str]:
    """Numbers just and far outside `limit`'s range or choices."""
    options = limit.options()
    numeric = [v for v in options or [] if isinstance(v, (int, float))]
    low = min(numeric) if numeric else limit.low
    high = max(numeric) if numeric else limit.high
    values = []
    if options is not None:  # between two choices, and past both ends
        values += [str(kind((numeric[0] + numeric[1]) / 2))] if len(numeric) > 1 else []
    if low is not None:
        values += [str(kind(low - 1)), "-5" if low > -5 else str(kind(low) - 10**12)]
        values += [repr(math.nextafter(low, -math.inf))] if kind is float else []
    if high is not None:
        values += [str(kind(high + 1)), "1e308" if kind is float else str(10**12)]
        values += [repr(math.nextafter(high, math.inf))] if kind is float else []
    return values


def bad_values(key: str) -> list[str]:
    """URL values that `key`'s widget cannot show, from the key table and the key's type."""
    limit, kind = share.LIMITS[key], share._kind(key)
    values = ["", "x" * (MAX_RAW + 1)]
    if kind is bool:
        return values + ["yes", "1", HOSTILE_TEXT]
    if kind is list:
        return values + ["no-such-run,another", HOSTILE_TEXT]
    if kind in (int, float):
        values += ["nan", "-inf", HOSTILE_TEXT]
        values += ["1e9", "2.5", "0x10"] if kind is int else []
        return values + _numbers(limit, kind)
    return values + ["no-such-choice", HOSTILE_TEXT]


def _rounds(page: str) -> list[dict[str, str]]:
    """URLs for `page` that together give each of its keys every one of its bad values."""
    values = {share._name(key): bad_values(key) for key in SHARED[page]}
    count = max(len(v) for v in values.values())
    return [{name: v[i % len(v)] for name, v in values.items()} for i in range(count)]


def test_every_key_has_bad_values_that_its_limit_or_type_refuses():
    for page in SHARED:
        for key in SHARED[page]:
            refused = [v for v in bad_values(key) if _refused(key, v)]
            assert refused, key  # at least the type and length checks apply to every key


def _refused(key: str, raw: str) -> bool:
    try:
        share._parse(key, raw)
    except ValueError:
        return True
    return False


def test_the_issue_s_examples_are_refused_by_the_key_table():
    examples = {
        "loss.n": "100000",
        "loss.d": "-5",
        "loss.alignment": "1e308",
        "views.count": "1000000",
        "views.scale_min": "-1",
        "pseudo.batch": "1e9",
        "gd.steps": "-5",
        "data.n": "1e12",
        "data.grid_count": "100000",
        "data.source_fraction": "5",
    }
    for key, raw in examples.items():
        with pytest.raises(ValueError, match="expected"):
            share._parse(key, raw)
    assert share._parse("loss.n", "64") == 64 and share._parse("data.source_fraction", "0.9") == 0.9


@pytest.mark.parametrize("page", list(SHARED))
def test_bad_values_of_every_key_fall_back_to_the_default_with_a_notice(page, trained_store):
    """With a run in the store, so that the run pickers and everything after them are drawn.

    One session per page: each round pastes the next URL into it (as a shared link opened in
    the tab), after which every key must again hold what the page shows by default.
    """
    at = open_page(page)
    assert not at.exception, at.exception
    expected = {key: at.session_state[key] for key in SHARED[page]}
    _widgets_follow_the_table(at, page)
    for params in _rounds(page):
        at.query_params.clear()
        for name, value in params.items():
            at.query_params[name] = value
        at.run()
        assert not at.exception, (params, at.exception)
        notices = " ".join(t.value for t in at.toast)
        for key in SHARED[page]:
            name = share._name(key)
            assert at.session_state[key] == expected[key], (name, params[name])
            assert f"{name}=" in notices, (name, params[name], notices)
        assert "<script>" not in notices and "](javascript" not in notices  # escaped Markdown


def _widgets_follow_the_table(at: AppTest, page: str) -> None:
    """The drawn sliders and number inputs of `page` have exactly the table's bounds."""
    for widget in [*at.slider, *at.number_input]:
        if widget.key in SHARED[page] and widget.key not in PAGE_BOUNDED:
            low, high = share.bounds(widget.key)
            assert low is None or widget.min == low, widget.key
            assert high is None or widget.max == high, widget.key


def test_the_issue_s_urls_open_their_pages_without_an_exception():
    urls = {
        "loss-kernel": {"n": "100000", "d": "-5", "alignment": "1e308"},
        "views": {"count": "1000000", "scale_min": "-1"},
        "pseudolabels": {"batch": "1000000000"},
        "gradient-descent": {"steps": "-5", "lr": "1e308"},
        "data": {"n": "1000000000000", "grid_count": "100000", "source_fraction": "5"},
    }
    for page, params in urls.items():
        at = open_page(page, params)
        assert not at.exception, (page, at.exception)
        notices = " ".join(t.value for t in at.toast)
        assert all(f"ignored {name}=" in notices for name in params), notices
