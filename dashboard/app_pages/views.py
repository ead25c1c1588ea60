"""Views: a recipe of random augmentations, the views it makes, their params, and their speed.

Randomness in Python, determinism in C++: the recipe (a ViewSpec) is sampled with the seed into
one row of params per view, which sslcore's fused kernel applies exactly; the same seed replays
the same views. "Time this batch" runs the recipe through sslcore, pure PyTorch and kornia.
"""

import dataclasses
from typing import Any

import streamlit as st
import torch

from dashboard import loaders, share
from dashboard.state import CUSTOM, RECIPE_FIELDS, VIEW_PRESETS, Keys, preset_values
from sslcore import viz
from sslcore.augment import ViewSpec
from sslcore.augment.timing import time_contenders
from sslcore.data import dataset_names

SIZES = share.choices(Keys.VIEWS_SIZE)  # the widgets' ranges: share's key table
TIME_BATCHES = [16, 64, 256]
TIME_REPEATS = 3
TILE = 120  # pixels a side of each image in the figure
SIGMA_MIN = share.bounds(Keys.VIEWS_BLUR_SIGMA_MAX)[0]  # blur sigma's low end (SimCLR's, BYOL's)


def apply_preset() -> None:
    """Preset chosen: its recipe goes into the sliders (custom keeps what they hold)."""
    preset = st.session_state[Keys.VIEWS_PRESET]
    if preset in VIEW_PRESETS:
        st.session_state.update(preset_values(preset, st.session_state[Keys.VIEWS_SIZE]))


def to_custom() -> None:
    """A recipe slider moved: the recipe is no longer the preset's."""
    st.session_state[Keys.VIEWS_PRESET] = CUSTOM


def regenerate() -> None:
    """New views of the same images: the next seed."""
    st.session_state[Keys.VIEWS_SEED] = (int(st.session_state[Keys.VIEWS_SEED]) + 1) % 2**31


def recipe_specs(size: int, preset: str, views: int) -> tuple[ViewSpec, ...]:
    """One ViewSpec per view index from the sliders; BYOL alternates its two asymmetric views.

    Raises:
        ValueError: the sliders hold a recipe ViewSpec rejects (its message names the field).
    """
    s = st.session_state
    kernel = int(s[Keys.VIEWS_BLUR_KERNEL])
    first = ViewSpec(
        size=size,
        scale=(s[Keys.VIEWS_SCALE_MIN], s[Keys.VIEWS_SCALE_MAX]),
        blur_sigma=(SIGMA_MIN, s[Keys.VIEWS_BLUR_SIGMA_MAX]),
        blur_kernel_size=kernel or None,
        **{name: s[key] for key, name in RECIPE_FIELDS.items()},
    )
    if preset != "BYOL":
        return (first,) * views
    byol2 = ViewSpec.byol(size, view=2)
    second = dataclasses.replace(first, blur_p=byol2.blur_p, solarize_p=byol2.solarize_p)
    return tuple(first if j % 2 == 0 else second for j in range(views))


def slider(label: str, step: float, key: str) -> None:
    """A recipe slider, over its range in the share table: moving it makes the recipe custom."""
    st.slider(label, *share.bounds(key), step=step, key=key, on_change=to_custom)


