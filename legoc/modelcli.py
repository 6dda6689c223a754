"""Command-line plumbing shared by `legoc summary` and `legoc graph`: read a
spec, check it, choose its model and build it for the given input sizes."""

from __future__ import annotations

import argparse
import re
import sys

from .infer import Analysis
from .instance import Instance, InstanceError, bind_inputs, instantiate, model_names

_INPUT = re.compile(r"^(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)=)?(?P<sizes>\d+(?:,\d+)*)$")


def input_shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """`--input 3,224,224` or `--input image=3,224,224`: (name, sizes)."""
    match = _INPUT.match(text.replace(" ", ""))
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an input size: write C,H,W (no batch axis), or NAME=C,H,W")
    return match["name"], tuple(int(s) for s in match["sizes"].split(","))


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def depth(text: str) -> int | None:
    """An argparse type for --depth: a whole number of at least 1, or `all` (None)."""
    return None if text == "all" else positive(text)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, --model and --input."""
    parser.add_argument("file", metavar="FILE", help='the .lego spec; "-" reads standard input')
    parser.add_argument("--model", metavar="NAME", help="the model to describe, when the spec has several")
    parser.add_argument(
        "--input",
        metavar="[NAME=]SIZES",
        type=input_shape,
        action="append",
        default=[],
        help="the input's sizes without the batch axis, such as 3,224,224: binds the spec's symbolic sizes (H, W). "
        "Give it once per input, in order, or as NAME=SIZES",
    )


def choose_model(analysis, requested: str | None, name: str, prog: str) -> str | None:
    """The model `--model` names, or the spec's only model; None after
    printing why there is no such choice."""
    models = model_names(analysis)
    if requested is not None and requested in models or requested is None and len(models) == 1:
        return requested or models[0]
    which = f"has no model `{requested}`" if requested is not None else "has several models" if models else "has no model"
    listed = f"; its models are {', '.join(models)}" if models else ""
    print(f"{prog}: error: {name} {which}{listed}; choose one with --model", file=sys.stderr)
    return None


def load_model(file: str, requested: str | None, prog: str) -> tuple[Analysis, str] | int:
    """Read and check a spec ("-": standard input), printing its warnings,
    and choose its model: (analysis, model name), or an exit status after
    printing why not (1: the spec has errors; 2: it cannot be read, or has
    no such model)."""
    from .cli import _config, _enabled, _load, _report
    from .compiler import check_source
    from .diagnostics import SpecError, render

    loaded = _load(file)
    if isinstance(loaded, int):
        return loaded
    name, text, sources = loaded
    config = _config()
    try:
        analysis = check_source(text, name, config.limits)
    except SpecError as exc:
        return _report(exc, sources, config)
    for diag in _enabled(analysis.diagnostics, sources, config):
        print(render(diag, sources), file=sys.stderr)
    model = choose_model(analysis, requested, name, prog)
    return 2 if model is None else (analysis, model)


def load_instance(args: argparse.Namespace, prog: str) -> Instance | int:
    """The chosen model, unrolled; or an exit status after printing why not
    (1: the spec has errors; 2: a usage error, such as a bad --input)."""
    loaded = load_model(args.file, args.model, prog)
    if isinstance(loaded, int):
        return loaded
    analysis, model = loaded
    ir = next(c for c in analysis.classes if c.name == model)
    try:
        return instantiate(analysis, model, bind_inputs(ir, args.input))
    except InstanceError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
