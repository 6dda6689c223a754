"""`legoc graph`: a model's architecture as a Mermaid or Graphviz diagram.

    legoc graph FILE [--model NAME] [--input SIZES] [--format mermaid|dot]
                     [--depth N] [--direction TB|LR] [--dpi N] [--no-fold]
                     [--no-hyperparameters] [--no-u] [-o OUT]

The diagram is drawn from the model built with its defaults (instance.py):
every module call is a node labelled `path: Kind` (`conv1: Conv2d`; the
command adds the key hyperparameters, `conv1: Conv2d 7x7/2, 64`, from
graphlabels.py), every tensor operation a small node (`+`, `cat`), the
model's inputs and outputs rounded nodes named as in the spec with their
shapes, and every edge is labelled with the shape of the tensor it carries,
without the batch axis (`[64, H // 2, W // 2]`). A block or nn.Sequential
is a subgraph holding its calls; `--depth N` shows N levels of modules and
draws the blocks on the last level as single nodes. The command folds runs
of identical blocks into one node marked `x N`, and draws a U-Net whose
skips pair levels as a U in DOT (graphplan.py decides both).

Mermaid (the default) renders in GitHub markdown; DOT is Graphviz's language.
`-o` with .svg, .png or .pdf runs Graphviz's `dot` to render the image.
Both texts are deterministic: the same spec gives the same bytes.
docs/graph.md describes the options and shows examples.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from ..ir import symbolic as sy
from .graphlabels import hyperparameters
from .graphplan import Plan, ULayout, make_plan, shape_text, u_layout
from .instance import Instance, Op

IMAGE_FORMATS = ("svg", "png", "pdf")
DIRECTIONS = ("TB", "LR")
"""--direction: top to bottom (the default) or left to right."""

# Tensor operations (ops without a module) and how their nodes read.
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "cat": "cat", "rearrange": "rearrange", "reduce": "reduce", "state": "state"}

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: apt install graphviz; macOS: brew install graphviz; "
    "others: https://graphviz.org/download/), or write the diagram as text: "
    "`--format dot -o model.dot` for Graphviz elsewhere, or Mermaid (the default), which GitHub renders in markdown"
)


def _label(instance: Instance, plan: Plan, op: Op, base: str | None, details: bool = False) -> str:
    """`conv1: Conv2d`, the path relative to the enclosing subgraph's, and
    with `details` the key hyperparameters (`conv1: Conv2d 7x7/2, 64`); a
    folded run as `1–3: Bottleneck x 3`, a block of calls of one kind as
    `layer1: Bottleneck x 3`; or a tensor operation's symbol."""
    if op.path is None:
        return _SYMBOLS.get(op.kind, op.kind)

    def relative(path: str) -> str:
        return path.removeprefix(f"{base}.") if base else path

    path = relative(op.path)
    if op.id in plan.folds:
        run = plan.folds[op.id]
        return f"{path}–{relative(instance.ops[run[-1]].path or '')}: {op.kind} x {len(run)}"
    if op.id in plan.repeats:
        kind, count = plan.repeats[op.id]
        return f"{path}: {kind} x {count}"
    extra = hyperparameters(op) if details else ""
    return f"{path}: {op.kind} {extra}" if extra else f"{path}: {op.kind}"


def _inputs(instance: Instance) -> list[tuple[str, str]]:
    """(node id, label) of the model's inputs."""
    return [(f"in{k}", f"{instance.tensors[t].name}: {shape_text(instance, t)}") for k, t in enumerate(instance.inputs)]


def _outputs(instance: Instance) -> list[tuple[str, str]]:
    """(node id, label) of the model's outputs."""
    return [(f"out{k}", f"{name}: {shape_text(instance, t)}") for k, (name, t) in enumerate(instance.outputs)]


# ---------------------------------------------------------------- Mermaid

_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "`": "#96;", "\n": " ", "\r": " "}


def mermaid_string(text: str) -> str:
    """`text` as a quoted Mermaid label: characters that could end the
    string or be read as markup (`"`, `#`, `&`, `<`, `>`, a backtick) become
    Mermaid's entity codes, line breaks spaces."""
    return '"' + "".join(_MERMAID_ENTITIES.get(c, c) for c in text) + '"'


