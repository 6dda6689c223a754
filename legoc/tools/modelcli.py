"""Command-line plumbing shared by `legoc summary`, `legoc graph` and
`legoc state-dict`: their common options (FILE, --model, --input, --config,
--color), and reading a spec, checking it, choosing its model and building
it for the given input sizes (legoc/tools/specfile.py reads the spec)."""

from __future__ import annotations

import argparse
import math
import re
import sys

from ..ir import symbolic as sy
from ..analysis.infer import Analysis
from .inputs import bind_inputs
from .instance import Instance, InstanceError, instantiate, model_names
from ..core.limits import INT64_MAX, Limits
from .settings import add_set_option, settings_of

# ASCII digits only: `\d` and int() also take other scripts' digits (`٣٢`).
_INPUT = re.compile(r"(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)=)?(?P<sizes>[0-9]+(?:,[0-9]+)*)")
_DIGITS = re.compile(r"[0-9]+")
_LONGEST = 30
"""Digits past which a number is refused before int() reads it (int() of a
huge digit string is slow, and refused past 4,300 digits); any limit is far
below 10**30."""


def input_shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """`--input 3,224,224` or `--input image=3,224,224`: (name, sizes).
    Sizes are ASCII digits; `load_instance` checks them against the limits."""
    match = _INPUT.fullmatch(text.replace(" ", ""))
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an input size: write C,H,W (no batch axis), or NAME=C,H,W")
    sizes = match["sizes"].split(",")
    if any(len(s.lstrip("0")) > _LONGEST for s in sizes):
        raise argparse.ArgumentTypeError(f"{text!r} has a size too large for any tensor")
    return match["name"], tuple(int(s) for s in sizes)


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1, in ASCII digits."""
    if not _DIGITS.fullmatch(text) or len(text.lstrip("0")) > _LONGEST or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def depth(text: str) -> int | None:
    """An argparse type for --depth: a whole number of at least 1, or `all` (None)."""
    return None if text == "all" else positive(text)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, --model, --input, --config and --color (of the diagnostics on stderr)."""
    from .config import add_config_option
    from .report import add_color_option

    parser.add_argument("file", metavar="FILE", help='the .lego spec; "-" reads standard input')
    parser.add_argument("--model", metavar="NAME", help="the model to describe, when the spec has several")
    parser.add_argument(
        "--input",
        metavar="[NAME=]SIZES",
        type=input_shape,
        action="append",
        default=[],
        help="the input's sizes without the batch axis, such as 3,224,224: binds the spec's symbolic sizes (H, W), "
        "or replaces its fixed ones where the model takes them (docs/summary.md). Give it once per input, in order, or as NAME=SIZES",
    )
    add_set_option(parser)
    add_config_option(parser)
    add_color_option(parser, "the diagnostics on stderr")


def pick_model(analysis, requested: str | None) -> str:
    """The model named `requested`, or the spec's only model.

    Raises:
        InstanceError: no such model, or several and none requested; the
            message reads after "the spec" or a file name ("has several
            models; its models are A, B").
    """
    models = model_names(analysis)
    if requested is not None and requested in models or requested is None and len(models) == 1:
        return requested or models[0]
    which = f"has no model `{requested}`" if requested is not None else "has several models" if models else "has no model"
    listed = f"; its models are {', '.join(models)}" if models else ""
    raise InstanceError(f"{which}{listed}")


def choose_model(analysis, requested: str | None, name: str, prog: str) -> str | None:
    """The model `--model` names, or the spec's only model; None after
    printing why there is no such choice."""
    try:
        return pick_model(analysis, requested)
    except InstanceError as exc:
        print(f"{prog}: error: {name} {exc}; choose one with --model", file=sys.stderr)
        return None


def load_model(args: argparse.Namespace, prog: str) -> tuple[Analysis, str] | int:
    """Read and check the spec `args.file` ("-": standard input) under the
    settings of `args.config` (None: the nearest pyproject.toml), printing
    its warnings (coloured as `args.color` says), and choose its model
    (`args.model`): (analysis, model name), or an exit status after
    printing why not (1: the spec has errors; 2: it or the config cannot be
    read, or it has no such model)."""
    loaded = _load_model(args, prog)
    return loaded if isinstance(loaded, int) else loaded[:2]


