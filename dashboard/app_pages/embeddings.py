"""Embeddings: what h_θ's feature space looks like before and after pretraining.

Two 2-D maps side by side (the seeded initialisation, step 0, and the chosen checkpoint), coloured
by true class or by pseudolabel; a slider walks the checkpoints to watch classes separate, or
collapse. Beside them the collapse metrics and the weighted-kNN accuracy. For image data (up to
10,000 points) the right-hand map shows each point's thumbnail on hover and its nearest
neighbours in the full feature space on click, in the browser (``viz_embeddings.hover_map_html``);
for feature vectors, selecting a point lists them below the map. Features and projections are
cached per (run, checkpoint, split, sample count, method), so moving between checkpoints already
seen is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard import loaders, share
from dashboard.state import Keys, keep_valid
from sslcore import viz, viz_embeddings
from sslcore.errors import DataError, SslcoreError
from sslcore.eval import collapse_metrics, project, run_features, weighted_knn
from sslcore.eval.embeddings import METHODS, SPLITS
from sslcore.jobs import run_is_active
from sslcore.runs import Run
from sslcore.viz_html import markdown_text

POINTS = share.choices(Keys.EMBED_POINTS)  # the widgets' ranges: share's key table
COLOURS = tuple(share.choices(Keys.EMBED_COLOUR))  # "class", "pseudolabel z"
TSNE_SLOW = 3000  # points above which t-SNE takes tens of seconds on 2 cores
CHART = {"displayModeBar": False}


@st.cache_data(max_entries=32, show_spinner="Extracting features and projecting…")
def embedding(
    run_path: str, step: int, split: str, points: int, method: str, pseudo: bool
) -> dict[str, Any]:
    """Features, 2-D map and collapse metrics of one checkpoint on (a sample of) one split.

    With `pseudo`, of the pretext inputs x̃ made of those samples, labelled by z.
    """
    run = Run(Path(run_path))
    features = run_features(run, split, step, points, pseudolabels=pseudo)
    projection = project(features, method, seed=run.config.seed)
    return {
        "features": features.features,
        "labels": features.labels,
        "class_names": features.class_names,
        "indices": features.indices,
        "points": projection.points,
        "explained": projection.explained_variance_ratio,
        "metrics": collapse_metrics(features),
    }


@st.cache_data(max_entries=32, show_spinner="Weighted kNN on the target set…")
def knn(run_path: str, step: int) -> float:
    """Weighted-kNN accuracy on the target test split, the target train split as memory."""
    run = Run(Path(run_path))
    train = run_features(run, "target_train", step)
    test = run_features(run, "target_test", step)
    return weighted_knn(train.features, train.labels, test.features, test.labels)


@st.cache_data(max_entries=16, show_spinner=False)
def hover_map(
    run_path: str, step: int, split: str, points: int, method: str, pseudo: bool, title: str
) -> str | None:
    """The map as self-contained HTML with hover thumbnails, or None (not images, too many)."""
    data = embedding(run_path, step, split, points, method, pseudo)
    samples = split_images(Run(Path(run_path)), split)
    if samples.modality != "image" or len(data["labels"]) > viz_embeddings.MAX_HOVER_THUMBNAILS:
        return None
    fig = viz_embeddings.embedding_scatter(
        data["points"], data["labels"], data["class_names"], title, data["explained"]
    )
    return viz_embeddings.hover_map_html(
        fig,
        samples.x[data["indices"]],
        data["labels"],
        data["class_names"],
        data["indices"],
        viz_embeddings.neighbour_table(data["features"]),
    )


def split_images(run: Run, split: str) -> Any:
    """The raw samples of the run's split (cached dataset and split)."""
    config = run.config
    options = tuple(
        sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in config.data_options.items())
    )
    parts = loaders.split(
        config.data, options, config.source_fraction, config.test_fraction, config.seed
    )
    return getattr(parts, split)


def scatter(data: dict[str, Any], title: str, key: str) -> Any:
    """A map, selectable: returns the selection event."""
    fig = viz_embeddings.embedding_scatter(
        data["points"], data["labels"], data["class_names"], title, data["explained"]
    )
    return st.plotly_chart(
        fig, key=key, config=CHART, on_select="rerun", selection_mode=("points", "box", "lasso")
    )