def to_mermaid(instance: Instance, depth: int | None = None, *, direction: str = "TB", details: bool = False, fold: bool = False) -> str:
    """The model as a Mermaid flowchart.

    Args:
        instance: the model, from `instance.instantiate`.
        depth: how many levels of modules to show (1: the model's own
            calls); None shows every level. Must be at least 1.
        direction: "TB" (top to bottom: `flowchart TD`) or "LR" (left to
            right: `flowchart LR`).
        details: label each torch module with its key hyperparameters
            (`conv1: Conv2d 7x7/2, 64`; graphlabels.py).
        fold: draw a run of identical blocks, each feeding the next, as one
            node (`1–3: Bottleneck x 3`), and a collapsed block of calls of
            one kind as `layer1: Bottleneck x 3` (graphplan.py).

    Raises:
        ValueError: `depth` is less than 1, or an unknown `direction`.
    """
    plan = make_plan(instance, _check_depth(depth), fold)
    lines = [f"flowchart {'TD' if _check_direction(direction) == 'TB' else direction}"]
    lines += [f"    {node}([{mermaid_string(label)}])" for node, label in _inputs(instance)]

    def emit(parent: Op | None, indent: str) -> None:
        base = None if parent is None else parent.path
        for i in plan.items.get(None if parent is None else parent.id, []):
            op = instance.ops[i]
            if i in plan.expanded:
                lines.append(f"{indent}subgraph s{i} [{mermaid_string(_label(instance, plan, op, None))}]")
                emit(op, indent + "    ")
                lines.append(f"{indent}end")
            else:
                # A circle for a tensor operation, a double-edged box for a collapsed block.
                left, right = ("((", "))") if op.path is None else ("[", "]") if op.leaf else ("[[", "]]")
                lines.append(f"{indent}n{i}{left}{mermaid_string(_label(instance, plan, op, base, details))}{right}")

    emit(None, "    ")
    lines += [f"    {node}([{mermaid_string(label)}])" for node, label in _outputs(instance)]
    lines += [f"    {a} -->|{mermaid_string(label)}| {b}" for a, b, label in plan.edges]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- DOT

_DOT_HEADER = """\
    graph [rankdir={direction}{dpi}, fontname="Helvetica", fontsize=11, labeljust=l, nodesep=0.25, ranksep=0.3];
    node [shape=box, style="rounded,filled", fillcolor="#dde8f6", color="#5b7aa6", fontname="Helvetica", fontsize=10, height=0.3];
    edge [fontname="Helvetica", fontsize=8, color="#666666", fontcolor="#444444"];
"""
# Attributes beyond the defaults above, by kind of node.
_DOT_STYLE = {
    "module": "",
    "block": ', fillcolor="#c9dbf2", penwidth=2',
    "tensor": ', shape=circle, fillcolor="#eeeeee", color="#888888", fontsize=9, width=0.3, margin=0.02',
    "tensor word": ', shape=box, style="rounded,filled", fillcolor="#eeeeee", color="#888888", fontsize=9, height=0.2, margin="0.06,0.02"',
    "port": ', shape=oval, fillcolor="#fbe7c6", color="#b08a4a"',
}
_CLUSTER_FILLS = ("#f6f8fb", "#ffffff")


