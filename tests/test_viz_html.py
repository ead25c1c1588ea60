"""Text from the data in HTML: JSON safe inside <script>, plotly text shown literally."""

import json

import pytest

from sslcore.viz_html import plotly_text, script_json

HOSTILE = [
    "</script><script>alert(1)</script><img src=x onerror=alert(2)>",
    "<!--<script>",
    "a & b > c",
    "line\u2028separator\u2029paragraph",
    "quote \" ' \\ backslash",
    "</SCRIPT >",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_script_json_never_holds_markup_and_parses_back_exactly(name):
    value = {"names": [name], "n": 3}
    text = script_json(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text
    assert json.loads(text) == value


def test_script_json_refuses_nan_rather_than_writing_invalid_json():
    with pytest.raises(ValueError):
        script_json({"x": float("nan")})


def test_plotly_text_escapes_markup_and_keeps_plain_text():
    assert plotly_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert plotly_text("cat · 90°") == "cat · 90°"
    assert plotly_text(3) == "3"


def test_markdown_text_makes_links_images_and_directives_literal():
    from sslcore.viz_html import markdown_text

    text = markdown_text("![x](http://evil/p.png) :red[hi] $x$ <b>*a*</b> `c`")
    for syntax in ("![", "](", ":red[", "$x$", "<b>", "*a*", "`c`"):
        assert syntax not in text
    assert text.replace("\\", "") == "![x](http://evil/p.png) :red[hi] $x$ <b>*a*</b> `c`"
    assert markdown_text("a\nb # c - d.") == "a b # c - d."
    assert markdown_text("abcdef", limit=3) == "abc…"
