"""The CLI: `sslcore info`, `sslcore data ...`; user errors exit 2 with one line, no traceback."""

import json
import subprocess
import sys

import pytest

from sslcore import cli
from sslcore._ext import extension_available


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sslcore", *args], capture_output=True, text=True, timeout=120
    )


def test_info_json_in_a_fresh_process():
    result = run_cli("info", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"version", "torch", "extension", "datasets"}
    ext = report["extension"]
    assert set(ext) >= {"available", "openmp", "openmp_threads", "cuda", "error"}
    assert isinstance(ext["openmp_threads"], int) and isinstance(ext["cuda"], bool)
    assert {"shapes", "digits", "wine", "breast_cancer"} <= set(report["datasets"])
    if extension_available():
        assert ext["available"] is True and ext["openmp"] is True and ext["error"] is None


def test_info_text(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "sslcore" in out and "extension:" in out and "shapes" in out
    if extension_available():  # which kernels were built, and why not CUDA when not
        from sslcore._ext import build_info, cuda_build_summary

        assert f"kernels: {cuda_build_summary(build_info())}\n" in out


def test_data_show_json(capsys):
    assert cli.main(["data", "show", "shapes", "--opt", "n=120", "--opt", "size=16", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["dataset"]
    assert report["num_samples"] == 120 and list(report["sample_shape"]) == [3, 16, 16]
    assert sum(report["class_counts"].values()) == 120


def test_option_values_are_typed_and_commas_make_lists():
    assert cli._parse_option("n=3") == ("n", 3)
    assert cli._parse_option("noise=0.1") == ("noise", 0.1)
    assert cli._parse_option("textures=plain,stripes") == ("textures", ["plain", "stripes"])
    assert cli._parse_option("widths=64,32") == ("widths", [64, 32])


def test_data_show_takes_a_list_option(capsys):
    args = ["data", "show", "shapes", "--opt", "n=16", "--opt", "textures=plain,stripes", "--json"]
    assert cli.main(args) == 0
    assert json.loads(capsys.readouterr().out)["dataset"]["num_samples"] == 16
    assert cli.main([*args[:-1], "--opt", "textures=plain,marble"]) == 2
    assert "marble" in capsys.readouterr().err


def test_data_show_text_with_split(capsys):
    assert cli.main(["data", "show", "wine", "--split"]) == 0
    out = capsys.readouterr().out
    assert "wine: 178 samples" in out and "source" in out


def test_data_list(capsys):
    assert cli.main(["data", "list", "--json"]) == 0
    assert "digits" in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "show", "imagenet"], "imagenet"),
        (["data", "show", "/no/such/folder"], "/no/such/folder"),
        (["data", "show", "shapes", "--opt", "n=-5"], "n"),
        (["data", "show", "shapes", "--opt", "colour=red"], "colour"),
        (["data", "show", "shapes", "--opt", "=3"], "KEY=VALUE"),
    ],
)
def test_user_errors_exit_2_without_traceback(args, needle):
    result = run_cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("sslcore: error:") and needle in result.stderr


@pytest.mark.parametrize("kind", ["image", "cifar", "csv"])
def test_corrupt_files_exit_2_naming_the_problem(bad_files, kind):
    path, needle = bad_files[kind]
    result = run_cli("data", "show", str(path))
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and needle in result.stderr


@pytest.mark.parametrize("fraction", ["0", "1.5", "nan", "-0.1"])
def test_label_fraction_outside_unit_interval(capsys, fraction):
    assert cli.main(["data", "show", "wine", "--label-fraction", fraction]) == 2
    err = capsys.readouterr().err
    assert "fraction" in err and "(0, 1]" in err


def test_label_fraction_shows_the_labelled_subset(capsys):
    assert cli.main(["data", "show", "digits", "--label-fraction", "0.01", "--json"]) == 0
    split = json.loads(capsys.readouterr().out)["split"]
    assert split["labelled"]["num_samples"] == 10  # one per class at 1 % of ~720
    assert set(split) == {"source", "target_train", "target_test", "labelled"}


def test_dashboard_rejects_a_bad_port(capsys):
    assert cli.main(["dashboard", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_unknown_subcommand_is_a_usage_error():
    result = run_cli("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr


LAZY_HELP = """
import json, sys
from sslcore import cli

parser = cli.build_parser()
(sub,) = [a for a in parser._actions if a.dest == "command"]
commands = [[]] + [[name] for name in sub.choices] + [["data", "list"], ["data", "show"]]
for command in commands:
    try:
        cli.main([*command, "--help"])
    except SystemExit as exit:
        assert exit.code == 0, command
heavy = ("torch", "streamlit", "numpy", "sklearn", "scipy", "plotly", "PIL", "kornia")
print(json.dumps({"commands": commands, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_help_of_every_command_imports_neither_torch_nor_streamlit():
    result = subprocess.run(
        [sys.executable, "-c", LAZY_HELP], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["commands"]) >= 15  # every subcommand was asked for its help
    assert report["loaded"] == []


def test_help_shows_the_choices_of_the_registries(capsys):
    from sslcore.config import ADAPT_MODES, ENCODERS, PROJECTION_METHODS, PROTOCOLS
    from sslcore.pretext import PRETEXT_TASKS

    for command, names in (
        ("pretrain", PRETEXT_TASKS),
        ("pretrain", ENCODERS),
        ("pretrain", PROTOCOLS),
        ("adapt", ADAPT_MODES),
    ):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "{" + ",".join(names) + "}" in capsys.readouterr().out.replace("\n", "")
    with pytest.raises(SystemExit):
        cli.main(["embed", "--help"])
    assert "{" + ",".join(PROJECTION_METHODS) + "}" in capsys.readouterr().out


def test_pretrain_help_names_the_tuned_defaults_and_the_time_budget(capsys):
    with pytest.raises(SystemExit):
        cli.main(["pretrain", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--minutes MINUTES" in text and "DATASET_DEFAULTS" in text
    assert "--steps and --minutes may extend it" in text
    with pytest.raises(SystemExit):
        cli.main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--draws DRAWS" in text and "(default 10)" in text
    assert "(default 0: to the plateau" in text
