"""One self-contained HTML report of a pretraining run: config, curves, pseudolabels, embeddings.

Everything is inlined (plotly.js once, images as data URIs), so the file opens offline and can be
archived or mailed. A section that fails (a corrupt checkpoint, say) becomes a note naming the
error; only a missing run or an unreadable config stops the report.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import torch

import sslcore
from sslcore import viz_pretext, viz_pretext_vectors
from sslcore.config import PretrainConfig
from sslcore.data import load_dataset
from sslcore.eval.embeddings import collapse_metrics, project, run_features
from sslcore.jobs import run_state
from sslcore.pretext import make_task
from sslcore.runs import Run, atomic_write_text
from sslcore.viz_embeddings import embedding_scatter, metrics_rows
from sslcore.viz_runs import accuracy_figure, label_efficiency_figure, loss_figure
from sslcore.viz_transfer import relation_figure

__all__ = ["build_report", "write_report"]

GALLERY_SAMPLES = 4  # raw samples in the pseudolabel gallery
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
nav a { margin-right: 1em; }
section { margin-top: 2.5em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.note { padding: 0.5em 1em; background: #f4f6fa; border-left: 4px solid #8aa; }
.error { background: #fdf0f0; border-left-color: #c33; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
"""


def _esc(value: Any) -> str:
    """`value` as text safe inside HTML elements and quoted attributes."""
    return html.escape(_text(value), quote=True)


def _text(value: Any) -> str:
    """A cell's text: floats to 6 significant digits, containers as JSON, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _note(text: str, error: bool = False) -> str:
    """A visible remark in place of a section's content (`text` is HTML, escaped by the caller)."""
    return f'<p class="note{" error" if error else ""}">{text}</p>'


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    """An HTML table of `rows`, one column per key in order of first appearance."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(values: Mapping[str, Any], key: str = "field") -> str:
    """A two-column table of a mapping's keys and values."""
    return _table([{key: k, "value": v} for k, v in values.items()])


class _Figures:
    """Figures as HTML fragments; plotly.js is inlined with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, fig: go.Figure, static: bool = False) -> str:
        # A fixed div id (not plotly's random uuid) keeps the report deterministic.
        fragment = fig.to_html(
            full_html=False,
            include_plotlyjs=self.count == 0,
            div_id=f"figure-{self.count}",
            config={"displaylogo": False, "staticPlot": static},
        )
        self.count += 1
        return fragment


def _section(title: str, body: Callable[[], str], figures: _Figures) -> tuple[str, str]:
    """(title, HTML) of one section; an exception in `body` becomes a note naming it."""
    first = figures.count
    try:
        content = body()
    except Exception as error:  # one broken part must not sink the whole report
        figures.count = first  # its figures are dropped, and plotly.js with them if it was there
        content = _note(f"This section failed: {_esc(type(error).__name__)}: {_esc(error)}", True)
    return title, content


def _curves(run: Run, figures: _Figures) -> str:
    """L_pre and the online probe/kNN accuracies against the step."""
    metrics = run.metrics()
    if not metrics:
        return _note("No metrics yet: the run has not logged a step.")
    return figures(loss_figure(metrics)) + figures(accuracy_figure(metrics))


def _gallery(config: PretrainConfig, figures: _Figures) -> str:
    """A few raw samples and the task's x̃ with z written on them, seeded by the run's seed."""
    data = load_dataset(config.data, **config.data_options)
    with torch.random.fork_rng(devices=[]):  # a task may draw from the global generator
        task = make_task(config.task, data.sample_shape, **config.task_options)
        pick = torch.Generator().manual_seed(config.seed)
        idx = torch.randperm(len(data), generator=pick)[:GALLERY_SAMPLES]
        x = data.x[idx]  # (B, C, H, W) uint8 or (B, D) float32
        batch = task.make_batch(x, torch.Generator().manual_seed(config.seed))
    if data.modality == "image":
        labels = [data.class_names[int(data.y[i])] for i in idx]
        rows = viz_pretext.gallery_rows(task, x, batch, labels=labels)
        caption = "Left: the raw x with its class (never shown to the task). Right: x̃, z under it."
        return figures(viz_pretext.gallery_figure(rows), static=True) + f"<p>{_esc(caption)}</p>"
    gallery = viz_pretext_vectors.vector_gallery(task, x, batch)
    caption = "Each sample's row x and its x̃; × marks the entries that differ from x."
    fig = viz_pretext_vectors.vector_figure(gallery, data.feature_names)
    return figures(fig) + f"<p>{_esc(caption)}</p>"


def _label_efficiency(run: Run, figures: _Figures) -> str:
    """Target-test accuracy against the share of labels, from the stored sweep (adapt.json)."""
    records = run.adapt_records()
    if not records:
        return _note(f"No adaptation yet: <code>sslcore sweep {_esc(run.id)}</code>")
    return figures(label_efficiency_figure(records))


def _embeddings(run: Run, max_points: int, figures: _Figures) -> str:
    """PCA maps of h_θ on the target test set at step 0 and the last checkpoint, with metrics."""
    checkpoints = run.checkpoints()
    if not checkpoints:
        return _note("No checkpoints yet: nothing to embed.")
    maps, by_step = [], {}
    for step in (0, checkpoints[-1][0]):
        features = run_features(run, "target_test", step, max_points)
        projection = project(features, "pca")
        title = "step 0 (seeded init)" if step == 0 else f"step {features.step} (last checkpoint)"
        fig = embedding_scatter(
            projection.points,
            features.labels,
            features.class_names,
            title,
            projection.explained_variance_ratio,
        )
        maps.append(f"<div>{figures(fig)}</div>")
        by_step[features.step] = collapse_metrics(features)
    rows = [r for r in metrics_rows(by_step) if any(v is not None for v in list(r.values())[1:])]
    return f'<div class="pair">{"".join(maps)}</div>' + _table(rows)


def _transfer(run: Run, figures: _Figures) -> str:
    """The stored L_pre vs L*_adapt table (transfer.json); never computed here, it is slow."""
    rows = run.transfer_rows()
    if not rows:
        return _note(f"No transfer table stored: run <code>sslcore transfer {_esc(run.id)}</code>")
    return _table(rows) + figures(relation_figure({run.id: rows}))


def _load_benchmark(path: str | Path) -> dict[str, Any]:
    """A benchmark JSON ``{"benchmark", "meta", "records": [...]}``; ValueError naming the file."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"benchmark: cannot read {path} as JSON ({error})") from None
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError(f"benchmark: {path} has no 'records' list of objects")
    if not isinstance(payload.get("meta", {}), dict):
        raise ValueError(f"benchmark: {path} has a 'meta' that is not an object")
    return payload


