"""Train: start a pretraining run in its own process, follow its curves, cancel, resume, adapt.

Training runs in its own process: Start launches ``python -m sslcore pretrain`` in a
new session writing into the run store (sslcore.jobs); the page keeps only the selected run's id
and reads everything else back from the store, so a rerun or a closed tab never stops, restarts
or duplicates a run. Cancel sends SIGINT, which Python turns into KeyboardInterrupt: the loop
marks the run "cancelled" and exits (SIGTERM would kill it without a word in its status).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import loaders, share
from dashboard.state import Keys, keep_valid
from sslcore import jobs, viz_runs
from sslcore.bundles import export_run
from sslcore.config import PretrainConfig
from sslcore.data import dataset_names
from sslcore.errors import SslcoreError
from sslcore.report import build_report
from sslcore.runs import Run, RunStore, UnreadableRun
from sslcore.train.adapt import ADAPT_MODES
from sslcore.viz_html import markdown_text

REFRESH_S = 2.0  # seconds between redraws of a running run's curves
SHAPES_N = share.choices(Keys.TRAIN_SHAPES_N)  # the widgets' ranges: share's key table
BATCHES = share.choices(Keys.TRAIN_BATCH)
FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
CHART = {"displayModeBar": False}


def tuned_settings(task: str, data: str) -> str:
    """One line saying what the tuned settings of (`task`, `data`) are."""
    try:
        config = PretrainConfig(task=task, data=data)
    except (ValueError, TypeError) as error:
        return f"No tuned settings: {error}"
    budget = f"{config.minutes:g} min, at most " if config.minutes else ""
    options = ", ".join(f"{k} {v}" for k, v in sorted(config.task_options.items()))
    return f"{budget}{config.steps} steps, batch {config.batch_size}, lr {config.lr:g}" + (
        f", {options}" if options else ""
    )


def _chosen(steps: float, minutes: float, batch: int, lr: float) -> dict[str, Any]:
    """The hand-chosen budget of the form (when "Tuned settings" is off)."""
    return {
        "steps": int(steps),
        "minutes": float(minutes) or None,
        "batch_size": int(batch),
        "lr": float(lr),
    }


def start_form(store: RunStore) -> None:
    """The settings of a new run and the Start button."""
    st.subheader("Start a run")
    left, middle, right = st.columns(3)
    with left:
        data_name = st.selectbox("Data", dataset_names(), key=Keys.TRAIN_DATA)
        options = {}
        if data_name == "shapes":
            options["n"] = st.select_slider("Images", SHAPES_N, key=Keys.TRAIN_SHAPES_N)
        modality = loaders.pseudo_source(data_name).modality
        choices, broken = loaders.task_choices(modality)
        keep_valid(Keys.TRAIN_TASK, choices)
        task = st.selectbox(
            "Pretext task",
            choices,
            key=Keys.TRAIN_TASK,
            format_func=lambda n: f"{n} (unavailable)" if n in broken else n,
        )
        encoder = st.selectbox(
            "Encoder h_θ",
            share.choices(Keys.TRAIN_ENCODER),
            key=Keys.TRAIN_ENCODER,
            help="auto: a ResNet for images, an MLP for vectors.",
        )
    with middle:
        tuned = st.checkbox(
            "Tuned settings",
            key=Keys.TRAIN_TUNED,
            help="The steps, time budget, batch size, learning rate and pretext options tuned for "
            "this dataset and task (measured with benchmarks/bench_ssl.py).",
        )
        if tuned:
            st.caption(tuned_settings(task, data_name))
        steps = st.number_input(
            "Steps",
            *share.bounds(Keys.TRAIN_STEPS),
            step=50,
            key=Keys.TRAIN_STEPS,
            disabled=tuned,
            help="With a time budget, the most steps the run may take.",
        )
        minutes = st.number_input(
            "Time budget (minutes, 0: none)",
            *share.bounds(Keys.TRAIN_MINUTES),
            step=0.5,
            key=Keys.TRAIN_MINUTES,
            disabled=tuned,
            help="The run ends when its training steps have taken this long, or after its steps; "
            "the learning-rate schedule is spread over the budget.",
        )
        batch = st.select_slider("Batch size", BATCHES, key=Keys.TRAIN_BATCH, disabled=tuned)
        lr = st.number_input(
            "Peak learning rate",
            *share.bounds(Keys.TRAIN_LR),
            step=1e-4,
            format="%.4g",
            key=Keys.TRAIN_LR,
            disabled=tuned,
        )
    with right:
        protocol = st.selectbox(
            "Protocol",
            share.choices(Keys.TRAIN_PROTOCOL),
            key=Keys.TRAIN_PROTOCOL,
            help="in_domain: pretrain on the train split without its labels, adapt on few of "
            "them, test on a held-out split. transfer: pretrain on a source part, adapt on a "
            "disjoint labeled target part.",
        )
        seed = st.number_input("Seed", *share.bounds(Keys.TRAIN_SEED), step=1, key=Keys.TRAIN_SEED)
        with st.expander("More settings"):
            width = st.number_input("Encoder width (0: default)", 0, 1024, key=Keys.TRAIN_WIDTH)
            eval_every = st.number_input("Evaluate every", 1, 100_000, key=Keys.TRAIN_EVAL_EVERY)
            every = st.number_input("Checkpoint every", 1, 100_000, key=Keys.TRAIN_CHECKPOINT_EVERY)
    if task in broken:
        st.error(f"The pretext task {task!r} cannot be loaded: {broken[task]}")
    if not st.button("Start", key=Keys.TRAIN_START, type="primary", disabled=task in broken):
        return
    try:
        config = PretrainConfig(
            task=task,
            data=data_name,
            data_options=options,
            encoder=encoder,
            protocol=protocol,
            **({} if tuned else _chosen(steps, minutes, batch, lr)),
            seed=int(seed),
            width=int(width) or None,
            eval_every=int(eval_every),
            checkpoint_every=int(every),
        )
        run = jobs.launch(config, store)
    except jobs.JobError as exc:
        st.warning(f"Not started: {exc}")
        return
    except (SslcoreError, ValueError, TypeError) as exc:
        st.error(f"Not started: {exc}")
        return
    st.session_state[Keys.TRAIN_RUN] = run.id  # the run panel below opens the new run
    st.success(f"Started {run.id}: its log is {run.path / jobs.LOG_NAME}.")


def unreadable_row(bad: UnreadableRun) -> dict[str, object]:
    """The table row of a run that cannot be read: its id and "unreadable: <reason>"."""
    row: dict[str, object] = {"run": bad.id, "task": None, "data": None}
    row["state"] = f"unreadable: {bad.reason}"
    return row | {"steps done": None, "steps": None, "budget": None, "last loss": None}


def runs_table(root: str) -> None:
    """One row per run, newest first, read afresh (a fragment, redrawn while a run is active).

    A run some record of which cannot be read is listed as "unreadable: <reason>".
    """
    listing = RunStore(root).listing()
    rows = [viz_runs.run_row(r) for r in listing.readable]
    rows += [unreadable_row(bad) for bad in listing.unreadable]
    st.dataframe(sorted(rows, key=lambda r: str(r["run"]), reverse=True), hide_index=True)


def live_training(root: str, run_id: str, was_active: bool) -> None:
    """State, progress and curves of a run, read afresh from its folder (a fragment)."""
    try:
        run = RunStore(root).open(run_id)
        active = jobs.run_is_active(run)
        if was_active and not active:
            st.rerun()  # it ended: redraw the whole page (table, buttons)
        status, config, metrics = run.status(), run.config, run.metrics()
    except SslcoreError as exc:  # changed since it was listed: unreadable, or gone
        st.error(f"Run {run_id} cannot be read: {exc}")
        return
    state = jobs.run_state(run)
    share_done, steps_text = viz_runs.progress(config, metrics, state)
    message = status.get("message")  # the run's own text (an imported run's: someone else's)
    message = f" · {markdown_text(message, limit=300)}" if message else ""
    st.markdown(f"**{state}** · {steps_text}{message}")
    st.progress(share_done)
    if not metrics:
        st.caption(
            "No metrics yet: the process starts by importing torch and loading the data."
            if active
            else "This run logged no step."
        )
        return
    left, right = st.columns(2)
    left.plotly_chart(viz_runs.loss_figure(metrics), key="train.loss", config=CHART)
    right.plotly_chart(viz_runs.accuracy_figure(metrics), key="train.accuracy", config=CHART)


def run_actions(store: RunStore, run: Run, active: bool) -> None:
    """Cancel, Resume (optionally with more steps) and Refresh."""
    state = jobs.run_state(run)
    cancel, extra, resume, refresh = st.columns([1, 1.4, 1, 1], vertical_alignment="bottom")
    if cancel.button("Cancel", key=Keys.TRAIN_CANCEL, disabled=not active, width="stretch"):
        try:
            with st.spinner("Cancelling: the loop finishes its step…"):
                state = jobs.cancel(run, timeout=15.0)
            st.toast(f"{run.id}: {state}")
        except jobs.JobError as exc:
            st.warning(str(exc))
        st.rerun()
    more = int(extra.number_input("More steps", 0, 1_000_000, step=50, key=Keys.TRAIN_EXTRA_STEPS))
    finished = state == "done" and not more
    if resume.button(
        "Resume",
        key=Keys.TRAIN_RESUME,
        disabled=active or finished,
        help="Continue from the last checkpoint (up to the run's steps plus 'More steps').",
        width="stretch",
    ):
        try:
            jobs.resume(run, store, steps=run.config.steps + more if more else None)
        except jobs.JobError as exc:  # running, or written by another process (a CLI resume)
            st.warning(f"Not resumed: {exc}")
            return
        except SslcoreError as exc:  # its records became unreadable
            st.error(f"Not resumed: {exc}")
            return
        st.rerun()
    if refresh.button("Refresh", key=Keys.TRAIN_REFRESH, width="stretch"):
        st.rerun()
    share_buttons(run, active)


def share_buttons(run: Run, active: bool) -> None:
    """Downloads of the run: a self-contained HTML report and a bundle another user can import.

    Both are made when clicked (on a thread of their own), not on every rerun.
    """
    report, bundle = st.columns(2)
    report.download_button(
        "Download report (HTML)",
        data=lambda: build_report(run),
        file_name=f"{run.id}-report.html",
        mime="text/html",
        key=Keys.TRAIN_REPORT,
        disabled=active,
        help="Config, curves, pseudolabels, embeddings, transfer table: one file, no server.",
    )

    def zipped() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            return export_run(run, Path(folder) / "run.zip").read_bytes()

    bundle.download_button(
        "Download run bundle (zip)",
        data=zipped,
        file_name=f"{run.id}.zip",
        mime="application/zip",
        key=Keys.TRAIN_BUNDLE,
        disabled=active or not run.checkpoints(),
        help="Config, metrics and the final checkpoint: `sslcore import` it elsewhere.",
    )


def live_adapt(root: str, run_id: str, was_running: bool) -> None:
    """The sweep's state and the label-efficiency chart from adapt.json (a fragment)."""
    run = RunStore(root).open(run_id)
    job = jobs.sweep_job(run)
    running = bool(job and job["alive"])
    if was_running and not running:
        st.rerun()
    if running:
        last = [line for line in job["log"].splitlines() if line.startswith("sweep:")][-1:]
        st.info(
            f"A sweep is running (pid {job['pid']}): {', '.join(job['modes'])} at "
            f"{', '.join(f'{f:.0%}' for f in job['fractions'])} labels, {job['draws']} label "
            "draws each. Records appear below as each one is done."
            + (f"\n\nLast: {markdown_text(last[0], limit=200)}" if last else "")
        )
    elif job and job["results"] is None:
        st.error(f"The last sweep ended without results:\n\n```\n{job['log']}\n```")
    try:
        records = run.adapt_records()
        if not records:
            st.caption("No adaptation yet: run a sweep to see label efficiency.")
            return
        figure = viz_runs.label_efficiency_figure(records)
    except (ValueError, KeyError, TypeError) as exc:  # DataError is a ValueError
        st.error(f"{run.path / 'adapt.json'} cannot be read: {exc}")
        return
    st.plotly_chart(figure, key="adapt.chart", config=CHART)
    st.dataframe(
        [
            {
                "labels": f"{r['label_fraction']:.0%} ({r['labels']})",
                "mode": r["mode"],
                "accuracy": r["accuracy"],
                "± std": r.get("accuracy_std"),
                "draws": r.get("draws", 1),
                "L_adapt": r.get("test_loss"),
                "seconds": round(r.get("seconds", 0.0), 1),
            }
            for r in viz_runs.latest_adapt_records(records)
        ],
        hide_index=True,
    )


