"""`--set NAME=VALUE` on `legoc summary`, `state-dict`, `graph` and `check`:
a model built with other arguments than its defaults, from the command line."""

from __future__ import annotations

import argparse
import json

import pytest

from legoc import cli
from legoc.tools.settings import setting

SPEC = """model Stem(width_mult=1.0, c=8, name="x", flag=true):
    input [3, 32, 32]
    conv make_divisible(32 * width_mult, 8) kernel_size=3 stride=2 padding=1
    conv c kernel_size=1
"""


@pytest.mark.parametrize(
    "text, expected",
    [("w=0.75", ("w", 0.75)), ("w=2", ("w", 2)), ("n=-3", ("n", -3)), ("n=1_000", ("n", 1000)), ("f=true", ("f", True)),
     ("f=false", ("f", False)), ('s="row"', ("s", "row")), ("x=1e-6", ("x", 1e-6)), ("x=2.", None), ("x=abc", None),
     ("x=1e400", None), ("=3", None), ("x", None), ("x='row'", None)],
)  # fmt: skip
def test_values_are_lego_constants(text, expected):
    if expected is None:
        with pytest.raises(argparse.ArgumentTypeError):
            setting(text)
    else:
        got = setting(text)
        assert got == expected and type(got[1]) is type(expected[1])


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "stem.lego"
    path.write_text(SPEC)
    return str(path)


def _state_dict(spec, capsys, *args):
    assert cli.main(["state-dict", spec, "--format", "json", *args]) == 0
    return {k: s for k, s in json.loads(capsys.readouterr().out)["entries"]}


def test_state_dict_and_summary_use_the_values(spec, capsys):
    assert _state_dict(spec, capsys)["conv1.weight"] == [32, 3, 3, 3]
    got = _state_dict(spec, capsys, "--set", "width_mult=0.5", "--set", "c=24")
    assert got["conv1.weight"] == [16, 3, 3, 3] and got["conv2.weight"] == [24, 16, 1, 1]
    assert cli.main(["state-dict", spec, "--set", "width_mult=0.5"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("# Stem with width_mult=0.5 and its other defaults: 4 parameter tensors")
    assert cli.main(["summary", spec, "--format", "json", "--set", "width_mult=2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["totals"]["params"] == 64 * 27 + 64 + 8 * 64 + 8
    assert cli.main(["graph", spec, "--set", "c=5"]) == 0
    assert "[5, 16, 16]" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["summary", "state-dict", "graph", "check"])
def test_an_unknown_name_is_a_usage_error_with_did_you_mean(spec, capsys, command):
    assert cli.main([command, spec, "--set", "widht_mult=2"]) == 2
    assert "did you mean `width_mult`?" in capsys.readouterr().err


def test_check_reports_a_value_the_model_cannot_take(spec, capsys):
    assert cli.main(["check", spec, "--set", "c=0"]) == 1
    assert "[LG401]" in capsys.readouterr().out
    assert cli.main(["check", spec, "--set", "c=4", "--set", "width_mult=0.5"]) == 0
    assert cli.main(["state-dict", spec, "--set", "c=2.5"]) == 1
    assert "must be an integer, not 2.5" in capsys.readouterr().err
