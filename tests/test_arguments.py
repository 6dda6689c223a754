"""Every primitive argument, every way it can be passed (issue #16).

Each keyword of each primitive layer gets each of a dozen values (sizes,
zero, negatives, floats, bools, strings), passed four ways:

- literal:    `conv 4 stride=1.5`
- block:      a block parameter, `block b(v): conv 4 stride=v`, called `b 1.5`
- default:    a model parameter's default, `model M(v=1.5)`
- expression: an expression over a block parameter, `stride=min(v, 100)`

A value legoc accepts must build and run in torch, with the output shape
legoc's analysis gives; a value it rejects must be a diagnostic (code,
file, line and column), and one about an argument's type or range (LG401)
must point at the value where it was written: the call's argument, or
the model parameter's default, with a note at the use. No command
(compile, check, summary, state-dict, graph) may fail with an internal
error (exit 3) on any of these specs.

The grid is walked whole (about 2,500 specs); `LEGOC_ARGUMENT_VALUES` adds
values to it for a longer run (see docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass

import pytest
import torch

from legoc.tools.check import check_text
from legoc.cli import main as legoc_main
from legoc.compiler import compile_source
from legoc.core.diagnostics import SpecError
from legoc.analysis.primitives import PRIMITIVES

from conftest import load_module


@dataclass(frozen=True)
class Context:
    """How to call a primitive: the model's input, the arguments every
    call gives (keyword -> source text), and whether the input holds
    token ids."""

    input: tuple[int, ...]
    args: dict[str, str]
    tokens: bool = False


CONTEXTS = {
    "conv": Context((4, 8, 8), {"out_channels": "4"}),
    "conv_transpose": Context((4, 8, 8), {"out_channels": "4", "kernel_size": "2"}),
    "linear": Context((6,), {"out_features": "4"}),
    "bn": Context((4, 8, 8), {}),
    "layernorm": Context((6, 4), {}),
    "groupnorm": Context((4, 8, 8), {"num_groups": "2"}),
    "layernorm2d": Context((4, 8, 8), {}),
    "stochastic_depth": Context((4, 8, 8), {"p": "0.1"}),
    "permute": Context((4, 8, 8), {"dims": "(1, 2, 0)"}),
    "leaky_relu": Context((4, 8, 8), {}),
    "gelu": Context((4, 8, 8), {}),
    "dropout": Context((4, 8, 8), {}),
    "softmax": Context((4, 8), {}),
    "log_softmax": Context((4, 8), {}),
    "maxpool": Context((4, 8, 8), {"kernel_size": "2"}),
    "avgpool": Context((4, 8, 8), {"kernel_size": "2"}),
    "upsample": Context((4, 4, 4), {"scale_factor": "2"}),
    "pixel_shuffle": Context((8, 4, 4), {"upscale_factor": "2"}),
    "embedding": Context((5,), {"num_embeddings": "10", "embedding_dim": "4"}, tokens=True),
    "lstm": Context((5, 6), {"hidden_size": "4"}),
    "gru": Context((5, 6), {"hidden_size": "4"}),
    "mha": Context((5, 6), {"num_heads": "2"}),
    "shifted_window_attention": Context((6, 6, 4), {"window_size": "3", "num_heads": "2"}),
}
VALUES = ["0", "1", "2", "3", "-1", "1.5", "0.5", "1e-05", "true", "false", '"nearest"', '"x"']
VALUES += [v for v in os.environ.get("LEGOC_ARGUMENT_VALUES", "").split(";") if v]
WAYS = ("literal", "block", "default", "expression")


def test_every_primitive_with_arguments_has_a_context():
    assert {name for name, p in PRIMITIVES.items() if p.params} == set(CONTEXTS)


def _call(prim: str, key: str, value: str) -> str:
    args = dict(CONTEXTS[prim].args)
    if prim == "avgpool" and key == "output_size":
        del args["kernel_size"]  # avgpool takes one or the other
    args[key] = value
    return f"{prim} " + " ".join(f"{k}={v}" for k, v in args.items())


def spec(prim: str, key: str, value: str, way: str) -> tuple[str, int | None]:
    """The spec, and the line where an argument error must be reported
    (None: at the use, for a literal)."""
    shape = ", ".join(map(str, CONTEXTS[prim].input))
    if way == "literal":
        return f"model M():\n    input [{shape}]\n    {_call(prim, key, value)}\n", None
    if way == "default":
        return f"model M(v={value}):\n    input [{shape}]\n    {_call(prim, key, 'v')}\n", 1
    used = "v" if way == "block" else "min(v, 100)"
    text = f"block b(v):\n    {_call(prim, key, used)}\n\nmodel M():\n    input [{shape}]\n    b {value}\n"
    return text, 6


CASES = [(prim, key, value, way) for prim in CONTEXTS for key, _ in PRIMITIVES[prim].params for value in VALUES for way in WAYS]


def _run(*argv: str) -> int:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        return legoc_main(list(argv))


@pytest.mark.parametrize("prim", sorted(CONTEXTS))
def test_arguments_legoc_accepts_run_in_torch(prim, tmp_path):
    """Walks one primitive's part of the grid (one test per primitive keeps
    the report readable and the run short)."""
    failures = []
    for _, key, value, way in (c for c in CASES if c[0] == prim):
        text, origin_line = spec(prim, key, value, way)
        problem = _verdict(text, origin_line, prim, tmp_path)
        if problem:
            failures.append(f"{key}={value} ({way}): {problem}")
    assert not failures, "\n".join(failures)


def _verdict(text: str, origin_line: int | None, prim: str, tmp_path) -> str | None:
    """What is wrong with legoc's handling of `text`, or None."""
    path = tmp_path / "spec.lego"
    path.write_text(text)
    codes = {command: _run(*command.split(), str(path)) for command in ("check", "summary", "state-dict", "graph")}
    crashed = [command for command, code in codes.items() if code == 3]
    if crashed:
        return f"internal error in {', '.join(crashed)}"
    try:
        compiled = compile_source(text, "spec.lego")
    except SpecError as exc:
        return _check_rejection(exc, text, origin_line, codes)
    except Exception as exc:  # noqa: BLE001 - the point of the test
        return f"compile raised {type(exc).__name__}: {exc}"
    if any(code != 0 for code in codes.values()):
        return f"compiles, but the commands exit {codes}"
    return _check_torch(compiled, prim)


