"""Loss kernel: the InfoNCE / NT-Xent loss on a batch small enough to see, then its cost at scale.

The top half makes two views' embeddings (random, or with each pair's views aligned), computes
the loss with sslcore's tiled kernel and with the usual matmul + cross_entropy, and draws the
similarity matrix that the kernel never builds. The bottom half times the kernel against PyTorch,
live (one subprocess per measurement) or from the JSON of benchmarks/bench_info_nce.py.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from dashboard import share
from dashboard.state import Keys
from sslcore import info_nce_records, ops, viz_info_nce

TEMPERATURES = share.choices(Keys.LOSS_TEMPERATURE)  # the widgets' ranges: share's key table
FORMS = {"ntxent": "NT-Xent (SimCLR): 2N rows", "clip": "CLIP: z_a against z_b, both ways"}
LIVE_NS = [256, 512, 1024, 2048, 4096]
LIVE_D = 128
LIVE_TIMEOUT = 300.0  # seconds per measurement before its subprocess is killed
CHART = {"displayModeBar": False}


def small_batch() -> None:
    """Controls, metrics, the similarity heatmap and the per-row losses of a small batch."""
    controls, main = st.columns([1, 3], gap="large")
    with controls:
        n = st.slider("Pairs N", *share.bounds(Keys.LOSS_N), key=Keys.LOSS_N)
        d = st.slider("Dimension D", *share.bounds(Keys.LOSS_D), key=Keys.LOSS_D)
        temperature = st.select_slider("Temperature τ", TEMPERATURES, key=Keys.LOSS_TEMPERATURE)
        form = st.selectbox(
            "Form", share.choices(Keys.LOSS_FORM), format_func=FORMS.get, key=Keys.LOSS_FORM
        )
        alignment = st.slider(
            "Alignment of each pair's views",
            *share.bounds(Keys.LOSS_ALIGNMENT),
            step=0.05,
            key=Keys.LOSS_ALIGNMENT,
            help="0: the two views are independent random embeddings; 1: they are identical. "
            "z_b = normalize(alignment·z_a + (1 − alignment)·noise).",
        )
        seed = int(
            st.number_input("Seed", *share.bounds(Keys.LOSS_SEED), step=1, key=Keys.LOSS_SEED)
        )

    z_a, z_b = viz_info_nce.aligned_pairs(n, d, alignment, seed)  # (N, D) each, unit rows
    kernel = ops.info_nce(z_a, z_b, temperature, form=form, details=True)
    reference = ops.reference_info_nce(z_a, z_b, temperature, form=form, details=True)
    view = viz_info_nce.similarity_view(z_a, z_b, temperature, form)
    uniform = viz_info_nce.equal_embeddings_loss(n, form)
    loss = float(kernel.loss)
    gap = abs(loss - float(reference.loss))
    closed_form = "log(2N − 1)" if form == "ntxent" else "log(N)"
    chance = 1 / (2 * n - 1) if form == "ntxent" else 1 / n

    with main:
        a, b, c, e = st.columns(4)
        a.metric(
            "Loss (sslcore kernel)",
            f"{loss:.4f}",
            delta=f"{loss - uniform:+.3f} vs all equal",
            delta_color="inverse",
        )
        b.metric(
            "Top-1 accuracy",
            f"{float(kernel.accuracy):.0%}",
            help=f"Rows whose positive is their largest logit; chance is {chance:.1%}.",
        )
        c.metric(
            f"Reference {closed_form}",
            f"{uniform:.4f}",
            help="The loss when all embeddings are equal: every logit ties, so each row's "
            "positive gets 1 / (number of candidates).",
        )
        e.metric(
            "|kernel − reference|",
            f"{gap:.1e}" if gap else "0 (exact)",
            help="sslcore's tiled kernel against matmul + cross_entropy on the same embeddings "
            "(float32).",
        )
        shape = f"{2 * n} × {2 * n}" if form == "ntxent" else f"{n} × {n}"
        st.plotly_chart(
            viz_info_nce.similarity_figure(
                view.logits, view.positives, view.row_labels, view.col_labels
            ),
            key="loss.similarity",
            config=CHART,
        )
        st.caption(
            f"The {shape} logits cos(z_i, z_j) / τ, each row's positive outlined"
            + (", the diagonal (a row against itself) left out. " if form == "ntxent" else ". ")
            + "sslcore's kernel never builds this matrix: it streams tiles of it through a running "
            "log-sum-exp in O(N·D) memory. The page builds it here only to draw it, for small N."
        )
        st.plotly_chart(
            viz_info_nce.row_losses_figure(
                kernel.row_losses,
                view.top1,
                view.row_labels + (view.col_labels if form == "clip" else []),
                reference=uniform,
                reference_label=closed_form,
            ),
            key="loss.row_losses",
            config=CHART,
        )
        st.caption(
            "Per-row losses ℓ_i = logsumexp_j(s_ij) − s_i,positive; the loss is their mean."
            + (" CLIP: the a rows go from z_a to z_b, the b rows back." if form == "clip" else "")
        )


def measure(ns: list[int]) -> list[dict[str, Any]] | None:
    """Both contenders at each N, one subprocess each; None (with an error shown) if impossible."""
    try:
        from sslcore.info_nce_timing import CONTENDERS, measure_in_subprocess
    except Exception as exc:  # missing or mid-edit: say so, keep the page
        st.error(f"The timing module sslcore.info_nce_timing is not available: {exc}")
        return None
    total = len(ns) * len(CONTENDERS)
    bar = st.progress(0.0)
    records: list[dict[str, Any]] = []
    for n in ns:
        for contender in CONTENDERS:
            bar.progress(len(records) / total, text=f"{contender} at N = {n:,}…")
            try:
                record = measure_in_subprocess(
                    n, LIVE_D, contender, repeats=1, timeout=LIVE_TIMEOUT
                )
            except Exception as exc:  # one failed measurement must not take the page down
                record = {"N": n, "D": LIVE_D, "contender": contender, "ms": None}
                record |= {"peak_mb": None, "error": f"{type(exc).__name__}: {exc}"}
            records.append(record)
    bar.progress(1.0, text=f"{total} measurements done.")
    try:
        return info_nce_records.check_records(records)
    except ValueError as exc:
        st.error(f"The timing module returned records of an unexpected shape: {exc}")
        return None


def show_timing(records: list[dict[str, Any]], key: str) -> None:
    """The table, the time and memory charts and the ratios of validated timing records."""
    st.dataframe(info_nce_records.timing_rows(records), hide_index=True)
    failed = [r for r in records if r["error"] is not None]
    if failed:
        st.warning(
            "No numbers for: "
            + "; ".join(f"{r['contender']} at N = {r['N']:,} ({r['error']})" for r in failed)
        )
    if len(failed) < len(records):
        left, right = st.columns(2)
        for column, metric, title in ((left, "ms", "Time per step"), (right, "peak_mb", "Memory")):
            column.plotly_chart(
                viz_info_nce.timing_figure(records, metric, title=title),
                key=f"{key}.{metric}",
                config=CHART,
            )
    ratios = [r for r in info_nce_records.contender_ratios(records) if r["speed"] or r["memory"]]
    if ratios:
        st.dataframe(
            [
                {
                    "N": r["N"],
                    "D": r["D"],
                    "vs": r["contender"],
                    "speed (their ms / sslcore ms)": r["speed"] and round(r["speed"], 2),
                    "memory (their MB / sslcore MB)": r["memory"] and round(r["memory"], 2),
                }
                for r in ratios
            ],
            hide_index=True,
        )
        top = ratios[-1]
        parts = []
        if top["speed"]:
            parts.append(f"**{top['speed']:.1f}×** sslcore's time")
        if top["memory"]:
            parts.append(f"**{top['memory']:.1f}×** its peak memory")
        st.markdown(
            f"At N = {top['N']:,}, D = {top['D']}: {top['contender']} takes {' and '.join(parts)}."
        )


def live_run() -> None:
    """Measure chosen sizes now; the last results stay in session_state across reruns."""
    ns = sorted(st.multiselect("N (pairs)", LIVE_NS, key=Keys.LOSS_LIVE_NS))
    if st.button("Measure", key=Keys.LOSS_LIVE_RUN, disabled=not ns):
        with st.spinner(f"Measuring N = {', '.join(map(str, ns))}, sslcore and PyTorch…"):
            records = measure(ns)
        if records is not None:
            st.session_state[Keys.LOSS_LIVE] = {"ns": ns, "records": records}
    last = st.session_state.get(Keys.LOSS_LIVE)
    if last is None:
        st.caption(
            f"One forward + backward step of NT-Xent at D = {LIVE_D}, τ = 0.1, each size and "
            "contender in a fresh process (so its peak memory is its own), one timed step after "
            "a warm-up: a look, not a benchmark. PyTorch builds the 2N × 2N logits; at large N it "
            "may run out of memory, which the table then says."
        )
        return
    if last["ns"] != ns:
        st.caption(
            f"Measured for N = {', '.join(map(str, last['ns']))}: press Measure for this choice."
        )
    show_timing(last["records"], "loss.live")


def from_benchmark() -> None:
    """Records of a benchmark's JSON, validated; a wrong file gets an error, not a traceback."""
    upload = st.file_uploader(
        "JSON written by `python benchmarks/bench_info_nce.py --json PATH`",
        type=["json"],
        key=Keys.LOSS_UPLOAD,
    )
    if upload is None:
        st.caption("Upload a benchmark's JSON to plot its records here.")
        return
    data = upload.getvalue()
    try:
        records = info_nce_records.parse_benchmark_json(data)
    except ValueError as exc:
        st.error(f"{upload.name} is not a benchmark JSON this page can read: {exc}")
        return
    meta = json.loads(data).get("meta") or {}  # parsed fine above
    if meta:
        with st.expander("Benchmark metadata"):
            st.json(meta)
    show_timing(records, "loss.bench")


def main() -> None:
    """The page: the small batch, then time and memory."""
    st.title("Loss kernel")
    st.caption(
        "InfoNCE / NT-Xent (SimCLR, Chen et al. 2020): row i's positive is the other view of its "
        "image, its negatives the other 2N − 2 embeddings. Align the pairs to see the loss fall "
        "and the top-1 accuracy rise."
    )
    small_batch()
    st.subheader("Time and memory: sslcore vs PyTorch")
    live, bench = st.tabs(["Live run", "From benchmark JSON"])
    with live:
        live_run()
    with bench:
        from_benchmark()


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