def _benchmark(payload: Mapping[str, Any]) -> str:
    """Its records (and any other list of rows, e.g. ratios), then its metadata."""
    parts = [_table(payload["records"]) if payload["records"] else _note("No records.")]
    for key, value in payload.items():
        if key not in ("benchmark", "meta", "records") and isinstance(value, list) and value:
            if all(isinstance(row, dict) for row in value):
                parts.append(f"<h3>{_esc(key)}</h3>" + _table(value))
    if payload.get("meta"):
        parts.append("<h3>meta</h3>" + _pairs(payload["meta"], "key"))
    return "".join(parts)


def build_report(
    run: Run,
    *,
    include_embeddings: bool = True,
    include_transfer: bool = True,
    benchmark: str | Path | None = None,
    max_points: int = 2000,
) -> str:
    """One self-contained HTML document about `run` (plotly.js and images inlined).

    Args:
        run: a run of the run store.
        include_embeddings: add PCA maps of h_θ at step 0 and the last checkpoint (rebuilds the
            data and encoder: seconds).
        include_transfer: add the stored transfer table (``sslcore transfer`` writes it).
        benchmark: a benchmark JSON (``python -m benchmarks.bench_info_nce --json``) to tabulate.
        max_points: at most this many target-test samples per embedding map.

    Raises:
        DataError: the run is missing or its config.json is unreadable.
        ValueError: `benchmark` is missing or not a benchmark JSON; `max_points` < 2.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise ValueError(f"max_points: expected an integer >= 2, got {max_points!r}")
    config = run.config  # raises for a missing run or config: the caller reports it
    payload = _load_benchmark(benchmark) if benchmark is not None else None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    header = {"run": run.id, "task": config.task, "dataset": config.data}
    header |= {"state": run_state(run), "sslcore": sslcore.__version__, "generated": now}
    figures = _Figures()
    sections = [
        ("Config", _pairs(config.to_dict())),
        _section("Training curves", partial(_curves, run, figures), figures),
        _section("Pseudolabels", partial(_gallery, config, figures), figures),
        _section("Label efficiency", partial(_label_efficiency, run, figures), figures),
    ]
    if include_embeddings:
        body = partial(_embeddings, run, max_points, figures)
        sections.append(_section("Embeddings", body, figures))
    if include_transfer:
        sections.append(_section("Transfer", partial(_transfer, run, figures), figures))
    if payload is not None:
        title = f"Kernel benchmark: {payload.get('benchmark', Path(benchmark).name)}"
        sections.append(_section(title, partial(_benchmark, payload), figures))
    nav = "".join(f'<a href="#s{i}">{_esc(t)}</a>' for i, (t, _) in enumerate(sections))
    body_html = "\n".join(
        f'<section id="s{i}"><h2>{_esc(t)}</h2>\n{content}</section>'
        for i, (t, content) in enumerate(sections)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>sslcore report: {_esc(run.id)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>Pretraining run {_esc(run.id)}</h1>\n{_pairs(header, 'key')}\n"
        f"<nav>{nav}</nav>\n"
        f"{body_html}\n</body>\n</html>\n"
    )


def write_report(run: Run, path: str | Path, **kw: Any) -> int:
    """Writes `build_report(run, **kw)` to `path` atomically; returns its size in bytes."""
    path = Path(path)
    atomic_write_text(path, build_report(run, **kw))
    return path.stat().st_size
