"""Shared URLs: a page's settings go into st.query_params, and a URL reopens the same view."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.share import SHARED
from dashboard.state import DEFAULTS

ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


class _DataPage:
    """AppTest of the app opened on its Data page with the URL parameters `params`."""

    def __init__(self, **params: str) -> None:
        self.at = AppTest.from_file(str(ENTRY), default_timeout=90)
        self.params = params

    def run(self) -> AppTest:
        self.at.run()
        self.at.switch_page("app_pages/data_explorer.py")
        for k, v in self.params.items():
            self.at.query_params[k] = v
        return self.at.run()


def app(**params: str) -> AppTest:
    return _DataPage(**params).run()


def published(at: AppTest) -> dict[str, str]:
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_the_first_page_writes_its_settings_into_the_url():
    at = app()
    assert not at.exception
    url = published(at)
    assert url["dataset"] == DEFAULTS["data.dataset"] and url["n"] == str(DEFAULTS["data.n"])
    names = {k.split(".", 1)[1] for k in SHARED["data"]}
    assert set(url) <= names and len(url) >= len(names) - 1  # every setting the page has


def test_a_shared_url_reopens_the_same_view():
    at = app(dataset="digits", seed="3", grid_count="12")
    assert not at.exception and not at.toast
    assert at.session_state["data.dataset"] == "digits" and at.session_state["data.seed"] == 3
    assert published(at)["grid_count"] == "12"


def test_malformed_and_unknown_parameters_fall_back_with_a_notice():
    at = app(n="many", bogus="1", seed="5")
    assert not at.exception
    notices = " ".join(t.value for t in at.toast)
    assert "n='many'" in notices and "'bogus'" in notices
    assert at.session_state["data.n"] == DEFAULTS["data.n"] and at.session_state["data.seed"] == 5
    assert "bogus" not in published(at)


def test_a_value_the_page_cannot_show_is_named():
    at = app(dataset="no-such-dataset")
    assert not at.exception
    assert any("dataset='no-such-dataset'" in t.value for t in at.toast)
    assert at.session_state["data.dataset"] == DEFAULTS["data.dataset"]


def test_a_widget_change_is_not_undone_by_the_url_and_lands_in_it():
    at = app(seed="5")
    at.number_input(key="data.seed").set_value(9).run()
    assert at.session_state["data.seed"] == 9 and published(at)["seed"] == "9"


def test_gradient_descent_keeps_a_shared_start_point():
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page("app_pages/gradient_descent.py")
    for k, v in {"problem": "quadratic", "lr": "0.5", "start_x": "1.5", "start_y": "-1"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert at.session_state["gd.start_x"] == 1.5 and at.session_state["gd.start_y"] == -1.0
    assert at.session_state["gd.lr"] == 0.5 and published(at)["problem"] == "quadratic"


def test_a_shared_problem_without_a_start_point_starts_from_its_default():
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page("app_pages/gradient_descent.py")
    at.query_params["problem"] = "quadratic"
    at.run()
    assert (at.session_state["gd.start_x"], at.session_state["gd.start_y"]) == (-2.5, 2.0)


def test_a_train_url_sets_the_encoder_protocol_and_time_budget():
    at = AppTest.from_file(str(ENTRY), default_timeout=90)
    at.run()
    at.switch_page("app_pages/train.py")
    for k, v in {"encoder": "mlp", "protocol": "transfer", "minutes": "2.5"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception and not at.toast
    assert at.session_state["train.encoder"] == "mlp"
    assert at.session_state["train.protocol"] == "transfer"
    assert at.session_state["train.minutes"] == 2.5
    assert published(at)["minutes"] == "2.5" and published(at)["encoder"] == "mlp"


def test_a_train_url_outside_the_config_s_values_is_refused():
    from dashboard import share

    for key, raw in [
        ("train.encoder", "vgg"),
        ("train.protocol", "cross_domain"),
        ("train.minutes", "-1"),
        ("train.minutes", "10081"),
    ]:
        with pytest.raises(ValueError, match="expected"):
            share._parse(key, raw)
    assert share._parse("train.minutes", "0") == 0.0  # no time budget
    assert share.bounds("train.minutes") == (0.0, 7 * 24 * 60)  # PretrainConfig's week
