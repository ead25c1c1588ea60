"""validate_options checks every option of every embedded dataset without generating data.

Names, types and bounds, each a one-line error naming the option; load_dataset applies the same.
"""

import inspect
import re
import time

import pytest

from sslcore.data import DATASETS, load_dataset, registry, validate_options
from sslcore.errors import DataError

BAD = [
    # (dataset, options, error type, words the message must hold)
    ("shapes", {"n": 1e9}, TypeError, "option n must be an int in [0, 1000000], got 1000000000.0"),
    ("shapes", {"n": 10**9}, ValueError, "option n must be an int in [0, 1000000]"),
    ("shapes", {"n": -1}, ValueError, "option n must be an int"),
    ("shapes", {"n": 10**5000}, ValueError, "got a very large number (int)"),
    ("shapes", {"n": True}, TypeError, "got True (bool)"),
    ("shapes", {"n": "100"}, TypeError, "got '100' (str)"),
    ("shapes", {"n": None}, TypeError, "got None (NoneType)"),
    ("shapes", {"n": 10**6, "size": 64}, DataError, "would decode 11.4 GiB, over the cap"),
    ("shapes", {"size": 4}, ValueError, "option size must be an int in [8, 512]"),
    ("shapes", {"size": 10**6}, ValueError, "option size must be an int in [8, 512]"),
    ("shapes", {"size": 32.0}, TypeError, "option size must be an int"),
    ("shapes", {"seed": -1}, ValueError, "option seed must be an int in [0, 9223372036854775807]"),
    ("shapes", {"seed": 2**64}, ValueError, "option seed"),
    ("shapes", {"noise": float("nan")}, ValueError, "option noise must be a number in [0, 1]"),
    ("shapes", {"noise": 2}, ValueError, "option noise"),
    ("shapes", {"noise": 10**400}, ValueError, "option noise"),
    ("shapes", {"noise": float("inf")}, ValueError, "got inf (float)"),
    ("shapes", {"noise": "0.1"}, TypeError, "option noise"),
    ("shapes", {"max_angle": 1e308}, ValueError, "option max_angle must be a number in [0, 180]"),
    ("shapes", {"max_angle": False}, TypeError, "option max_angle"),
    ("shapes", {"textures": "plain"}, TypeError, "option textures must be a non-empty list"),
    ("shapes", {"textures": []}, ValueError, "got 0 entries"),
    ("shapes", {"textures": ["plain"] * 65}, ValueError, "got 65 entries"),
    ("shapes", {"textures": ["lava"]}, ValueError, "unknown: 'lava'"),
    ("shapes", {"textures": [3]}, ValueError, "unknown: 3 (int)"),
    ("shapes", {"colour": "red"}, TypeError, "unknown option(s) 'colour'; accepted options: n,"),
    ("digits", {"size": 1e3}, TypeError, "option size must be an int in [1, 256]"),
    ("digits", {"size": 0}, ValueError, "option size must be an int in [1, 256]"),
    ("digits", {"size": (8, 10**5)}, ValueError, "option size must be an int in [1, 256]"),
    ("digits", {"n": 5}, TypeError, "unknown option(s) 'n'; accepted options: size"),
    ("wine", {"size": 8}, TypeError, "accepted options: none"),
    ("breast_cancer", {"n": 1}, TypeError, "accepted options: none"),
]


@pytest.mark.parametrize("name, options, error, words", BAD)
def test_bad_options_are_one_line_errors_naming_the_option(name, options, error, words):
    with pytest.raises(error) as e:
        validate_options(name, options)
    message = str(e.value)
    assert words in message and f"dataset {name!r}" in message and "\n" not in message


@pytest.mark.parametrize("name, options, error, words", BAD[:8])
def test_load_dataset_applies_the_same_checks_before_generating(name, options, error, words):
    start = time.perf_counter()
    with pytest.raises(error, match=re.escape(words)):
        load_dataset(name, **options)
    assert time.perf_counter() - start < 1.0  # refused, not generated


@pytest.mark.parametrize(
    "name, options",
    [
        ("shapes", {}),
        ("shapes", {"n": 0, "size": 8, "seed": 2**63 - 1, "noise": 0, "max_angle": 180}),
        ("shapes", {"n": 1000, "size": 512, "textures": ("plain", "plasma")}),
        ("digits", {}),
        ("digits", {"size": None}),
        ("digits", {"size": 256}),
        ("digits", {"size": [8, 16]}),
        ("wine", {}),
        ("breast_cancer", {}),
    ],
)
def test_good_options_pass(name, options):
    assert validate_options(name, options) is None


def test_unknown_name_and_non_dict_options():
    with pytest.raises(ValueError, match=r"unknown embedded dataset '/etc/passwd' \(str\)"):
        validate_options("/etc/passwd", {})
    with pytest.raises(ValueError, match="expected one of shapes, digits, wine, breast_cancer"):
        validate_options(None, {})
    with pytest.raises(TypeError, match=r"dataset 'shapes': options must be a dict, got \[1\]"):
        validate_options("shapes", [1])


def test_the_cap_follows_the_environment(monkeypatch):
    validate_options("shapes", {"n": 1000, "size": 32})
    monkeypatch.setenv("SSLCORE_MAX_DATA_BYTES", str(1000 * 3 * 32 * 32 - 1))
    with pytest.raises(DataError, match="n=1000, size=32: would decode"):
        validate_options("shapes", {"n": 1000, "size": 32})


def test_every_dataset_and_every_option_is_checked():
    # A new dataset or loader parameter must get its bound here, not be forwarded unchecked.
    assert set(registry._OPTION_CHECKS) == set(DATASETS)
    assert {name for name, _, _, _ in BAD} == set(DATASETS)
    for name, loader in DATASETS.items():
        params = set(inspect.signature(loader).parameters)
        bad_keys = {key for n, options, _, _ in BAD if n == name for key in options}
        assert params <= bad_keys, f"{name}: no bad-value case for {params - bad_keys}"