def dot_string(text: str) -> str:
    """`text` as a double-quoted DOT string: backslashes and quotes escaped,
    line breaks as DOT's `\\n`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(
    instance: Instance,
    depth: int | None = None,
    *,
    direction: str = "TB",
    dpi: int | None = None,
    details: bool = False,
    fold: bool = False,
    u_shape: bool = False,
) -> str:
    """The model as a Graphviz digraph, with one cluster subgraph per
    expanded block.

    Args:
        instance: the model, from `instance.instantiate`.
        depth: how many levels of modules to show (1: the model's own
            calls); None shows every level. Must be at least 1.
        direction: "TB" (top to bottom) or "LR" (left to right): the
            graph's `rankdir`.
        dpi: the graph's `dpi` (dots per inch of a rendered PNG; Graphviz's
            default is 96), or None to leave it out.
        details: label each torch module with its key hyperparameters
            (`conv1: Conv2d 7x7/2, 64`; graphlabels.py).
        fold: draw a run of identical blocks, each feeding the next, as one
            node (`1–3: Bottleneck x 3`), and a collapsed block of calls of
            one kind as `layer1: Bottleneck x 3` (graphplan.py).
        u_shape: draw a model whose skips pair levels (a U-Net;
            graphplan.u_layout) as a U: the encoder down, the decoder back
            up beside it, each skip across on its level's rank.

    Raises:
        ValueError: `depth` or `dpi` is less than 1, or an unknown `direction`.
    """
    plan = make_plan(instance, _check_depth(depth), fold)
    if dpi is not None and dpi < 1:
        raise ValueError(f"dpi must be at least 1, not {dpi}")
    u = u_layout(instance, plan) if u_shape else None
    extra = ("" if dpi is None else f", dpi={dpi}") + ("" if u is None else ", newrank=true")  # newrank: a rank may cross clusters
    header = _DOT_HEADER.format(direction=_check_direction(direction), dpi=extra)
    lines = [f"digraph {dot_string(instance.model)} {{", header.rstrip("\n")]
    lines += [f"    {node} [label={dot_string(label)}{_DOT_STYLE['port']}];" for node, label in _inputs(instance)]

    def emit(parent: Op | None, indent: str) -> None:
        base = None if parent is None else parent.path
        for i in plan.items.get(None if parent is None else parent.id, []):
            op = instance.ops[i]
            label = dot_string(_label(instance, plan, op, None if i in plan.expanded else base, details))
            if i in plan.expanded:
                fill = _CLUSTER_FILLS[op.depth % 2]
                lines.append(f"{indent}subgraph cluster_{i} {{")
                lines.append(f'{indent}    label={label}; style="rounded,filled"; fillcolor="{fill}"; color="#9aa5b1";')
                emit(op, indent + "    ")
                lines.append(f"{indent}}}")
            else:
                # A circle round a symbol (`+`, `cat`), a small box round a word (`rearrange`).
                tensor = "tensor" if len(_label(instance, plan, op, None)) <= 3 else "tensor word"
                style = _DOT_STYLE[tensor if op.path is None else "module" if op.leaf else "block"]
                lines.append(f"{indent}n{i} [label={label}{style}];")

    emit(None, "    ")
    lines += [f"    {node} [label={dot_string(label)}{_DOT_STYLE['port']}];" for node, label in _outputs(instance)]
    if u is None:
        lines += [f"    {a} -> {b} [label={dot_string(label)}];" for a, b, label in plan.edges]
        return "\n".join(lines) + "\n}\n"
    lines += _u_edges(instance, plan, u)
    return "\n".join(lines) + "\n}\n"


def _u_edges(instance: Instance, plan: Plan, u: ULayout) -> list[str]:
    """The edges of a U-Net drawn as a U (graphplan.u_layout): the encoder
    down, the decoder's edges ranked backwards (`dir=back`: drawn from their
    source, ranked from their target) so that it climbs back up, and each
    skip across, its ends on one rank (the graph's newrank lets a rank
    cross clusters)."""
    lines = []
    skips = set(u.skips)
    for index, (a, b, label) in enumerate(plan.edges):
        if index in skips:
            lines.append(f"    {a} -> {b} [label={dot_string(label)}, constraint=false, color=\"#b08a4a\", style=dashed];")
        elif u.side(instance, b) == "decoder":
            lines.append(f"    {b} -> {a} [label={dot_string(label)}, dir=back];")
        else:
            lines.append(f"    {a} -> {b} [label={dot_string(label)}];")
    for level, index in enumerate(u.skips, 1):
        a, b, _ = plan.edges[index]
        lines.append(f"    subgraph level_{level} {{ rank=same; {a}; {b}; }}")
    return lines


def _check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    return direction


def _check_depth(depth: int | None) -> int | None:
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1, not {depth}")
    return depth


# ---------------------------------------------------------------- command line


DESCRIPTION = (
    "Draw a spec's model, built with its default arguments, as a Mermaid flowchart or a Graphviz "
    "digraph: one node per module call with its key hyperparameters, blocks as subgraphs, runs of identical blocks "
    "folded as `x N`, edges labelled with tensor shapes (no batch axis), a U-Net drawn as a U in DOT."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`legoc graph`'s description and options, on its subparser."""
    from .modelcli import add_model_arguments, depth, positive

    parser.description = DESCRIPTION
    add_model_arguments(parser)
    parser.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        help="mermaid (the default; GitHub renders it in markdown) or dot (Graphviz); "
        "-o with .dot or .gv implies dot, and .svg, .png or .pdf renders the dot text",
    )
    parser.add_argument("--depth", type=depth, metavar="N", help="show N levels of modules, drawing deeper blocks as single nodes (default: all, every level)")
    parser.add_argument("--direction", choices=DIRECTIONS, default="TB", help="TB draws top to bottom (the default), LR left to right")
    parser.add_argument(
        "--no-fold",
        dest="fold",
        action="store_false",
        help="draw every block of a repeat; by default a run of identical blocks is one node marked `x N`",
    )
    parser.add_argument(
        "--no-u",
        dest="u_shape",
        action="store_false",
        help="draw a U-Net as one column; by default, DOT draws a model whose skips pair levels as a U (encoder down, decoder up, skips across)",
    )
    parser.add_argument(
        "--no-hyperparameters",
        dest="details",
        action="store_false",
        help="label modules by path and class only (`conv1: Conv2d`), without their key hyperparameters (`conv1: Conv2d 7x7/2, 64`)",
    )
    parser.add_argument("--dpi", type=positive, metavar="N", help="dots per inch of a PNG rendered from DOT (Graphviz's default: 96); DOT output only")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        default="-",
        help='where to write the diagram; "-" (the default) is standard output. '
        "OUT ending in .svg, .png or .pdf is rendered with Graphviz's `dot`",
    )