def adapt_panel(store: RunStore, run: Run) -> None:
    """Modes and label fractions of a sweep, its Start button, then its live results."""
    st.subheader("Adapt: label efficiency")
    st.caption(
        "θ* transferred to the labeled target set with few labels: linear probe (θ* frozen), "
        "fine-tune, kNN, and the same encoder trained from scratch (supervised) as the "
        "baseline. Below 100 % of the labels, each accuracy is the mean over label draws, with "
        "its std as error bars. The sweep runs `python -m sslcore sweep` in the background; its "
        "records land in adapt.json."
    )
    modes_col, fractions_col, steps_col, draws_col, button_col = st.columns(
        [2, 2, 1, 1, 1], vertical_alignment="bottom"
    )
    modes = modes_col.multiselect("Modes", list(ADAPT_MODES), key=Keys.ADAPT_MODES)
    fractions = fractions_col.multiselect(
        "Label fractions", FRACTIONS, format_func=lambda f: f"{f:.0%}", key=Keys.ADAPT_FRACTIONS
    )
    steps = steps_col.number_input(
        "Fine-tune steps",
        0,
        100_000,
        key=Keys.ADAPT_STEPS,
        help="Steps of finetune and scratch; 0: to the plateau (400 epochs of the drawn labels, "
        "400-2,400 steps).",
    )
    draws = draws_col.number_input(
        "Label draws",
        1,
        100,
        key=Keys.ADAPT_DRAWS,
        help="Each fraction below 100 % is adapted on this many label draws (seeds).",
    )
    job = jobs.sweep_job(run)
    busy = bool(job and job["alive"])
    ready = bool(run.checkpoints()) and bool(modes) and bool(fractions) and not busy
    if button_col.button("Run sweep", key=Keys.ADAPT_START, disabled=not ready, width="stretch"):
        try:
            jobs.launch_sweep(run, store, sorted(fractions), modes, int(steps), draws=int(draws))
            busy = True
        except jobs.JobError as exc:
            st.warning(str(exc))
    if not run.checkpoints():
        st.caption("The run has no checkpoint yet.")
    refresh = REFRESH_S if busy else None
    st.fragment(live_adapt, run_every=refresh)(str(store.root), run.id, busy)