def _check_rejection(exc: SpecError, text: str, origin_line: int | None, codes: dict) -> str | None:
    errors = [d for d in exc.diagnostics if d.severity == "error"]
    if not errors:
        return "SpecError without an error"
    if codes["check"] != 1:
        return f"compile rejects it, but check exits {codes['check']}"
    lines = text.count("\n")
    for d in errors:
        if not (d.code.startswith("LG") and d.span.file in ("spec.lego", "<prelude>") and 1 <= d.span.line <= lines):
            return f"diagnostic without a place in the spec: {d}"
    if origin_line is not None and any("a parameter cannot give it" in d.message for d in errors):
        pass  # `dim`, `mode`, `output`: written as constants, an error at the use
    elif origin_line is not None and all(d.code == "LG401" for d in errors):
        if errors[0].span.line != origin_line:
            return f"LG401 at line {errors[0].span.line}, not at the value on line {origin_line}: {errors[0].message}"
        if not errors[0].notes or "is used here" not in errors[0].notes[0].message:
            return f"LG401 at the value without a note at the use: {errors[0]}"
    # The linter agrees with the compiler.
    if not any(d.severity == "error" for d in check_text(text, "spec.lego")):
        return "compile rejects it, but check_text finds no error"
    return None


def _check_torch(compiled, prim: str) -> str | None:
    module = load_module(compiled.code)
    defaults = compiled.analysis.defaults["M"]
    (port,) = defaults.inputs
    shape = (2, *(int(str(d)) for d in port.shape))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dropout= with one recurrent layer warns, as torch does
            model = module.M()
            x = torch.zeros(shape, dtype=torch.long) if CONTEXTS[prim].tokens else torch.randn(shape)
            y = model.eval()(x)
    except Exception as exc:  # noqa: BLE001 - torch rejects what legoc accepted
        return f"legoc accepts it, torch raises {type(exc).__name__}: {exc}"
    want = tuple(int(str(d)) for d in defaults.outputs[0].shape)
    if tuple(y.shape[1:]) != want:
        return f"torch gives {tuple(y.shape[1:])}, legoc said {want}"
    if y.is_floating_point() and not torch.isfinite(y).all():
        return "the output is not finite"
    return None


def _errors(text: str) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.span.line, d.span.column, d.message) for d in check_text(text, "spec.lego") if d.severity == "error"]


@pytest.mark.parametrize(
    "value, code, message",
    [
        ("1.5", "LG401", "the repeat count must be an integer, not 1.5"),
        ("-1", "LG401", "the repeat count must not be negative, not -1"),
        ("true", "LG401", "the repeat count must be an integer, not true"),
        ("100000000", "LG605", "the repeat count 100000000 is over the limit of 10,000"),
    ],
)
def test_a_repeat_count_passed_on_is_checked_at_the_value(value, code, message):
    text = f"block stack(n):\n    repeat n relu\n\nmodel M():\n    input [3, 8, 8]\n    stack {value}\n"
    assert _errors(text) == [(code, 6, 11, message)]
    # The same through a model's default.
    text = f"block stack(n):\n    repeat n relu\n\nmodel M(k={value}):\n    input [3, 8, 8]\n    stack k\n"
    assert _errors(text) == [(code, 4, 11, message)]


@pytest.mark.parametrize("value", ["0", "1.5", "true"])
def test_a_pattern_axis_size_passed_on_is_checked_at_the_value(value):
    text = (
        'block patches(p):\n    rearrange "c (h p1) (w p2) -> (h w) (p1 p2 c)" p1=p p2=p\n\n'
        f"model M():\n    input [3, 8, 8]\n    patches {value}\n"
    )
    errors = _errors(text)
    assert [e[:3] for e in errors] == [("LG401", 6, 13)] * 2
    assert [e[3].split(" must")[0] for e in errors] == ["the size of axis `p1`", "the size of axis `p2`"]


def test_a_float_used_as_a_size_is_an_error_unless_made_an_integer():
    spec = "model M(width=1.5):\n    input [3, 8, 8]\n    conv {}\n    flatten\n"
    assert _errors(spec.format("32 * width")) == [("LG401", 1, 15, "`out_channels` must be an integer, not 48.0")]
    assert _errors(spec.format("(32 * width) // 1")) == [("LG401", 1, 15, "`out_channels` must be an integer, not 48.0")]
    assert _errors(spec.format("32 * 3 // 2")) == []


def test_the_value_is_followed_through_several_blocks():
    text = (
        "block inner(q):\n    dropout q\n\nblock outer(p):\n    inner p\n\n"
        "model M(r=3):\n    input [3, 8, 8]\n    outer r\n"
    )
    (d,) = [d for d in check_text(text, "spec.lego") if d.severity == "error"]
    assert (d.code, d.span.line, d.span.column) == ("LG401", 7, 11)
    assert d.message == "`p` is a probability, from 0 to 1, not 3"
    uses = [(n.message, n.span.line) for n in d.notes if "is used here" in n.message]
    assert uses == [("the value of `q` is used here", 2), ("the value of `p` is used here", 5), ("the value of `r` is used here", 9)]