def _load_model(args: argparse.Namespace, prog: str) -> tuple[Analysis, str, Limits, Analysis | None] | int:
    """`load_model`, with the limits the spec was checked under and, where
    `--input` replaced a fixed input size, the spec's own analysis."""
    from ..compiler import UnknownSetting, check_source
    from .specfile import checked

    original: list[Analysis] = []

    def stage(text: str, name: str, limits):
        analysis = check_source(text, name, limits, settings_of(args))
        if getattr(args, "input", None):  # --input in place of a fixed size: check the model at that size
            resized = resized_analysis(analysis, text, name, limits, args)
            if resized is not analysis:
                original.append(analysis)
            analysis = resized
        return analysis, analysis.diagnostics

    try:
        loaded = checked(args.file, args.config, args.color, prog, stage)
    except UnknownSetting as exc:
        print(f"{prog}: error: --set {exc.name}: {exc}", file=sys.stderr)
        return 2
    if isinstance(loaded, int):
        return loaded
    spec, config, analysis = loaded
    model = choose_model(analysis, args.model, spec.name, prog)
    return 2 if model is None else (analysis, model, config.limits, original[0] if original else None)


def resized_analysis(analysis: Analysis, text: str, name: str, limits: Limits, args: argparse.Namespace) -> Analysis:
    """The analysis of the spec `text` with the model's literal input sizes
    replaced by `args.input`'s (legoc/tools/resize.py); `analysis` itself
    when none differs or the model is not chosen yet.

    Raises:
        SpecError: the model does not hold at the new sizes: the spec's
            diagnostics, each with a note naming the replaced sizes.
    """
    from ..compiler import check_source
    from .resize import resized_analysis as recheck

    try:
        model = pick_model(analysis, args.model)
    except InstanceError:
        return analysis
    resized = recheck(text, name, analysis, model, args.input, lambda new: check_source(new, name, limits, settings_of(args)), limits.max_size)
    return analysis if resized is None else resized


def load_instance(args: argparse.Namespace, prog: str) -> Instance | int:
    """The chosen model, unrolled; or an exit status after printing why not
    (1: the spec has errors; 2: a usage error, such as a bad --input)."""
    loaded = _load_model(args, prog)
    if isinstance(loaded, int):
        return loaded
    analysis, model, limits, original = loaded
    try:
        instance = build_instance(analysis, model, args.input, getattr(args, "batch", 1), limits, "--")  # `legoc summary --batch N`
        if original is not None:  # a fixed input size replaced: the generated module must be the same
            from .resize import check_resized

            check_resized(original, model, args.input, instance)
    except InstanceError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    return instance


def build_instance(
    analysis: Analysis,
    model: str,
    inputs: list[tuple[str | None, tuple[int, ...]]],
    batch: int,
    limits: Limits,
    flag: str = "",
) -> Instance:
    """Model `model` unrolled for the input sizes `inputs` ((input name or
    None, sizes without the batch axis) pairs, binding its symbolic sizes)
    and `batch`, within `limits`: what `legoc summary` and `legoc graph`
    describe, and `legoc.summary` returns.

    `flag` prefixes the names `input` and `batch` in messages ("--" on the
    command line, which also names the setting that raises the limit).

    Raises:
        InstanceError: a size over `limits.max_size`, inputs that do not
            fit the model, or a tensor too large (`check_sizes`).
    """
    ir = next(c for c in analysis.classes if c.name == model)
    over = f"over the limit of {limits.max_size:,} for a size" + (" (max-size under [tool.legoc.limits])" if flag else "")
    for _, sizes in inputs:
        for size in sizes:
            if size > limits.max_size:
                raise InstanceError(f"{flag}input size {size:,} is {over}")
    if batch > limits.max_size:
        raise InstanceError(f"{flag}batch {batch:,} is {over}")
    instance = instantiate(analysis, model, bind_inputs(ir, inputs))
    check_sizes(instance, limits, batch)
    return instance


def check_sizes(instance: Instance, limits: Limits, batch: int = 1) -> None:
    """The limits a spec's own sizes meet (legoc/analysis/definitions.py, LG606), for a model
    built with `--input` sizes: every known size of every tensor at most
    `limits.max_size`, every tensor's element count (for `batch` samples)
    within int64.

    Raises:
        InstanceError: naming the first tensor over a limit and the layer
            that makes it.
    """
    for op in (None, *instance.ops):
        shapes = [instance.tensors[t].shape for t in instance.inputs] if op is None else [op.shape]
        where = "a model input" if op is None else f"the output of `{op.path or op.kind}`" + (f" ({op.span})" if op.span else "")
        for shape in shapes:
            known = [v for v in map(sy.value_of, shape) if isinstance(v, int) and not isinstance(v, bool)]
            over = [v for v in known if v > limits.max_size]
            if over:
                raise InstanceError(
                    f"with these input sizes, {where} has a size of {over[0]:,}, over the limit of {limits.max_size:,} for a size "
                    "(max-size under [tool.legoc.limits])"
                )
            if batch * math.prod(known) > INT64_MAX:
                raise InstanceError(
                    f"with these input sizes, {where} has {batch * math.prod(known):,} elements"
                    + (f" (batch {batch:,})" if batch != 1 else "")
                    + ", which cannot be represented in torch's int64"
                )