def main() -> None:
    """The page: the start form, the runs, then the selected run."""
    st.title("Train")
    st.caption(
        "Pretraining runs in its own process and writes into the run store: leave this page, "
        "close the tab, come back, the run goes on."
    )
    with st.sidebar:
        root = loaders.runs_root(
            st.text_input("Run store", key=Keys.RUNS_ROOT, placeholder="$SSLCORE_RUNS or ./runs")
        )
        st.caption(f"Runs are read from and written to `{root.resolve()}`.")
    store = RunStore(root)
    start_form(store)

    st.subheader("Runs")
    listing = store.listing()
    if not listing.readable and not listing.unreadable:
        st.info(f"No runs in {root.resolve()} yet.")
        return
    runs = list(reversed(listing.readable))  # newest first; the unreadable ones not offered
    busy = any(jobs.run_is_active(r) for r in runs)
    st.fragment(runs_table, run_every=REFRESH_S if busy else None)(str(store.root))
    if not runs:
        st.info("No run here can be read: the table says why, run by run.")
        return
    ids = [r.id for r in runs]
    keep_valid(Keys.TRAIN_RUN, ids)
    run_id = st.selectbox("Run", ids, key=Keys.TRAIN_RUN)
    run = runs[ids.index(run_id)]
    active = jobs.run_is_active(run)
    run_actions(store, run, active)
    st.fragment(live_training, run_every=REFRESH_S if active else None)(
        str(store.root), run.id, active
    )
    with st.expander("Log"):
        st.code(jobs.log_tail(run.path / jobs.LOG_NAME, 40) or "(empty)", language=None)
    adapt_panel(store, run)


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
