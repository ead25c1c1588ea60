r"""Text from the data (class names, file names) made safe for the HTML context it goes into.

Class names come from someone else's dataset (an ``.npz``'s ``class_names``, image-folder
subfolders, CIFAR meta), so a name such as ``</script><script>alert(1)</script>`` must reach the
page as text, never as markup. Each context has its own rule; these helpers are the only place
that knows them:

- inside a ``<script>`` element: JSON with ``<``, ``>``, ``&``, U+2028 and U+2029 written as
  JSON escapes such as ``\u003c`` (``script_json``), so ``</script>`` and ``<!--`` cannot end
  or bend the block and the value parses back exactly;
- in plotly text (legend names, annotations, hover labels), which plotly.js renders as a small
  subset of HTML and whose entities it decodes: ``&``, ``<``, ``>`` as entities (``plotly_text``);
- in the DOM built by a script: ``textContent``, never ``innerHTML`` (see ``viz_embeddings``).
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["markdown_text", "plotly_text", "script_json"]

# What must not appear raw in a <script> element: `<` and `>` (</script>, <!--, -->), `&` (for
# XHTML parsers), and the two line separators that older JavaScript parsers end a string at.
_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def script_json(value: Any) -> str:
    """`value` as JSON that is safe inside ``<script>…</script>`` and parses back to `value`.

    The escapes are JSON string escapes, so ``json.loads`` (or the browser) reads the exact
    original text; outside strings these characters never occur in JSON.
    """
    return json.dumps(value, allow_nan=False).translate(_SCRIPT_ESCAPES)


def plotly_text(text: Any) -> str:
    """`text` shown literally by plotly.js (which reads ``<b>``, ``<a href>``… as markup)."""
    return html.escape(str(text), quote=False)  # &, <, > as entities


# Markdown reads punctuation as syntax (links, images, emphasis, code, HTML, entities, Streamlit's
# :colour[] and $LaTeX$); a backslash before each one makes it literal (CommonMark: any ASCII
# punctuation). Text placed inside a line needs no escape of the line-start markers # + - 1.
_MARKDOWN_ESCAPES = {ord(c): "\\" + c for c in "\\`*_{}[]()<>!|~:$&"}


def markdown_text(text: Any, limit: int | None = None) -> str:
    """`text` shown literally inside a line of Markdown (Streamlit's markdown, captions, toasts).

    Args:
        text: the text, e.g. a class name or a URL parameter someone else wrote.
        limit: at most this many characters of it are kept (an ellipsis marks the cut).
    """
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return text.replace("\n", " ").translate(_MARKDOWN_ESCAPES)
