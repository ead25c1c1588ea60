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
        ("encoder", "vit"),
        ("protocol", "semi"),
        ("minutes", 0),
        ("minutes", float("inf")),
        ("minutes", "2"),
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


def test_dataset_defaults_fill_what_is_left_unset():
    digits = PretrainConfig(data="digits")
    assert (digits.minutes, digits.steps, digits.batch_size, digits.lr) == (2.0, 2000, 512, 3e-3)
    assert digits.task_options == {"temperature": 0.5}
    assert (digits.encoder, digits.protocol) == ("auto", "in_domain")
    assert (digits.weight_decay, digits.eval_every) == (1e-4, 100)
    shapes = PretrainConfig(data="shapes")
    assert (shapes.minutes, shapes.steps, shapes.lr, shapes.weight_decay) == (1.5, 3000, 5e-3, 0.05)
    assert (shapes.encoder, shapes.width, shapes.eval_every) == ("resnet", 16, 250)
    assert shapes.task_options["spec"]["grayscale_p"] == 0.8
    rotation = PretrainConfig(data="shapes", task="rotation")
    assert (rotation.lr, rotation.weight_decay, rotation.width) == (2e-3, 1e-4, 16)
    # the tuned width belongs to the tuned encoder: a chosen encoder keeps its own default
    assert PretrainConfig(data="shapes", encoder="resnet18").width is None
    assert PretrainConfig(data="shapes", encoder="resnet").width is None
    for config in (digits, shapes):
        assert PretrainConfig.from_dict(config.to_dict()) == config  # stored resolved


def test_given_values_win_and_given_steps_mean_no_time_budget():
    config = PretrainConfig(data="digits", steps=30, lr=1e-3, task_options={"temperature": 0.2})
    assert (config.steps, config.minutes, config.lr) == (30, None, 1e-3)
    assert config.task_options == {"temperature": 0.2}
    assert PretrainConfig(data="shapes", eval_every=7).eval_every == 7
    both = PretrainConfig(data="digits", steps=30, minutes=0.5)
    assert (both.steps, both.minutes) == (30, 0.5)


def test_a_config_stored_before_encoders_and_protocols_keeps_its_meaning():
    stored = PretrainConfig(task="rotation", steps=10).to_dict()
    for name in ("encoder", "protocol", "minutes"):
        del stored[name]
    old = PretrainConfig.from_dict(stored)
    assert (old.encoder, old.protocol, old.minutes) == ("tiny", "transfer", None)
