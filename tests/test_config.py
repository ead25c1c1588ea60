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