def table_rows(rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """ViewParams.rows() flattened for st.dataframe: one column per number, jitter only if on."""
    out = []
    for r in rows:
        on = r["jitter"]
        out.append(
            {
                "image": r["source"],
                "view": r["view"] // count + 1,
                "top": r["crop"]["top"],
                "left": r["crop"]["left"],
                "height": r["crop"]["height"],
                "width": r["crop"]["width"],
                "flip": r["flip"],
                "jitter": on,
                "order": " → ".join(op[:3] for op in r["order"]) if on else None,
                "brightness": round(r["brightness"], 3) if on else None,
                "contrast": round(r["contrast"], 3) if on else None,
                "saturation": round(r["saturation"], 3) if on else None,
                "hue": round(r["hue"], 3) if on else None,
                "grayscale": r["grayscale"],
                "blur σ": round(r["blur_sigma"], 3),
                "solarize": r["solarize"],
            }
        )
    return out


st.title("Views")
st.caption(
    "A recipe of random augmentations is sampled with the seed into one row of params per view; "
    "sslcore's fused kernel applies them all in one pass. The same seed replays the same views."
)

vector = [n for n in dataset_names() if n not in loaders.VIEW_SOURCES]
if vector:
    st.info(
        f"Views are made of images, so only image datasets are offered here: "
        f"{' and '.join(vector)} are feature tables, to which crops, flips and colour jitter "
        "do not apply.",
        icon="ℹ️",
    )
controls, main = st.columns([1, 3], gap="large")

with controls:
    name = st.selectbox("Dataset", share.choices(Keys.VIEWS_DATASET), key=Keys.VIEWS_DATASET)
    count = st.slider("Source images", *share.bounds(Keys.VIEWS_COUNT), key=Keys.VIEWS_COUNT)
    views = st.slider(
        "Views per image", *share.bounds(Keys.VIEWS_PER_IMAGE), key=Keys.VIEWS_PER_IMAGE
    )
    preset = st.selectbox(
        "Recipe", share.choices(Keys.VIEWS_PRESET), key=Keys.VIEWS_PRESET, on_change=apply_preset
    )
    size = st.select_slider("Output size", SIZES, key=Keys.VIEWS_SIZE)
    seed = int(st.number_input("Seed", *share.bounds(Keys.VIEWS_SEED), step=1, key=Keys.VIEWS_SEED))
    st.button("Regenerate", key=Keys.VIEWS_REGENERATE, on_click=regenerate, width="stretch")

    with st.expander("Recipe strengths and probabilities", expanded=True):
        slider("Crop scale min", 0.01, Keys.VIEWS_SCALE_MIN)
        slider("Crop scale max", 0.01, Keys.VIEWS_SCALE_MAX)
        slider("Flip p", 0.05, Keys.VIEWS_FLIP_P)
        slider("Jitter p", 0.05, Keys.VIEWS_JITTER_P)
        slider("Brightness", 0.05, Keys.VIEWS_BRIGHTNESS)
        slider("Contrast", 0.05, Keys.VIEWS_CONTRAST)
        slider("Saturation", 0.05, Keys.VIEWS_SATURATION)
        slider("Hue", 0.01, Keys.VIEWS_HUE)
        slider("Grayscale p", 0.05, Keys.VIEWS_GRAYSCALE_P)
        slider("Blur p", 0.05, Keys.VIEWS_BLUR_P)
        slider("Blur sigma max", 0.1, Keys.VIEWS_BLUR_SIGMA_MAX)
        st.number_input(
            "Blur kernel (taps, odd; 0 = 10 % of the side)",
            *share.bounds(Keys.VIEWS_BLUR_KERNEL),
            step=1,
            key=Keys.VIEWS_BLUR_KERNEL,
            on_change=to_custom,
        )
        slider("Solarize p", 0.05, Keys.VIEWS_SOLARIZE_P)
        if preset == "BYOL":
            st.caption("BYOL's second view differs: blur p 0.1, solarize p 0.2 (even views).")

try:
    specs = recipe_specs(size, preset, views)
except ValueError as exc:
    main.error(f"This recipe is not valid: {exc}")
    st.stop()

data = loaders.view_sources(name)
idx, originals, made, rows = loaders.view_batch(name, count, specs, seed)
image_area = originals.shape[-2] * originals.shape[-1]
captions = [viz.view_caption({**r, "image_area": image_area}) for r in rows]
labels = [data.class_names[int(data.y[i])] for i in idx]

with main:
    st.markdown(
        f"**{count} {name} image{'s' if count > 1 else ''} × {views} views**, "
        f"{originals.shape[-2]}×{originals.shape[-1]} → {size}×{size}, "
        f"{preset} recipe, seed {seed}. Under each view: the share of the image cropped, "
        "then what was applied (σ: blur sigma)."
    )
    st.plotly_chart(
        viz.views_grid(originals, made, views, captions, labels, tile=TILE),
        key="views.grid",
        config={"displayModeBar": False, "staticPlot": True},
        width="content",
    )
    st.markdown("**Params of these views** (one row per view; replay them with the same seed)")
    st.dataframe(table_rows(rows, count), hide_index=True)

    st.subheader("Time this batch")
    batch = st.select_slider("Images in the timed batch", TIME_BATCHES, key=Keys.VIEWS_TIME_BATCH)
    batch = min(batch, len(data))
    what = (name, batch, views, tuple(specs))
    if st.button("Time this batch", key=Keys.VIEWS_TIME):
        try:
            with st.spinner(f"Timing {batch} images × {views} views, three ways…"):
                results = time_contenders(data.x[:batch], specs, views=views, repeats=TIME_REPEATS)
            st.session_state[Keys.VIEWS_TIMING] = {"what": what, "results": results}
        except Exception as exc:  # a contender failing must not take the page down
            st.error(f"Timing failed: {type(exc).__name__}: {exc}")

    timing = st.session_state.get(Keys.VIEWS_TIMING)
    if timing is None:
        st.caption(
            f"Times this recipe on {batch} {name} images × {views} views at {size}×{size} with "
            "sslcore's kernel, pure PyTorch and kornia (median of "
            f"{TIME_REPEATS} runs after a warm-up, on this machine's CPU, "
            f"{torch.get_num_threads()} threads)."
        )
    else:
        if timing["what"] != what:
            st.caption("Timed for an earlier recipe or batch: press the button to time this one.")
        results = timing["results"]
        ours = results[0]["views_per_s"]
        st.plotly_chart(viz.contenders_figure(results), key="views.timing")
        st.markdown(
            f"sslcore: **{ours:,.0f} views/s** ({results[0]['ms']:.1f} ms per batch on the CPU, "
            f"{torch.get_num_threads()} threads): "
            + ", ".join(
                f"**{ours / r['views_per_s']:.1f}×** the speed of {r['contender']}"
                for r in results[1:]
            )
            + "."
        )
        for r in results:
            st.caption(f"{r['contender']}: {r['note']}, {r['ms']:.1f} ms per batch.")
