"""Data explorer: pick a dataset, see its samples with labels, class counts and the split.

The seed's setting made visible: an unlabeled *source* set for pretraining and a labeled *target*
set (train/test) for adaptation, of which only a few labels may be used.
"""

import streamlit as st

from dashboard import loaders, share
from dashboard.state import DISK, Keys
from sslcore import viz
from sslcore.errors import SslcoreError
from sslcore.viz_html import markdown_text

st.title("Data")
st.caption(
    "Embedded datasets (generated or shipped with scikit-learn, never downloaded), "
    "or your own: an image folder, CIFAR batches, a .npz or .csv table."
)

names = share.choices(Keys.DATASET)  # the widgets' ranges: share's key table
controls, main = st.columns([1, 3], gap="large")

with controls:
    name = st.selectbox("Dataset", names, key=Keys.DATASET)
    options: dict = {}
    if name == DISK:
        source = st.text_input(
            "Path",
            key=Keys.PATH,
            placeholder="/data/pets (class subfolders), cifar-10-batches-py, x.npz",
        )
    else:
        source = name
        exposed = loaders.OPTIONS.get(name, ())
        if "n" in exposed:
            options["n"] = st.slider("Images", *share.bounds(Keys.N), step=200, key=Keys.N)
        if "size" in exposed:
            size = st.select_slider(
                "Image size",
                loaders.SIZES[name],
                key=Keys.DIGITS_SIZE if name == "digits" else Keys.SIZE,
            )
            if size != loaders.NATIVE_SIZE.get(name):
                options["size"] = size
        if "seed" in exposed:
            options["seed"] = int(
                st.number_input("Seed", *share.bounds(Keys.SEED), step=1, key=Keys.SEED)
            )

if name == DISK and not source.strip():
    main.info("Type the path of a folder or file to load.")
    st.stop()

try:
    data = loaders.dataset(source.strip(), tuple(sorted(options.items())))
except (SslcoreError, ValueError, TypeError, OSError) as exc:
    main.error(f"Could not load {source!r}: {exc}")
    st.stop()

with controls:
    count = st.slider("Samples shown", *share.bounds(Keys.GRID_COUNT), step=8, key=Keys.GRID_COUNT)
    grid_seed = int(
        st.number_input("Sample seed", *share.bounds(Keys.GRID_SEED), step=1, key=Keys.GRID_SEED)
    )
    st.divider()
    st.markdown("**Source / target split**")
    source_fraction = st.slider(
        "Source fraction (unlabeled)",
        *share.bounds(Keys.SOURCE_FRACTION),
        step=0.05,
        key=Keys.SOURCE_FRACTION,
    )
    test_fraction = st.slider(
        "Target test fraction", *share.bounds(Keys.TEST_FRACTION), step=0.05, key=Keys.TEST_FRACTION
    )
    label_fraction = st.select_slider(
        "Labels used in target train",
        share.choices(Keys.LABEL_FRACTION),
        format_func=lambda f: f"{f:.0%}",
        key=Keys.LABEL_FRACTION,
    )

desc = data.describe()
with main:
    st.subheader(markdown_text(desc["name"]))  # a folder's or file's name: literal
    a, b, c, d = st.columns(4)
    a.metric("Samples", f"{desc['num_samples']:,}")
    b.metric("Classes", desc["num_classes"])
    c.metric("Modality", desc["modality"])
    d.metric("Sample shape", " × ".join(str(s) for s in desc["sample_shape"]))

    idx = loaders.sample_indices(len(data), count, grid_seed)
    if data.modality == "image":
        fig = viz.image_grid(data.x[idx], data.y[idx], data.class_names, cols=8)
    else:
        fig = viz.feature_heatmap(data.x[idx], data.y[idx], data.class_names, data.feature_names)
    st.plotly_chart(fig, key="data.grid", config={"displayModeBar": False})

    try:
        parts = loaders.split(
            source.strip(),
            tuple(sorted(options.items())),
            source_fraction,
            test_fraction,
            grid_seed,
        )
        few = loaders.labelled_subset(
            source.strip(),
            tuple(sorted(options.items())),
            source_fraction,
            test_fraction,
            grid_seed,
            label_fraction,
        )
    except (SslcoreError, ValueError) as exc:
        st.error(f"Could not split {desc['name']}: {exc}")
        st.stop()

    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            viz.class_counts_figure({"all": data.class_counts()}, title="Examples per class"),
            key="data.counts",
        )
    with right:
        st.plotly_chart(
            viz.class_counts_figure(
                {
                    "source (unlabeled)": parts.source.class_counts(),
                    f"target train, {label_fraction:.0%} labels": few.class_counts(),
                    "target train, labels unused": {
                        k: v - few.class_counts()[k]
                        for k, v in parts.target_train.class_counts().items()
                    },
                    "target test": parts.target_test.class_counts(),
                },
                title="Source / target split per class",
            ),
            key="data.split",
        )
    st.plotly_chart(
        viz.split_figure(
            {
                "source": len(parts.source),
                "target labelled": len(few),
                "target unlabelled": len(parts.target_train) - len(few),
                "target test": len(parts.target_test),
            }
        ),
        key="data.split_bar",
    )
