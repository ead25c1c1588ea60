"""Every session_state key of the dashboard and its default, in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from sslcore.augment import ViewSpec

__all__ = [
    "CUSTOM",
    "DEFAULTS",
    "RECIPE_FIELDS",
    "VIEW_PRESETS",
    "Keys",
    "init",
    "keep_valid",
    "preset_values",
]

DISK = "(a folder or file on disk)"


class Keys:
    """Widget keys: tests find widgets by these names."""

    DATASET = "data.dataset"
    PATH = "data.path"
    N = "data.n"
    SIZE = "data.size"
    DIGITS_SIZE = "data.digits_size"
    SEED = "data.seed"
    GRID_COUNT = "data.grid_count"
    GRID_SEED = "data.grid_seed"
    SOURCE_FRACTION = "data.source_fraction"
    TEST_FRACTION = "data.test_fraction"
    LABEL_FRACTION = "data.label_fraction"

    # Views page: the source images, the recipe (one slider per strength or probability), timing.
    VIEWS_DATASET = "views.dataset"
    VIEWS_COUNT = "views.count"
    VIEWS_PER_IMAGE = "views.views"
    VIEWS_PRESET = "views.preset"
    VIEWS_SIZE = "views.size"
    VIEWS_SCALE_MIN = "views.scale_min"
    VIEWS_SCALE_MAX = "views.scale_max"
    VIEWS_FLIP_P = "views.flip_p"
    VIEWS_BRIGHTNESS = "views.brightness"
    VIEWS_CONTRAST = "views.contrast"
    VIEWS_SATURATION = "views.saturation"
    VIEWS_HUE = "views.hue"
    VIEWS_JITTER_P = "views.jitter_p"
    VIEWS_GRAYSCALE_P = "views.grayscale_p"
    VIEWS_BLUR_P = "views.blur_p"
    VIEWS_BLUR_SIGMA_MAX = "views.blur_sigma_max"
    VIEWS_BLUR_KERNEL = "views.blur_kernel"  # 0 = the spec's default, 10 % of the side
    VIEWS_SOLARIZE_P = "views.solarize_p"
    VIEWS_SEED = "views.seed"
    VIEWS_REGENERATE = "views.regenerate"  # a button: bumps VIEWS_SEED
    VIEWS_TIME_BATCH = "views.time_batch"
    VIEWS_TIME = "views.time"  # a button: times the recipe on VIEWS_TIME_BATCH images
    VIEWS_TIMING = "views.timing"  # not a widget: the last timing's results and what was timed

    # Loss kernel page: a small batch's similarity structure, then time and memory at scale.
    LOSS_N = "loss.n"
    LOSS_D = "loss.d"
    LOSS_TEMPERATURE = "loss.temperature"
    LOSS_FORM = "loss.form"
    LOSS_ALIGNMENT = "loss.alignment"
    LOSS_SEED = "loss.seed"
    LOSS_LIVE_NS = "loss.live_ns"
    LOSS_LIVE_RUN = "loss.live_run"  # a button: measures LOSS_LIVE_NS with both contenders
    LOSS_LIVE = "loss.live"  # not a widget: the last live run's records and the Ns it measured
    LOSS_UPLOAD = "loss.upload"  # a file uploader: no default (its value cannot be set)

    # The run store's folder, shared by the Pseudolabels and Train pages ("" = $SSLCORE_RUNS or
    # ./runs, resolved when used).
    RUNS_ROOT = "runs.root"

    # Pseudolabels page: a few samples, the pretext task's x̃ and z, a trained head's predictions.
    PSEUDO_DATASET = "pseudo.dataset"
    PSEUDO_TASK = "pseudo.task"
    PSEUDO_BATCH = "pseudo.batch"
    PSEUDO_SEED = "pseudo.seed"  # the pretext task's generator
    PSEUDO_RESEED = "pseudo.reseed"  # a button: bumps PSEUDO_SEED
    PSEUDO_SAMPLE_SEED = "pseudo.sample_seed"  # which raw samples are shown
    PSEUDO_RUN = "pseudo.run"  # the id of the run whose head predicts
    PSEUDO_PREDICT = "pseudo.predict"  # a toggle: show the pretext head's predictions

    # Train page: start a run, follow the selected one, adapt it.
    TRAIN_DATA = "train.data"
    TRAIN_SHAPES_N = "train.shapes_n"
    TRAIN_TASK = "train.task"
    TRAIN_ENCODER = "train.encoder"
    TRAIN_PROTOCOL = "train.protocol"
    TRAIN_TUNED = "train.tuned"  # the tuned steps, budget, batch, lr (config.DATASET_DEFAULTS)
    TRAIN_STEPS = "train.steps"
    TRAIN_MINUTES = "train.minutes"  # a time budget of training steps; 0 = none, steps only
    TRAIN_BATCH = "train.batch"
    TRAIN_SEED = "train.seed"
    TRAIN_LR = "train.lr"
    TRAIN_WIDTH = "train.width"  # 0 = the encoder's default
    TRAIN_EVAL_EVERY = "train.eval_every"
    TRAIN_CHECKPOINT_EVERY = "train.checkpoint_every"
    TRAIN_START = "train.start"  # a button: launches the run's process
    TRAIN_RUN = "train.run"  # the selected run's id: all the session keeps of a run
    TRAIN_CANCEL = "train.cancel"  # a button: SIGINT to the selected run's process
    TRAIN_EXTRA_STEPS = "train.extra_steps"  # steps added to the run's total by Resume
    TRAIN_RESUME = "train.resume"  # a button: relaunches the selected run from its checkpoint
    TRAIN_REFRESH = "train.refresh"  # a button: reruns the page
    TRAIN_REPORT = "train.report"  # a download button: the run's HTML report
    TRAIN_BUNDLE = "train.bundle"  # a download button: the run's bundle zip
    ADAPT_MODES = "adapt.modes"
    ADAPT_FRACTIONS = "adapt.fractions"
    ADAPT_STEPS = "adapt.steps"
    ADAPT_DRAWS = "adapt.draws"  # label draws averaged at each fraction below 100 %
    ADAPT_START = "adapt.start"  # a button: launches the label-efficiency sweep

    # Embeddings page: a run's feature space at step 0 and at a chosen checkpoint.
    EMBED_RUN = "embed.run"
    EMBED_STEP = "embed.step"
    EMBED_SPLIT = "embed.split"
    EMBED_POINTS = "embed.points"
    EMBED_METHOD = "embed.method"
    EMBED_COLOUR = "embed.colour"  # "class" or "pseudolabel z"

    # Gradient descent page: a problem, an optimiser and its settings, a start point, a step.
    GD_PROBLEM = "gd.problem"
    GD_LAST_PROBLEM = "gd.last_problem"  # the problem the start point belongs to
    GD_KAPPA = "gd.kappa"
    GD_OPTIMIZER = "gd.optimizer"
    GD_LR = "gd.lr"
    GD_MOMENTUM = "gd.momentum"
    GD_STEPS = "gd.steps"
    GD_START_X = "gd.start_x"
    GD_START_Y = "gd.start_y"
    GD_COMPARE = "gd.compare"
    GD_T = "gd.t"  # the inspected step
    GD_RUN = "gd.run"  # the run whose path is drawn on its loss surface
    GD_PLANE = "gd.plane"
    GD_RESOLUTION = "gd.resolution"
    GD_COMPUTE = "gd.compute"  # a button: evaluates the run's landscape

    # Theory page: L_pre against L*_adapt across checkpoints of the chosen runs.
    THEORY_RUNS = "theory.runs"
    THEORY_MEASURE = "theory.measure"  # a button: measures the runs without a transfer table
    THEORY_SCALE = "theory.scale"


DEFAULTS: dict[str, Any] = {
    Keys.DATASET: "shapes",
    Keys.PATH: "",
    Keys.N: 4000,
    Keys.SIZE: 32,
    Keys.DIGITS_SIZE: 8,
    Keys.SEED: 0,
    Keys.GRID_COUNT: 48,
    Keys.GRID_SEED: 0,
    Keys.SOURCE_FRACTION: 0.5,
    Keys.TEST_FRACTION: 0.2,
    Keys.LABEL_FRACTION: 0.1,
}

# The recipe sliders of the Views page and the ViewSpec field each one sets.
RECIPE_FIELDS: dict[str, str] = {
    Keys.VIEWS_FLIP_P: "flip_p",
    Keys.VIEWS_BRIGHTNESS: "brightness",
    Keys.VIEWS_CONTRAST: "contrast",
    Keys.VIEWS_SATURATION: "saturation",
    Keys.VIEWS_HUE: "hue",
    Keys.VIEWS_JITTER_P: "jitter_p",
    Keys.VIEWS_GRAYSCALE_P: "grayscale_p",
    Keys.VIEWS_BLUR_P: "blur_p",
    Keys.VIEWS_SOLARIZE_P: "solarize_p",
}

# Presets of the Views page: the recipe each one puts into the sliders. BYOL's second view
# differs from its first (blur p 0.1, solarize p 0.2); the sliders show the first.
VIEW_PRESETS: dict[str, Callable[[int], ViewSpec]] = {
    "SimCLR": lambda size: ViewSpec.simclr(size),
    "BYOL": lambda size: ViewSpec.byol(size, view=1),
}
CUSTOM = "custom"


def preset_values(preset: str, size: int = 32) -> dict[str, Any]:
    """The slider values {key: value} of a preset's recipe (its first view for BYOL)."""
    spec = VIEW_PRESETS[preset](size)
    values: dict[str, Any] = {
        key: round(getattr(spec, name), 4) for key, name in RECIPE_FIELDS.items()
    }
    values[Keys.VIEWS_SCALE_MIN] = spec.scale[0]
    values[Keys.VIEWS_SCALE_MAX] = spec.scale[1]
    values[Keys.VIEWS_BLUR_SIGMA_MAX] = spec.blur_sigma[1]
    values[Keys.VIEWS_BLUR_KERNEL] = 0
    return values


