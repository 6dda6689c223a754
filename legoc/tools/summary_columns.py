"""`legoc summary --columns`: torchinfo's `col_names` (input size, output
size, params, params %, kernel size, mult-adds, trainable), each cell the
text torchinfo 1.8's table shows for the same module at the same depth
(tests/test_summary_columns.py compares them row by row). No torch.

torchinfo's rules, which differ from legoc's default columns: a module's
"Param #" and "Param %" are its whole count only at the deepest row shown
(`--depth`) or for a module without children; above, they are the
parameters it holds itself (none: `--`). Its "Mult-Adds" are shown for a
module without children, as the sum of its children's at the deepest row
shown, and `--` otherwise.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Sizes
from .instance import Instance, Op

COLUMNS = {
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "kernel_size": "Kernel Shape",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
    "other_ops": "Other ops*",
}
"""Every column `--columns` takes: torchinfo's names (and the header it
prints), and legoc's `other_ops`."""

RIGHT = frozenset({"num_params", "params_percent", "mult_adds", "other_ops"})
"""The columns of numbers, aligned to the right."""

NONE = "--"  # torchinfo's empty cell

HIDDEN_CHILDREN = frozenset({"MultiheadAttention", "ShiftedWindowAttention"})
"""Modules with child modules that forward never calls as modules (`out_proj`,
`qkv`, `proj`): legoc shows no rows for them, but for torchinfo the module
is not a leaf."""


def input_shape(op: Op, instance: Instance, batch: int) -> tuple:
    """The op's first input (`instance`'s op `op`), with the batch axis
    (`batch`) where it has one, as torchinfo's "Input Shape". A
    normalisation keeps its input's shape: its output's is its input's
    (inside PatchMerging the instance's record is the block's input)."""
    if not op.inputs:
        return ()
    if op.path is not None and op.kind.startswith(_NORMS):
        return ((batch,) if op.batched else ()) + tuple(_known_sizes(op.shape))
    tensor = instance.tensors[op.inputs[0]]
    batched = tensor.producer is None or instance.ops[tensor.producer].batched
    return ((batch,) if batched else ()) + tuple(_known_sizes(tensor.shape))


_NORMS = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RMSNorm")


def kernel_of(op: Op) -> int | tuple | None:
    """A torch module's `kernel_size` attribute: a tuple of one size per
    spatial axis for a convolution (torch expands `kernel_size=3`), the
    value as given for a pooling layer; None for a module without one
    (torchinfo's "Kernel Shape")."""
    value = dict(op.kwargs).get("kernel_size") if op.path is not None and (op.target or "").startswith("nn.") else None
    if value is None:
        return None
    sizes = tuple(sy.value_of(i) for i in value.items) if isinstance(value, Sizes) else sy.value_of(value)  # type: ignore[arg-type, union-attr]
    if "Conv" in op.kind and isinstance(sizes, int):
        return (sizes,) * int(op.kind[-2])
    return sizes


def _known_sizes(shape) -> list:
    return [v if (v := sy.value_of(e)) is not None else e for e in shape]


def parse_columns(text: str) -> tuple[str, ...]:
    """An argparse type for `--columns a,b,c`: the names, in order.

    Raises:
        argparse.ArgumentTypeError: an unknown name or one given twice.
    """
    import argparse

    names = tuple(n.strip() for n in text.split(","))
    for name in names:
        if name not in COLUMNS:
            raise argparse.ArgumentTypeError(f"{name!r} is not a column; the columns are {', '.join(COLUMNS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r} names a column twice")
    return names


def _shape(values: tuple) -> str:
    if not values:
        return NONE
    return "[" + ", ".join(str(v) if isinstance(v, int) else sy.to_text(v) for v in values) + "]"


def _kernel(value) -> str:
    if value is None or value == 0:
        return NONE
    return _shape(value) if isinstance(value, tuple) else str(value)


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}" if n else NONE


def cells(summary, columns: tuple[str, ...], depth: int | None) -> list[list[str]]:
    """The cells of `columns` for the rows of `summary` down to `depth`
    (None: all), one list per row shown, as torchinfo writes them with
    `depth=depth` (`col_names=columns`). A row without a module (`(add)`)
    has only its shapes and other ops; a learned tensor's row (`Parameter`)
    its count, which torchinfo shows in its module's own count instead."""
    rows = summary.rows
    kids: dict[int | None, list] = {}
    for row in rows:
        kids.setdefault(row.parent, []).append(row)

    def module(row) -> bool:
        return row.path is not None and row.kind != "Parameter"

    def leaf(row) -> bool:  # torchinfo's is_leaf_layer: no child module
        return row.kind not in HIDDEN_CHILDREN and not any(module(c) for c in kids.get(row.id, ()))

    inside: dict[int, list] = {}
    held: dict[int, int | None] = {}

    def below(row) -> list:  # the modules inside it, at every depth: torchinfo's LayerInfo.children
        if row.id not in inside:
            found = []
            for child in kids.get(row.id, ()):
                found += ([child] if module(child) else []) + below(child)
            inside[row.id] = found
        return inside[row.id]

    def own(row) -> int | None:  # torchinfo's leftover_params: what it holds itself
        if row.id not in held:
            total = row.params
            for child in below(row):
                part = child.params if leaf(child) else own(child)
                total = None if total is None or part is None else total - part
            held[row.id] = total
        return held[row.id]

    def weighted(row) -> bool:  # a parameter named *weight* or *bias* inside: torchinfo's macs of a module with children > 0
        return any(
            module(c) and (c.params or 0) > 0 or c.kind == "Parameter" and ("weight" in c.path.rsplit(".", 1)[-1] or "bias" in c.path.rsplit(".", 1)[-1]) or weighted(c)
            for c in kids.get(row.id, ())
        )

    total = summary.totals.params
    out = []
    for row in rows:
        if depth is not None and row.depth > depth:
            continue
        at_bottom = row.depth == depth
        values = {"input_size": _shape(row.input_shape), "output_size": _shape(row.shape), "other_ops": _count(row.other_ops)}
        values |= dict.fromkeys(("num_params", "params_percent", "kernel_size", "mult_adds", "trainable"), NONE)
        if row.kind == "Parameter":
            values["input_size"] = NONE
            shown: int | None = row.params
        elif module(row):
            shown = row.params if at_bottom or leaf(row) else own(row)
            values["kernel_size"] = _kernel(row.kernel)
            values["trainable"] = "True" if row.params else NONE if row.params == 0 else "?"
            if leaf(row):
                macs = row.mult_adds
            elif at_bottom and (weighted(row) or row.kind in HIDDEN_CHILDREN):
                parts = [c.mult_adds for c in below(row) if leaf(c)]
                macs = None if None in parts else sum(parts)  # type: ignore[arg-type]
                values["mult_adds"] = "?" if macs is None else f"{macs:,}"
                macs = -1
            else:
                macs = 0
            if macs != -1:
                values["mult_adds"] = _count(macs)
        else:
            shown = 0
        if shown is None or total is None:
            values["num_params"] = values["params_percent"] = "?"
        elif shown > 0:
            values["num_params"] = f"{shown:,}"
            values["params_percent"] = f"{shown / total:.2%}" if total else NONE
        out.append([values[c] for c in columns])
    return out