def neighbours(run: Run, split: str, data: dict[str, Any], row: int) -> None:
    """The clicked sample and its nearest neighbours in feature space (images when there are)."""
    near = viz_embeddings.nearest_neighbours(data["features"], row, k=8)
    rows = np.concatenate([[row], near])
    names = data["class_names"]
    name = markdown_text(names[data["labels"][row]])  # a class name is data: literal in Markdown
    st.caption(
        f"Sample {int(data['indices'][row])} ({name}) and its 8 nearest neighbours by cosine "
        "similarity of h_θ features"
    )
    samples = split_images(run, split)
    if samples.modality != "image":
        st.dataframe(
            [{"sample": int(data["indices"][r]), "class": names[data["labels"][r]]} for r in rows],
            hide_index=True,
        )
        return
    images = samples.x[data["indices"][rows]]
    st.plotly_chart(viz.image_grid(images, data["labels"][rows], names, cols=9), config=CHART)


def main() -> None:
    """The page: pick a run and checkpoint, compare with step 0, inspect neighbours."""
    st.title("Embeddings")
    with st.sidebar:
        root = loaders.runs_root(
            st.text_input("Run store", key=Keys.RUNS_ROOT, placeholder="$SSLCORE_RUNS or ./runs")
        )
    runs = [r for r in loaders.readable_runs(root) if r.checkpoints() and not run_is_active(r)]
    if not runs:
        st.info(
            f"No finished run with checkpoints in {root.resolve()} yet: start one on the Train "
            "page (or `sslcore pretrain`), then come back."
        )
        return
    ids = [r.id for r in runs]
    left, middle, right = st.columns(3)
    with left:
        keep_valid(Keys.EMBED_RUN, ids)
        run = runs[ids.index(st.selectbox("Run", ids, key=Keys.EMBED_RUN))]
        steps = [0, *(s for s, _ in run.checkpoints())]
        if st.session_state.get(Keys.EMBED_STEP) not in steps:
            st.session_state[Keys.EMBED_STEP] = steps[-1]
        step = st.select_slider("Checkpoint (step)", steps, key=Keys.EMBED_STEP)
    with middle:
        keep_valid(Keys.EMBED_SPLIT, list(SPLITS))
        split = st.radio("Split", SPLITS, key=Keys.EMBED_SPLIT, horizontal=True)
        points = st.select_slider("Points (at most)", POINTS, key=Keys.EMBED_POINTS)
    with right:
        keep_valid(Keys.EMBED_METHOD, list(METHODS[:2]))
        method = st.radio("Projection", METHODS[:2], key=Keys.EMBED_METHOD, horizontal=True)
        keep_valid(Keys.EMBED_COLOUR, list(COLOURS))
        colour = st.radio(
            "Colour by",
            COLOURS,
            key=Keys.EMBED_COLOUR,
            horizontal=True,
            help="pseudolabel z: the pretext inputs x̃ (e.g. each sample in its 4 rotations), "
            "coloured by what the pretext task asks of them",
        )
        if method == "tsne" and points > TSNE_SLOW:
            st.caption(f"t-SNE of {points:,} points takes a while on a CPU; PCA is instant.")
    pseudo = colour == COLOURS[1]
    try:
        before = embedding(str(run.path), 0, split, points, method, pseudo)
        after = embedding(str(run.path), step, split, points, method, pseudo)
    except DataError as error:
        st.info(f"{error}.")
        pseudo = False
        before = embedding(str(run.path), 0, split, points, method, pseudo)
        after = embedding(str(run.path), step, split, points, method, pseudo)
    except (SslcoreError, ValueError) as error:
        st.error(f"Cannot embed {run.id}: {error}")
        return
    task = run.config.task
    a, b = st.columns(2)
    with a:
        scatter(before, "Before pretraining (step 0, random init)", "embed_before")
    title = f"After {step} steps of {task}"
    with b:
        html = hover_map(str(run.path), step, split, points, method, pseudo, title)
        if html is None:
            event = scatter(after, title, "embed_after")
        else:  # hover for a thumbnail, click for neighbours, all in the browser
            event = None
            st.iframe(html, height=760)
    by_step = {0: before["metrics"] | {"knn_accuracy": knn(str(run.path), 0)}}
    by_step[step] = after["metrics"] | {"knn_accuracy": knn(str(run.path), step)}
    st.dataframe(viz_embeddings.metrics_rows(by_step), hide_index=True)
    selected = [p.get("customdata") for p in (event.selection.points if event else [])]
    selected = [int(c[0] if isinstance(c, list) else c) for c in selected if c is not None]
    if selected:
        neighbours(run, split, after, selected[0])
    elif html is None:
        st.caption("Select a point of the right-hand map to see its image and nearest neighbours.")
    else:
        st.caption(
            "Hover a point of the right-hand map to see its image; click it for its nearest "
            f"neighbours (thumbnails up to {viz_embeddings.MAX_HOVER_THUMBNAILS:,} points)."
        )


if __name__ == "__main__":  # Streamlit runs a page file as __main__; importing it draws nothing
    main()
