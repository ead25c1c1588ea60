"""Settings a user chooses: a pretraining run's config, the adaptation modes, the 2-D projections.

A config is one dataclass, validated with errors that name the field, stored as ``config.json``
in its run folder; ``from_dict`` refuses unknown keys so a typo never silently falls back to a
default. Nothing here imports torch, so the CLI can offer these choices in ``--help`` at once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ADAPT_MODES",
    "DATASET_DEFAULTS",
    "ENCODERS",
    "PROJECTION_METHODS",
    "PROTOCOLS",
    "PretrainConfig",
]

# How θ* is adapted to the labelled task (sslcore.train.adapt): linear probe, fine-tuning, a kNN
# vote on frozen features, and the supervised baseline from scratch.
ADAPT_MODES = ("linear", "finetune", "knn", "scratch")
# How features are mapped to 2-D (sslcore.eval.embeddings.project).
PROJECTION_METHODS = ("pca", "tsne", "umap")
# The encoders h_θ (sslcore.models.make_encoder): auto = resnet for images, mlp for vectors.
ENCODERS = ("auto", "tiny", "resnet", "resnet18", "mlp")
# in_domain: pretrain on the train split without labels, draw the few labels from it, test on a
# held-out split (the standard SSL protocol); transfer: pretrain on a source part, adapt on a
# disjoint labeled target part.
PROTOCOLS = ("in_domain", "transfer")

# Per embedded dataset (and pretext task, "*" for any): the values of the fields a config leaves
# unset (None), tuned with ``python -m benchmarks.bench_ssl`` on an idle 2-core machine. The step
# count is a cap where there is a time budget: the budget ends the run first.
# - digits, contrastive: batch 512 (1,024 views), lr 3e-3, τ 0.5, two minutes of pretraining reach
#   a linear probe of 93 % ± 2 with 13 labels (10 draws) and 98 % with 10 %; τ 0.2 gives 85 %,
#   batch 256 92 %.
# - shapes: the ResNet at width 16 (0.12 s a step against the tiny CNN's 0.3, so about 900 steps
#   in 90 s). Contrastive (10 % linear probe, 3 draws, 90 s): the generic 32 px views, lr 2e-3
#   and τ 0.2 give 46 %; lr 5e-3 58 %, with crops of 50–100 % instead of 30–100 % 65 %, with
#   τ 0.2 instead of 0.1 67 %, with weight decay 0.05 and grayscale p 0.8 71 % (p 1.0: 44 %,
#   since colour is then never seen; colour jitter of strength 1: 40 %; τ 0.3: 60 %; batch 256:
#   62 %, fewer steps). A 32 px stem at full resolution (width 8 or 16) or the tiny CNN gave
#   fewer steps and 40–46 %. Views of 24 px (crops of 50–100 % resized to 24, so a shape appears
#   about as large as in a 32 px test image) take 0.08 s a step instead of 0.11: about 1,150
#   steps, 70 % on seed 0 and 71 % on seed 1 where 32 px views gave 61 % and 66 % in the same
#   session (20 px: 63 %, 28 px: 69 %, crops of 70–100 %: 63 %, τ 0.15: 70.5 %, lr 1e-2: 69 %);
#   square crops (no aspect change, which never occurs in the data) 71 %. Under a time budget
#   the steps done vary with the machine's load (830–1,200 here), and the probe with them.
# - shapes' online evaluation takes about 3 s (2,000 / 1,000 samples); every 250 steps keeps a
#   default run's wall clock at 109–114 s (every 100: 122 s).
DATASET_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("*", "*"): {
        "steps": 600,
        "lr": 2e-3,
        "weight_decay": 1e-4,
        "minutes": None,
        "eval_every": 100,
    },
    ("digits", "*"): {"steps": 2000, "minutes": 2.0},
    ("shapes", "*"): {
        "encoder": "resnet",
        "width": 16,
        "steps": 3000,
        "minutes": 1.5,
        "eval_every": 250,
    },
    ("digits", "contrastive"): {
        "batch_size": 512,
        "lr": 3e-3,
        "task_options": {"temperature": 0.5},
    },
    ("shapes", "contrastive"): {
        "lr": 5e-3,
        "weight_decay": 0.05,
        "task_options": {
            "temperature": 0.2,
            "spec": {
                "size": 0.75,  # of the side: 24 px views of 32 px images
                "strength": 0.5,
                "blur": False,
                "scale": [0.5, 1.0],
                "ratio": [1.0, 1.0],
                "grayscale_p": 0.8,
            },
        },
    },
}
# Fields added after runs were first stored, with the value that reproduces such a run.
LEGACY_VALUES = {"encoder": "tiny", "protocol": "transfer", "minutes": None}


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")


def _fraction(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name}: expected a number in (0, 1), got {value!r}")


def _default_batch_size(task: str) -> int:
    """The task's ``default_batch_size``; 128 for an unknown task (``build`` names the error)."""
    from sslcore.pretext import PRETEXT_TASKS, task_class

    return task_class(task).default_batch_size if task in PRETEXT_TASKS else 128


def dataset_defaults(data: str, task: str) -> dict[str, Any]:
    """The tuned values of `DATASET_DEFAULTS` for `data` and `task`, the most specific winning."""
    values: dict[str, Any] = {}
    for key in (("*", "*"), ("*", task), (data, "*"), (data, task)):
        values |= DATASET_DEFAULTS.get(key, {})
    return values


