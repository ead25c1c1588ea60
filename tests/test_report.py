"""The HTML run report: self-contained, escaped, deterministic, and robust to broken sections."""

from __future__ import annotations

import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from plotly.offline import get_plotlyjs

import sslcore
from sslcore import report
from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.runs import Run, RunStore
from sslcore.train.pretrain import pretrain

TINY = dict(
    task="rotation",
    data="shapes",
    data_options={"n": 200},
    steps=4,
    batch_size=8,
    width=4,
    eval_every=2,
    checkpoint_every=2,
)
PLOTLYJS = get_plotlyjs()  # the exact bundle the report must inline, once
GENERATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
PAYLOAD = "<script>alert('x&y')</script>"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
    yield pretrain(PretrainConfig(**TINY), store=RunStore(root), progress=False)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_html(tiny_run: Run) -> str:
    return report.build_report(tiny_run)


@pytest.fixture
def fresh_run(tmp_path: Path) -> Run:
    """A run that was created but never trained: no metrics, no checkpoints."""
    return RunStore(tmp_path / "fresh").create(PretrainConfig(**TINY))


class _Resources(HTMLParser):
    """Every src/href attribute of the document's tags (script text is not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [(tag, v or "") for k, v in attrs if k in ("src", "href")]


def sections(text: str) -> dict[str, str]:
    """Section title -> its HTML."""
    found = re.findall(r'<section id="s\d+"><h2>(.*?)</h2>(.*?)</section>', text, re.S)
    return {html.unescape(title): body for title, body in found}


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for item in value for s in _strings(item)] if isinstance(value, list) else []


def figure_strings(text: str) -> list[str]:
    """Every string in the data and layout of the figures in `text`, decoded from their JSON
    (plotly 7 writes non-ASCII as \\u escapes, plotly 6 as UTF-8)."""
    decoder, found = json.JSONDecoder(), []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]*",\s*', text):
        data, end = decoder.raw_decode(text, call.end())
        layout, _ = decoder.raw_decode(text, end + re.match(r",\s*", text[end:]).end())
        found += _strings([data, layout])
    return found


def shows(text: str, wanted: str) -> bool:
    """Whether some figure in `text` holds `wanted` in one of its strings."""
    return any(wanted in s for s in figure_strings(text))


def figure_count(text: str) -> int:
    calls = text.count("Plotly.newPlot(")
    assert calls == text.count('class="plotly-graph-div"')
    return calls


def test_report_is_self_contained_with_plotlyjs_inlined_once(tiny_html):
    assert tiny_html.startswith("<!DOCTYPE html>") and tiny_html.rstrip().endswith("</html>")
    assert tiny_html.count(PLOTLYJS) == 1
    assert tiny_html.index(PLOTLYJS) < tiny_html.index("Plotly.newPlot(")
    # Two curves, the pseudolabel gallery, the two embedding maps.
    assert figure_count(tiny_html) == 5
    assert "<script src" not in tiny_html.lower()
    parser = _Resources()
    parser.feed(tiny_html)
    remote = [(t, u) for t, u in parser.urls if re.match(r"\s*(https?:)?//", u, re.I)]
    assert remote == []
    assert all(u.startswith("#s") for _, u in parser.urls)  # only the section links
    # The gallery's picture is a data URI, never a file or a URL.
    sources = [json.loads(f'"{s}"') for s in re.findall(r'"source":"([^"]*)"', tiny_html)]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_report_has_header_config_and_every_section(tiny_run, tiny_html):
    assert f"<h1>Pretraining run {tiny_run.id}</h1>" in tiny_html
    assert f"<title>sslcore report: {tiny_run.id}</title>" in tiny_html
    for key, value in [
        ("task", "rotation"),
        ("dataset", "shapes"),
        ("state", "done"),
        ("sslcore", sslcore.__version__),
    ]:
        assert f"<td>{key}</td><td>{value}</td>" in tiny_html
    assert re.search(r"<td>generated</td><td>" + GENERATED.pattern + "</td>", tiny_html)
    by_title = sections(tiny_html)
    assert list(by_title) == [
        "Config",
        "Training curves",
        "Pseudolabels",
        "Label efficiency",
        "Embeddings",
        "Transfer",
    ]
    config = by_title["Config"]
    for key, value in tiny_run.config.to_dict().items():
        cell = "–" if value is None else html.escape(report._text(value))
        assert f"<td>{key}</td><td>{cell}</td>" in config
    assert "<td>batch_size</td><td>8</td>" in config
    assert "<td>data_options</td><td>{&quot;n&quot;: 200}</td>" in config
    assert 'class="note error"' not in "".join(by_title.values())  # nothing failed
    assert figure_count(by_title["Training curves"]) == 2
    assert figure_count(by_title["Pseudolabels"]) == 1 and shows(by_title["Pseudolabels"], "z: 90°")
    embeddings = by_title["Embeddings"]
    assert "step 0 (seeded init)" in embeddings and "step 4 (last checkpoint)" in embeddings
    assert "<th>step 0</th><th>step 4</th>" in embeddings
    assert "effective rank" in embeddings and "weighted kNN" not in embeddings  # not computed
    assert f"<code>sslcore sweep {tiny_run.id}</code>" in by_title["Label efficiency"]
    assert f"<code>sslcore transfer {tiny_run.id}</code>" in by_title["Transfer"]


def test_report_is_deterministic_but_for_the_time(tiny_run, tiny_html):
    torch.manual_seed(12345)  # the report draws only from its own seeded generators
    before = torch.get_rng_state()
    again = report.build_report(tiny_run)
    assert torch.equal(torch.get_rng_state(), before)  # and leaves the global one alone
    assert GENERATED.sub("T", again) == GENERATED.sub("T", tiny_html)


def test_text_is_escaped(tmp_path):
    config = PretrainConfig(**{**TINY, "task_options": {PAYLOAD: 1}})
    created = RunStore(tmp_path).create(config)
    odd = tmp_path / "odd<i>&run"
    created.path.rename(odd)
    text = report.build_report(Run(odd))
    assert PAYLOAD not in text and "odd<i>&run" not in text
    assert html.escape(json.dumps({PAYLOAD: 1})) in sections(text)["Config"]
    assert "<h1>Pretraining run odd&lt;i&gt;&amp;run</h1>" in text
    assert "<code>sslcore sweep odd&lt;i&gt;&amp;run</code>" in text
    # The task refuses the unknown option: the gallery's note names it, escaped too.
    gallery = sections(text)["Pseudolabels"]
    assert 'class="note error"' in gallery and "TypeError" in gallery
    assert html.escape(PAYLOAD) in gallery


def test_a_failing_section_is_a_note_and_the_rest_renders(tiny_run, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk <on> fire")

    monkeypatch.setattr(report, "run_features", broken)
    text = report.build_report(tiny_run)
    by_title = sections(text)
    assert 'class="note error"' in by_title["Embeddings"]
    assert "RuntimeError: disk &lt;on&gt; fire" in by_title["Embeddings"]
    assert figure_count(by_title["Embeddings"]) == 0
    assert figure_count(by_title["Training curves"]) == 2
    assert figure_count(by_title["Pseudolabels"]) == 1
    assert text.count(PLOTLYJS) == 1


def test_a_failed_first_figure_moves_plotlyjs_to_the_next(tiny_run, monkeypatch):
    # The loss curve (the first figure, carrying plotly.js) is drawn, then its section fails.
    monkeypatch.setattr(report, "accuracy_figure", lambda metrics: 1 / 0)
    text = report.build_report(tiny_run, include_embeddings=False)
    by_title = sections(text)
    assert "ZeroDivisionError" in by_title["Training curves"]
    assert figure_count(by_title["Training curves"]) == 0
    assert text.count(PLOTLYJS) == 1 and PLOTLYJS in by_title["Pseudolabels"]


def test_a_corrupt_checkpoint_is_a_note(tiny_run, tmp_path):
    copy = Run(shutil.copytree(tiny_run.path, tmp_path / tiny_run.id))
    copy.checkpoints()[-1][1].write_bytes(b"not a checkpoint")
    by_title = sections(report.build_report(copy))
    assert 'class="note error"' in by_title["Embeddings"] and "corrupt" in by_title["Embeddings"]
    assert figure_count(by_title["Training curves"]) == 2
    assert figure_count(by_title["Pseudolabels"]) == 1


def test_a_run_without_metrics_or_checkpoints_renders_with_notes(fresh_run):
    text = report.build_report(fresh_run)
    by_title = sections(text)
    assert "<td>state</td><td>created</td>" in text
    assert "No metrics yet" in by_title["Training curves"]
    assert "No checkpoints yet" in by_title["Embeddings"]
    assert "No adaptation yet" in by_title["Label efficiency"]
    assert "No transfer table stored" in by_title["Transfer"]
    assert 'class="note error"' not in "".join(by_title.values())
    assert figure_count(text) == 1 and text.count(PLOTLYJS) == 1  # the gallery only


def test_stored_adaptation_and_transfer_are_shown(fresh_run):
    records = [
        {"mode": mode, "label_fraction": f, "accuracy": a}
        for mode, f, a in [("linear", 0.1, 0.4), ("linear", 1.0, 0.6), ("knn", 0.1, 0.3)]
    ]
    (fresh_run.path / "adapt.json").write_text(json.dumps(records))
    rows = [
        {"step": s, "task": "rotation", "pretext_loss": p, "adapt_train_loss": a, "accuracy": c}
        for s, p, a, c in [(2, 1.3, 1.9, 0.25), (4, 1.1, 1.7, 0.375)]
    ]
    fresh_run.write_transfer_rows(rows)
    by_title = sections(report.build_report(fresh_run))
    assert figure_count(by_title["Label efficiency"]) == 1
    assert shows(by_title["Label efficiency"], "linear probe (θ* frozen)")
    transfer = by_title["Transfer"]
    assert figure_count(transfer) == 1
    assert "<th>pretext_loss</th>" in transfer and "<td>0.375</td>" in transfer


def test_benchmark_records_and_meta_are_tabulated(fresh_run, tmp_path):
    payload = {
        "benchmark": "info_nce",
        "meta": {"threads": 1, "extension": {"openmp": True}},
        "records": [
            {"N": 256, "contender": "sslcore", "ms": 1.25},
            {"N": 256, "contender": "torch", "ms": 2.5, "error": None},
        ],
        "ratios": [{"N": 256, "speedup_vs_torch": 2.0}],
    }
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(payload))
    text = report.build_report(
        fresh_run, include_embeddings=False, include_transfer=False, benchmark=path
    )
    by_title = sections(text)
    assert "Embeddings" not in by_title and "Transfer" not in by_title
    bench = by_title["Kernel benchmark: info_nce"]
    assert "<th>N</th><th>contender</th><th>ms</th><th>error</th>" in bench
    assert "<td>256</td><td>torch</td><td>2.5</td><td>–</td>" in bench
    assert "<th>speedup_vs_torch</th>" in bench and "<td>2</td>" in bench
    assert "<td>threads</td><td>1</td>" in bench
    assert "<td>extension</td><td>{&quot;openmp&quot;: true}</td>" in bench


@pytest.mark.parametrize(
    "content", [None, "{not json", "[1, 2]", '{"meta": {}}', '{"records": [1]}', b"\xff\xfe"]
)
def test_a_bad_benchmark_file_raises_naming_it(fresh_run, tmp_path, content):
    path = tmp_path / "bench-broken.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ValueError, match=re.escape("bench-broken.json")):
        report.build_report(fresh_run, benchmark=path)


def test_a_missing_run_or_unreadable_config_raises(tmp_path, fresh_run):
    with pytest.raises(DataError, match="missing"):
        report.build_report(Run(tmp_path / "no-such-run"))
    (fresh_run.path / "config.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        report.build_report(fresh_run)


@pytest.mark.parametrize("max_points", [0, 1, True, 2.5])
def test_max_points_is_checked(fresh_run, max_points):
    with pytest.raises(ValueError, match="max_points"):
        report.build_report(fresh_run, max_points=max_points)


def test_write_report_is_atomic_and_returns_the_size(fresh_run, tmp_path, monkeypatch):
    written = []
    real = report.atomic_write_text
    monkeypatch.setattr(
        report, "atomic_write_text", lambda path, text: (written.append(path), real(path, text))
    )
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    size = report.write_report(fresh_run, out, include_transfer=False)
    assert written == [out]
    assert size == out.stat().st_size == len(out.read_bytes()) > len(PLOTLYJS)
    text = out.read_text(encoding="utf-8")
    assert text.count(PLOTLYJS) == 1 and "Transfer" not in sections(text)
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary left
    # A report that cannot be built leaves the previous file as it was.
    with pytest.raises(ValueError):
        report.write_report(fresh_run, out, benchmark=tmp_path / "missing.json")
    assert out.read_text(encoding="utf-8") == text


def test_a_hostile_dataset_s_class_names_stay_text_in_the_report(tmp_path):
    """Class names of someone else's .npz: plotly text in the figures, never a new element."""
    import numpy as np

    from sslcore.viz_html import plotly_text

    names = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>"]
    x = np.random.default_rng(0).integers(0, 256, size=(60, 3, 16, 16), dtype=np.uint8)
    np.savez(tmp_path / "hostile.npz", x=x, y=np.arange(60) % 2, class_names=np.array(names))
    config = PretrainConfig(**{**TINY, "data": str(tmp_path / "hostile.npz"), "data_options": {}})
    text = report.build_report(pretrain(config, store=RunStore(tmp_path / "runs"), progress=False))
    assert not any(name in text for name in names)
    ours = text.replace(PLOTLYJS, "")
    assert ours.count("<script") == figure_count(text) + 2  # plotly.js and its config, + figures
    assert "<img" not in ours
    for name in names:  # the pseudolabel gallery and the embedding maps name the classes
        assert shows(text, plotly_text(name))
        assert not shows(text, name)
