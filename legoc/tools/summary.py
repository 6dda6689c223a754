"""`legoc summary`: a model's layers, shapes, parameters and compute, from
shape inference alone (no torch, no forward pass).

The counts follow torchinfo 1.8's definitions, so they can be compared with
`torchinfo.summary` of the generated module (tests/test_summary_torchinfo.py
does, for every example); what torchinfo leaves out is counted in a column
of its own. docs/summary.md gives every formula.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod

from ..ir import symbolic as sy
from ..ir.nodes import ELEMENTWISE, Sizes
from .instance import Instance, Op
from .statedict import torch_entries
from .summary_columns import input_shape, kernel_of

BYTES = 4  # float32
MB = 1e6  # torchinfo's megabyte
DTYPES = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}
"""`--dtype`: the bytes of one value of the parameters and activations."""


@dataclass(frozen=True)
class Row:
    """One module call (or tensor operation) of the summary.

    `shape` is its output with the batch axis first (sizes are ints, or
    `symbolic.Expr`s where the input's size was not given). The counts are
    for the whole batch and, for a module with children, the sum over them;
    None where they depend on a size that is not known.
    """

    path: str | None
    kind: str
    depth: int
    shape: tuple
    params: int | None
    buffers: int | None
    mult_adds: int | None
    other_ops: int | None
    leaf: bool
    results: tuple = ()  # a block that returns several tensors: each one's shape (`shape` is the first's, as torchinfo's)
    id: int = 0  # its index in `Summary.rows`
    parent: int | None = None  # the row of the module it belongs to
    input_shape: tuple = ()  # its first input with the batch axis, as torchinfo's "Input Shape"; () for none
    kernel: int | tuple | None = None  # the module's kernel_size attribute, as torch stores it; None for none


@dataclass(frozen=True)
class Totals:
    """The model's totals; memory in MB (10^6 bytes) for values of the
    summary's dtype (float32 unless `--dtype`).

    `forward_backward_mb` and `total_mb` follow torchinfo's definitions
    ("Forward/backward pass size", "Estimated Total Size");
    `activations_mb` is legoc's estimate of a forward pass's activations.
    """

    params: int | None
    trainable: int | None
    non_trainable: int | None
    buffers: int | None
    mult_adds: int | None
    other_ops: int | None
    input_mb: float | None
    activations_mb: float | None
    forward_backward_mb: float | None
    params_mb: float | None
    total_mb: float | None


@dataclass(frozen=True)
class Summary:
    """What `legoc summary` prints: every row (all depths) and the totals."""

    model: str
    class_name: str
    batch: int
    inputs: tuple[tuple[str, tuple], ...]
    rows: tuple[Row, ...]
    totals: Totals
    tied: int | None = 0  # parameters "Total params" counts twice: a tied tensor (`lm_head.weight = wte.weight`)
    dtype: str = "float32"  # the values' type the memory figures assume (a key of DTYPES)


def summarize(instance: Instance, batch: int = 1, dtype: str = "float32") -> Summary:
    """Count parameters, mult-adds and memory for a batch of `batch` inputs.

    Args:
        instance: the model, from `instance.instantiate`.
        batch: the batch size (the counts and memory scale with it).
        dtype: the parameters' and activations' type, a key of DTYPES: the
            memory figures use its size (token ids stay int64).

    Returns:
        One row per op of `instance`, in execution order, and the totals.
    """
    children: dict[int | None, list[int]] = {}
    for op in instance.ops:
        children.setdefault(op.parent, []).append(op.id)
    costs: dict[int, _Cost] = {}
    for op in reversed(instance.ops):  # an op's children come after it, so they are counted first
        costs[op.id] = _leaf_cost(*_unbatched(op, batch), instance) if op.leaf else _Cost.total(costs[c] for c in children.get(op.id, ()))
    top = _Cost.total(costs[c] for c in children.get(None, []))
    rows = tuple(
        Row(
            op.path, op.kind, op.depth, ((batch,) if op.kind != "Parameter" and op.batched else ()) + tuple(_sizes(op.shape)), *costs[op.id].figures(), op.leaf,
            tuple((batch, *_sizes(instance.tensors[t].shape)) for t in op.results),
            op.id, op.parent, input_shape(op, instance, batch), kernel_of(op),
        )
        for op in instance.ops
    )
    inputs = tuple((t.name or "x", (batch, *_sizes(t.shape))) for t in (instance.tensors[i] for i in instance.inputs))
    return Summary(instance.model, instance.class_name, batch, inputs, rows, _totals(instance, top, batch, DTYPES[dtype]), _tied(instance), dtype)


def _tied(instance: Instance) -> int | None:
    """The parameters of the tensors that a tie puts in a second module."""
    count = 0
    for key in instance.tied:
        path, name = key.rsplit(".", 1)
        op = next(op for op in instance.ops if op.path == path)
        args = [sy.value_of(a) for a in op.args]
        kwargs = {k: sy.value_of(v) for k, v in op.kwargs}
        if None in args or None in kwargs.values():
            return None
        count += sum(prod(shape) for entry, shape, _ in torch_entries(op.target or "", args, kwargs) if entry == name)
    return count


# ------------------------------------------------------------------ counting


@dataclass(frozen=True)
class _Cost:
    """A cost figure set; None marks an unknown figure."""

    params: int | None = 0
    buffers: int | None = 0
    mult_adds: int | None = 0
    other_ops: int | None = 0
    activations: int | None = 0  # output elements of ops that make a new tensor
    grad_outputs: int | None = 0  # output elements of modules with parameters (torchinfo)

    def figures(self) -> tuple:
        return self.params, self.buffers, self.mult_adds, self.other_ops

    @staticmethod
    def total(costs) -> "_Cost":
        fields = ("params", "buffers", "mult_adds", "other_ops", "activations", "grad_outputs")
        sums: dict[str, int | None] = dict.fromkeys(fields, 0)
        for cost in costs:
            for f in fields:
                a, b = sums[f], getattr(cost, f)
                sums[f] = None if a is None or b is None else a + b
        return _Cost(**sums)


_UNKNOWN = _Cost(None, None, None, None, None, None)


def _unbatched(op: Op, batch: int) -> tuple[Op, int | None]:
    """An op and the batch its costs scale with. An op without the batch
    axis (on positions) is counted as torchinfo counts it: its first axis
    stands for the batch (an embedding of [T] positions: T lookups)."""
    if op.batched or not op.shape:
        return op, batch
    first = sy.value_of(op.shape[0]) if isinstance(op.shape[0], sy.Expr) else op.shape[0]
    return replace(op, shape=op.shape[1:]), first if isinstance(first, int) else None


def _leaf_cost(op: Op, batch: int | None, instance: Instance) -> _Cost:
    if batch is None:  # a length not known: the parameters still are
        known = _leaf_cost(op, 1, instance)
        return _Cost(known.params, known.buffers, None, None, None, None)
    out = _ints(op.shape)
    ins = [_ints(instance.tensors[t].shape) for t in op.inputs]
    if op.kind == "Parameter":  # a learned tensor: parameters, no work of its own
        return _Cost(params=None if out is None else prod(out))
    if op.path is None:  # a tensor operation: no parameters
        if out is None or any(i is None for i in ins):
            return _Cost(0, 0, None, None, None, None)
        n = batch * prod(out)
        if op.kind in ELEMENTWISE:  # add, sub, mul, div: one operation per output element and operand after the first (or constant)
            return _Cost(other_ops=n * max(len(ins) - 1, 1), activations=n)
        if op.kind == "reduce":
            return _Cost(other_ops=batch * prod(ins[0]), activations=n)  # type: ignore[arg-type]
        if op.kind == "cat":
            return _Cost(activations=n)
        if op.kind == "matmul":  # one multiply-add per output element and step of the inner axis
            return _Cost(other_ops=n * ins[0][-1], activations=n)  # type: ignore[index]
        if op.kind == "attention":  # q k^T, then the weights times v: L*S*E + L*S*Ev per leading index
            return _Cost(other_ops=batch * prod(out[:-1]) * ins[1][-2] * (ins[0][-1] + out[-1]), activations=n)  # type: ignore[index]
        if op.kind == "einsum":  # one multiply-add per combination of the axes' indices
            return _Cost(other_ops=batch * _einsum_steps(dict(op.kwargs)["equation"], ins), activations=n)  # type: ignore[arg-type]
        return _Cost()  # rearrange (a view or a copy), a recurrent layer's state
    args = [tuple(sy.value_of(i) for i in a.items) if isinstance(a, Sizes) else sy.value_of(a) for a in op.args]
    kwargs = {k: tuple(sy.value_of(i) for i in v.items) if isinstance(v, Sizes) else sy.value_of(v) for k, v in op.kwargs}
    if any(v is None or isinstance(v, tuple) and None in v for v in args) or any(v is None or isinstance(v, tuple) and None in v for v in kwargs.values()):
        return _UNKNOWN
    entries = torch_entries(op.target or "", args, kwargs)
    params = sum(prod(shape) for _, shape, buffer in entries if not buffer)
    buffers = sum(prod(shape) for _, shape, buffer in entries if buffer)
    if out is None or any(i is None for i in ins):
        return _Cost(params, buffers, None, None, None, None)
    n = batch * prod(out)
    if op.kind == "ShiftedWindowAttention":  # torchinfo sees no call of its qkv and proj (F.linear): no mult-adds, no gradient bytes
        return _Cost(params, buffers, 0, batch * _window_attention_ops(ins[0], args[1][0]), n, 0)  # type: ignore[arg-type]
    mult_adds = 0
    for name, shape, buffer in entries:  # torchinfo's LayerInfo.calculate_macs
        if buffer:
            continue
        if name in ("weight", "bias"):
            mult_adds += prod(shape) * batch * (prod(out[1:]) if "Conv" in op.kind else 1)
        elif "weight" in name or "bias" in name:  # a recurrent layer's weight_ih_l0, ...
            mult_adds += prod(shape) * batch * out[0]
    other = _other_ops(op.kind, kwargs, ins[0] if ins else (), out, params, batch)
    if op.kind == "MultiheadAttention":  # a module with a child (out_proj): torchinfo's totals leave it out
        t = out[0]  # the projections (weights and biases, as a Linear's count), then q kᵀ and the weighted sum
        return _Cost(params, buffers, 0, batch * (t * params + 2 * t * t * out[1]), n, 0)
    return _Cost(params, buffers, mult_adds, other, n, n if params else 0)


def _einsum_steps(equation: str, ins) -> int:
    """The product of the sizes of every axis of a torch.einsum `equation`
    (its first letter, the batch axis, left out) for operands of shapes `ins`."""
    sizes: dict[str, int] = {}
    for letters, shape in zip(equation.split("->")[0].split(","), ins):
        sizes.update(zip(letters[1:], shape))
    return prod(sizes.values())


def _window_attention_ops(shape: tuple[int, ...], window: int) -> int:
    """Swin's window attention on one [H, W, C] map, padded to a multiple
    of the window (T positions, N = window² per window), in multiply-adds:
    the qkv and proj linear layers, T·4C², and the two products of
    attention, q·kᵀ and its product with v, 2·T·N·C (docs/summary.md)."""
    h, w, c = shape
    tokens = -(-h // window) * window * (-(-w // window) * window)
    return tokens * (4 * c * c + 2 * window * window * c)


_INTERPOLATION = {"linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}


def _other_ops(kind: str, kwargs: dict, ins: tuple[int, ...], out: tuple[int, ...], params: int, batch: int) -> int:
    """What torchinfo does not count, per docs/summary.md, for a module of
    class `kind` built with the evaluated `kwargs`."""
    n = batch * prod(out)
    if kind == "Linear":  # torchinfo counts the weights once per sample, not per position
        return batch * (prod(out[:-1]) - 1) * params
    if kind.startswith("BatchNorm"):
        return n  # inference: one multiply-add per element (scale and shift folded)
    if kind in ("LayerNorm", "LayerNorm2d", "GroupNorm"):
        return 3 * n  # mean, variance, then normalise and scale
    if kind.startswith(("MaxPool", "AvgPool")):
        k = kwargs["kernel_size"]
        return n * (prod(k) if isinstance(k, tuple) else k ** int(kind[-2]))  # type: ignore[operator]
    if kind.startswith("AdaptiveAvgPool"):
        return batch * prod(ins)
    if kind in ("Softmax", "LogSoftmax"):
        return 3 * n  # exp, sum, divide
    if kind == "Upsample":
        mode = kwargs.get("mode", "nearest")
        return n * _INTERPOLATION.get(str(mode), 0)
    return 0


def _totals(instance: Instance, top: "_Cost", batch: int, size: int = BYTES) -> Totals:
    """The model's totals from `top`, the sum over its top-level ops, for
    values of `size` bytes."""
    input_bytes: int | None = 0
    for t, token_ids in zip(instance.inputs, instance.token_ids()):
        sizes = _ints(instance.tensors[t].shape)
        input_bytes = None if sizes is None or input_bytes is None else input_bytes + batch * prod(sizes) * (8 if token_ids else size)

    def mb(n: int | float | None, scale: int = size) -> float | None:
        return None if n is None else n * scale / MB

    fwd_bwd = None if top.grad_outputs is None else 2 * top.grad_outputs
    total = None if None in (input_bytes, fwd_bwd, top.params) else (input_bytes + (fwd_bwd + top.params) * size)  # type: ignore[operator]
    return Totals(
        params=top.params,
        trainable=top.params,
        non_trainable=None if top.params is None else 0,
        buffers=top.buffers,
        mult_adds=top.mult_adds,
        other_ops=top.other_ops,
        input_mb=mb(input_bytes, 1),
        activations_mb=mb(top.activations),
        forward_backward_mb=mb(fwd_bwd),
        params_mb=mb(top.params),
        total_mb=mb(total, 1),
    )


def _sizes(shape) -> list:
    return [v if (v := sy.value_of(e)) is not None else e for e in shape]


def _ints(values) -> tuple[int, ...] | None:
    """The values as ints, or None when one is not a known number."""
    out = []
    for v in values:
        value = sy.value_of(v) if isinstance(v, sy.Expr) else None
        if value is None or isinstance(value, float) and not value.is_integer():
            return None
        out.append(int(value))
    return tuple(out)


# ------------------------------------------------------------------ output

UNKNOWN = "?"


def _number(n: int | None) -> str:
    return UNKNOWN if n is None else f"{n:,}"


def _shape_text(shape: tuple) -> str:
    return "[" + ", ".join(str(v) if isinstance(v, int) else sy.to_text(v) for v in shape) + "]"


def _readable(n: int) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def to_text(summary: Summary, depth: int | None = 3, columns: tuple[str, ...] | None = None) -> str:
    """The summary as a table of the rows down to `depth` (None: all;
    deeper rows are folded into their parents' figures), then the totals.
    `columns`: torchinfo's column names (summary_columns.COLUMNS) after the
    path and kind, with torchinfo's cells; None: legoc's own columns."""
    rows = [r for r in summary.rows if depth is None or r.depth <= depth]
    names = [(r.path if r.path is not None else f"({r.kind})", r.kind if r.path is not None else "") for r in rows]
    if columns is None:
        header: tuple[str, ...] = ("Layer (path)", "Kind", "Output shape", "Params", "Mult-adds", "Other ops*")
        right = [False] * 3 + [True] * 3
        figures = [
            [", ".join(_shape_text(x) for x in r.results or (r.shape,)), _number(r.params), _number(r.mult_adds), _number(r.other_ops)]
            for r in rows
        ]
    else:
        from .summary_columns import COLUMNS, RIGHT, cells as column_cells

        header = ("Layer (path)", "Kind", *(COLUMNS[c] for c in columns))
        right = [False, False] + [c in RIGHT for c in columns]
        figures = column_cells(summary, columns, depth)
    cells = [("  " * (r.depth - 1) + name, kind, *values) for r, (name, kind), values in zip(rows, names, figures)]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]

    def line(values) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    rule = "-" * len(line(header))
    inputs = ", ".join(f"{name} {_shape_text(shape)}" for name, shape in summary.inputs)
    out = [f"{summary.class_name}: input {inputs} (batch {summary.batch}, {summary.dtype})", rule, line(header), rule]
    out += [line(c) for c in cells]
    t = summary.totals
    mb = lambda v: UNKNOWN if v is None else f"{v:,.2f}"  # noqa: E731
    figures = [
        ("Total params", _number(t.params), "a tied tensor counts in each module that holds it, as in torchinfo" if summary.tied else ""),
        *([("  unique", _number(None if t.params is None or summary.tied is None else t.params - summary.tied), "model.parameters(): a tied tensor once")] if summary.tied else []),
        ("  trainable", _number(t.trainable), ""),
        ("  non-trainable", _number(t.non_trainable), ""),
        ("Buffers", _number(t.buffers), "running statistics, not parameters"),
        ("Mult-adds", _number(t.mult_adds), f"{_readable(t.mult_adds)}, as torchinfo counts them" if t.mult_adds is not None else ""),
        ("Other ops*", _number(t.other_ops), f"{_readable(t.other_ops)}, not counted by torchinfo" if t.other_ops is not None else ""),
        ("Input size (MB)", mb(t.input_mb), ""),
        ("Forward activations (MB)", mb(t.activations_mb), "every layer's output"),
        ("Forward/backward pass size (MB)", mb(t.forward_backward_mb), "torchinfo's estimate"),
        ("Params size (MB)", mb(t.params_mb), ""),
        ("Estimated total size (MB)", mb(t.total_mb), "input + forward/backward + params"),
    ]
    label_width = max(len(f[0]) for f in figures) + 1
    value_width = max(len(f[1]) for f in figures)
    out.append(rule)
    out += [f"{(label + ':').ljust(label_width)} {value.rjust(value_width)}{f'  ({note})' if note else ''}" for label, value, note in figures]
    out.append(rule)
    if columns is None or "other_ops" in columns:
        out.append("* Other ops: the work torchinfo does not count (pooling, normalisation, residual adds, a linear layer's")
        out.append("  positions after the first...); see docs/summary.md.")
    if depth is not None and any(r.depth > depth for r in summary.rows):
        out.append(f"Rows deeper than --depth {depth} are folded into their parents.")
    if any(v is None for v in (t.mult_adds, t.input_mb)):
        out.append(f"{UNKNOWN}: depends on an input size the spec leaves symbolic; give it with --input.")
    return "\n".join(out) + "\n"


def to_json(summary: Summary, depth: int | None = None) -> dict:
    """The summary as JSON-ready data; symbolic sizes are strings, unknown
    figures null, memory in MB (10^6 bytes)."""
    from dataclasses import asdict

    def shape(values: tuple) -> list:
        return [v if isinstance(v, int) else sy.to_text(v) for v in values]

    return {
        "model": summary.model,
        "class": summary.class_name,
        "batch": summary.batch,
        "dtype": summary.dtype,
        "inputs": [{"name": name, "shape": shape(s)} for name, s in summary.inputs],
        "depth": depth,
        "rows": [
            {
                "path": r.path,
                "kind": r.kind,
                "depth": r.depth,
                "output_shape": shape(r.shape),
                "params": r.params,
                "buffers": r.buffers,
                "mult_adds": r.mult_adds,
                "other_ops": r.other_ops,
                "leaf": r.leaf,
                "input_shape": shape(r.input_shape),
                "kernel_size": list(r.kernel) if isinstance(r.kernel, tuple) else r.kernel,
                **({"output_shapes": [shape(x) for x in r.results]} if r.results else {}),
            }
            for r in summary.rows
            if depth is None or r.depth <= depth
        ],
        "totals": asdict(summary.totals),
    }


DESCRIPTION = (
    "Print a model's layers with their output shapes, parameters and mult-adds (torchinfo's "
    "definitions, without running it), then the totals and a memory estimate."
)


def add_arguments(parser) -> None:
    """`legoc summary`'s description and options, on its subparser (an
    argparse.ArgumentParser)."""
    from .modelcli import add_model_arguments, depth, positive
    from .summary_columns import parse_columns

    parser.description = DESCRIPTION
    add_model_arguments(parser)
    parser.add_argument("--batch", type=positive, default=1, metavar="N", help="the batch size (default 1)")
    parser.add_argument("--depth", type=depth, default=3, metavar="N", help="show rows down to this depth (default 3; 'all' for every row)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (the default): a table; json: see docs/summary.md")
    parser.add_argument(
        "--columns",
        type=parse_columns,
        metavar="A,B,...",
        help="the table's columns, torchinfo's col_names: input_size, output_size, num_params, params_percent, kernel_size, "
        "mult_adds, trainable (and other_ops); the default is output shape, params, mult-adds, other ops",
    )
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="the values' type the memory estimates assume (default float32)")


def run(args) -> int:
    """Run `legoc summary` with its parsed arguments (an argparse.Namespace);
    returns the exit status (0; 1: the spec has errors; 2: a usage error)."""
    import json

    from .modelcli import load_instance

    instance = load_instance(args, "legoc summary")
    if isinstance(instance, int):
        return instance
    summary = summarize(instance, args.batch, args.dtype)
    if args.format == "json":
        print(json.dumps(to_json(summary, args.depth), indent=1))
    else:
        print(to_text(summary, args.depth, args.columns), end="")
    return 0