DEFAULTS.update(
    {
        Keys.VIEWS_DATASET: "shapes",
        Keys.VIEWS_COUNT: 6,
        Keys.VIEWS_PER_IMAGE: 2,
        Keys.VIEWS_PRESET: "SimCLR",
        Keys.VIEWS_SIZE: 32,
        **preset_values("SimCLR"),
        Keys.VIEWS_SEED: 0,
        Keys.VIEWS_TIME_BATCH: 256,
        Keys.VIEWS_TIMING: None,
        Keys.LOSS_N: 8,
        Keys.LOSS_D: 32,
        Keys.LOSS_TEMPERATURE: 0.1,
        Keys.LOSS_FORM: "ntxent",
        Keys.LOSS_ALIGNMENT: 0.25,
        Keys.LOSS_SEED: 0,
        Keys.LOSS_LIVE_NS: [256, 1024],
        Keys.LOSS_LIVE: None,
        Keys.RUNS_ROOT: "",
        Keys.PSEUDO_DATASET: "shapes",
        Keys.PSEUDO_TASK: "rotation",
        Keys.PSEUDO_BATCH: 6,
        Keys.PSEUDO_SEED: 0,
        Keys.PSEUDO_SAMPLE_SEED: 0,
        Keys.PSEUDO_RUN: None,
        Keys.PSEUDO_PREDICT: False,
        Keys.TRAIN_DATA: "shapes",
        Keys.TRAIN_SHAPES_N: 2000,
        Keys.TRAIN_TASK: "rotation",
        Keys.TRAIN_ENCODER: "auto",
        Keys.TRAIN_PROTOCOL: "in_domain",
        Keys.TRAIN_TUNED: True,
        Keys.TRAIN_STEPS: 300,
        Keys.TRAIN_MINUTES: 0.0,
        Keys.TRAIN_BATCH: 64,
        Keys.TRAIN_SEED: 0,
        Keys.TRAIN_LR: 2e-3,
        Keys.TRAIN_WIDTH: 0,
        Keys.TRAIN_EVAL_EVERY: 50,
        Keys.TRAIN_CHECKPOINT_EVERY: 50,
        Keys.TRAIN_RUN: None,
        Keys.TRAIN_EXTRA_STEPS: 0,
        Keys.ADAPT_MODES: ["linear", "knn", "scratch"],  # scratch: the supervised baseline
        Keys.ADAPT_FRACTIONS: [0.01, 0.1, 1.0],
        Keys.ADAPT_STEPS: 0,  # 0: to the plateau (sslcore.train.adapt.plateau_steps)
        Keys.ADAPT_DRAWS: 10,
        Keys.EMBED_RUN: None,
        Keys.EMBED_STEP: None,
        Keys.EMBED_SPLIT: "source",
        Keys.EMBED_POINTS: 2000,
        Keys.EMBED_METHOD: "pca",
        Keys.EMBED_COLOUR: "class",
        Keys.GD_PROBLEM: "dog_vs_cat",
        Keys.GD_LAST_PROBLEM: None,
        Keys.GD_KAPPA: 10.0,
        Keys.GD_OPTIMIZER: "gd",
        Keys.GD_LR: 0.05,
        Keys.GD_MOMENTUM: 0.9,
        Keys.GD_STEPS: 100,
        Keys.GD_START_X: 0.0,
        Keys.GD_START_Y: 0.0,
        Keys.GD_COMPARE: [],
        Keys.GD_T: 0,
        Keys.GD_RUN: None,
        Keys.GD_PLANE: "pca",
        Keys.GD_RESOLUTION: 11,
        Keys.THEORY_RUNS: [],
        Keys.THEORY_SCALE: "relative",
    }
)


def keep_valid(key: str, options: list[Any]) -> None:
    """A stored choice no longer offered (another dataset's task, a deleted run) becomes the first.

    Call it before drawing the widget of `key`; with no options, the choice becomes None.
    """
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0] if options else None


def init() -> None:
    """Puts every default into session_state, and stores every current value again each run.

    Streamlit forgets the value of a widget that is not drawn on the current page; writing each
    key back on every run keeps a page's settings while the user visits another page.
    """
    for key, value in DEFAULTS.items():
        st.session_state[key] = st.session_state.get(key, value)