def run(args: argparse.Namespace) -> int:
    """Run `legoc graph`; returns the exit status (0; 1: the spec has
    errors; 2: a usage error, no `dot` to render an image, or OUT cannot be
    written). OUT is written only on success.

    Raises:
        argparse.ArgumentError: --format mermaid with an image OUT, or
            --dpi with Mermaid (the command line prints it as a usage error).
    """
    from .files import write_output
    from .modelcli import load_instance
    from .specfile import refuses_input_as_output

    if refuses_input_as_output(args.file, args.output, "legoc graph"):
        return 2
    suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
    image = suffix if suffix in IMAGE_FORMATS else None
    if image and args.format == "mermaid":
        raise argparse.ArgumentError(None, f"legoc renders .{image} from DOT only; drop --format mermaid, or write Mermaid text to a .mmd file")
    dot = shutil.which("dot") if image else None
    if image and dot is None:
        print(f"legoc graph: error: writing {args.output} needs Graphviz's `dot` program, which is not on PATH; {INSTALL_HINT}", file=sys.stderr)
        return 2
    use_dot = args.format == "dot" or args.format is None and (image or suffix in ("dot", "gv"))
    if args.dpi is not None and not use_dot:
        raise argparse.ArgumentError(None, "--dpi sets the resolution of Graphviz's rendering: it needs DOT (--format dot, or -o with .dot, .gv, .svg, .png or .pdf)")
    instance = load_instance(args, "legoc graph")
    if isinstance(instance, int):
        return instance
    style = {"direction": args.direction, "details": args.details, "fold": args.fold}
    text = to_dot(instance, args.depth, dpi=args.dpi, u_shape=args.u_shape, **style) if use_dot else to_mermaid(instance, args.depth, **style)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        write_output(args.output, _render(dot, text, image, args.output) if image else text)
    except _RenderFailed as exc:
        print(f"legoc graph: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"legoc graph: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


class _RenderFailed(Exception):
    """Graphviz's `dot` could not be run, or failed; the message says which."""


def _render(dot: str, text: str, fmt: str, path: str) -> bytes:
    """DOT `text` rendered by `dot -T<fmt>` for OUT `path`, read from its standard output
    (the caller writes it to OUT with files.write_output, as every output
    is written, so that a failure leaves OUT as it was).

    Raises:
        _RenderFailed: `dot` cannot be run or exits with an error (its
            messages are passed on to stderr).
    """
    try:
        done = subprocess.run([dot, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True)
    except OSError as exc:
        raise _RenderFailed(f"cannot run {dot}: {exc.strerror}") from None
    sys.stderr.write(done.stderr.decode("utf-8", errors="replace"))
    if done.returncode != 0:
        raise _RenderFailed(f"Graphviz's dot failed (exit status {done.returncode}) to render {path}")
    return done.stdout
