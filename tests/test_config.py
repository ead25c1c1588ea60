"""PretrainConfig: defaults are valid, every field is validated by name, dicts round-trip."""

import pytest

from sslcore.config import PretrainConfig


def test_round_trip():
    config = PretrainConfig(task="rotation", steps=10, data_options={"n": 50})
    assert PretrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", 0),
        ("steps", 1.5),
        ("batch_size", -1),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("weight_decay", -1.0),
        ("warmup_steps", -1),
        ("seed", -3),
        ("source_fraction", 1.0),
        ("test_fraction", 0.0),
        ("width", 0),
        ("device", "tpu"),
        ("task", ""),
        ("eval_every", True),
    ],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises((ValueError, TypeError), match=f"^{field}:"):
        PretrainConfig(**{field: value})


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="unknown field"):
        PretrainConfig.from_dict({"stepz": 3})


def test_batch_size_defaults_to_the_tasks_and_is_stored_resolved():
    from sslcore.pretext import task_class

    assert PretrainConfig(task="contrastive").batch_size == 128
    rotation = PretrainConfig(task="rotation")
    assert rotation.batch_size == task_class("rotation").default_batch_size == 64
    assert rotation.to_dict()["batch_size"] == 64  # config.json never holds None
    assert PretrainConfig(task="rotation", batch_size=32).batch_size == 32
    assert PretrainConfig(task="no-such-task").batch_size == 128  # build() names that error