@dataclass
class PretrainConfig:
    """Everything that determines a pretraining run (with the code version, its result).

    Attributes:
        task: a name in ``sslcore.pretext.PRETEXT_TASKS``.
        data: an embedded dataset name or a path to user data.
        data_options: keyword options of the dataset's loader (e.g. ``{"n": 4000}``).
        task_options: keyword options of the pretext task.
        encoder: h_θ, a name in ``ENCODERS`` (``auto``: the dataset's tuned encoder, else
            ``resnet`` for images and ``mlp`` for vectors).
        protocol: ``in_domain`` or ``transfer`` (``PROTOCOLS``).
        steps: optimisation steps (with ``minutes``, the most the run may take).
        minutes: a wall-clock budget of training steps (evaluations and checkpoints not
            counted); the warm-up + cosine schedule is spread over it, and the run ends when it
            is spent or after ``steps``, whichever comes first. None: steps only.
        batch_size: raw samples per step (multi-view tasks feed the encoder more rows); None
            takes the dataset's tuned value, else the task's ``default_batch_size`` (128; 64
            for rotation, whose four turned copies of each image make 256 rows).
        lr: peak learning rate of AdamW, reached after ``warmup_steps``, then cosine decay to 0.

        Fields left None (and ``task_options`` keys not given) take ``DATASET_DEFAULTS``: the
        values tuned for the dataset and task.
        weight_decay: AdamW's decoupled weight decay (None: the tuned value, else 1e-4).
        warmup_steps: linear warm-up steps.
        width: the encoder's width (CNN w, or MLP hidden width); None = the default.
        seed: seed of the split, the initialisation, the batches and the pretext randomness.
        source_fraction: transfer protocol: share of the data pretrained on (unlabeled); the
            rest is the labeled target set (with ``test_fraction`` of it held out).
        test_fraction: share held out for evaluation: of the whole data (in-domain) or of the
            target set (transfer).
        eval_every: steps between online evaluations (linear probe and kNN on the target set);
            None: the tuned value (100; shapes 250, whose evaluation takes about 3 s).
        checkpoint_every: steps between checkpoints.
        device: ``"cpu"`` or ``"cuda"``.
    """

    task: str = "contrastive"
    data: str = "shapes"
    data_options: dict[str, Any] = field(default_factory=dict)
    task_options: dict[str, Any] = field(default_factory=dict)
    encoder: str = "auto"
    protocol: str = "in_domain"
    steps: int | None = None
    minutes: float | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    warmup_steps: int = 50
    width: int | None = None
    seed: int = 0
    source_fraction: float = 0.8
    test_fraction: float = 0.3
    eval_every: int | None = None
    checkpoint_every: int = 100
    device: str = "cpu"

    def __post_init__(self) -> None:
        if isinstance(self.task, str) and isinstance(self.data, str):
            tuned = dataset_defaults(self.data, self.task)
            if self.steps is None and self.minutes is None:  # given steps mean those steps
                self.minutes = tuned["minutes"]
            for name in ("steps", "lr", "weight_decay", "batch_size", "eval_every"):
                if getattr(self, name) is None and name in tuned:
                    setattr(self, name, tuned[name])
            if isinstance(self.task_options, dict):
                self.task_options = tuned.get("task_options", {}) | self.task_options
            if self.encoder == "auto" and "encoder" in tuned:  # the tuned encoder, its width
                self.encoder = tuned["encoder"]
                if self.width is None:
                    self.width = tuned.get("width")
            if self.batch_size is None:
                self.batch_size = _default_batch_size(self.task)
        self.validate()

    def validate(self) -> None:
        """Raises ValueError/TypeError naming the first invalid field."""
        for name in ("task", "data"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
        for name in ("data_options", "task_options"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name}: expected a dict, got {getattr(self, name)!r}")
        for name in ("steps", "batch_size", "eval_every", "checkpoint_every"):
            _positive_int(name, getattr(self, name))
        if isinstance(self.warmup_steps, bool) or not isinstance(self.warmup_steps, int):
            raise ValueError(f"warmup_steps: expected an integer >= 0, got {self.warmup_steps!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps: expected an integer >= 0, got {self.warmup_steps}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected an integer >= 0, got {self.seed!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name}: expected a number, got {value!r}")
            if not math.isfinite(value) or value < 0 or (name == "lr" and value == 0):
                raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
        if self.width is not None:
            _positive_int("width", self.width)
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder: expected one of {ENCODERS}, got {self.encoder!r}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol: expected one of {PROTOCOLS}, got {self.protocol!r}")
        if self.minutes is not None:
            m = self.minutes
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m):
                raise ValueError(f"minutes: expected a number > 0 or None, got {m!r}")
            if not 0 < m <= 7 * 24 * 60:
                raise ValueError(f"minutes: expected a number in (0, 10080] (a week), got {m}")
        _fraction("source_fraction", self.source_fraction)
        _fraction("test_fraction", self.test_fraction)
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {self.device!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PretrainConfig:
        """The config of a dict such as ``to_dict`` gives; unknown keys are an error."""
        if not isinstance(values, dict):
            raise TypeError(f"config: expected a dict, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"config: unknown field(s) {unknown}; known: {sorted(known)}")
        return cls(**(LEGACY_VALUES | values))
