"""`legoc summary`: a model's layers, shapes, parameters and compute, from
shape inference alone (no torch, no forward pass).

The counts follow torchinfo 1.8's definitions, so they can be compared with
`torchinfo.summary` of the generated module (tests/test_summary_torchinfo.py
does, for every example); what torchinfo leaves out is counted in a column
of its own. docs/summary.md gives every formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from . import symbolic as sy
from .instance import Instance, Op
from .statedict import torch_entries

BYTES = 4  # float32
MB = 1e6  # torchinfo's megabyte


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


@dataclass(frozen=True)
class Totals:
    """The model's totals; memory in MB (10^6 bytes) for float32 values.

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


def summarize(instance: Instance, batch: int = 1) -> Summary:
    """Count parameters, mult-adds and memory for a batch of `batch` inputs.

    Args:
        instance: the model, from `instance.instantiate`.
        batch: the batch size (the counts and memory scale with it).

    Returns:
        One row per op of `instance`, in execution order, and the totals.
    """
    costs: dict[int, _Cost] = {}
    for op in reversed(instance.ops):  # children come after their parent
        if op.leaf:
            costs[op.id] = _leaf_cost(op, instance, batch)
    for op in reversed(instance.ops):
        if not op.leaf:
            costs[op.id] = _Cost.total(costs[c.id] for c in instance.children(op))
    rows = tuple(
        Row(op.path, op.kind, op.depth, (batch, *_sizes(op.shape)), *costs[op.id].figures(), op.leaf) for op in instance.ops
    )
    inputs = tuple((t.name or "x", (batch, *_sizes(t.shape))) for t in (instance.tensors[i] for i in instance.inputs))
    return Summary(instance.model, instance.class_name, batch, inputs, rows, _totals(instance, costs, batch))


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


def _leaf_cost(op: Op, instance: Instance, batch: int) -> _Cost:
    out = _ints(op.shape)
    ins = [_ints(instance.tensors[t].shape) for t in op.inputs]
    if op.path is None:  # a tensor operation
        if out is None or any(i is None for i in ins):
            return _UNKNOWN
        n = batch * prod(out)
        if op.kind == "add":
            return _Cost(other_ops=n * (len(ins) - 1), activations=n)
        if op.kind == "reduce":
            return _Cost(other_ops=batch * prod(ins[0]), activations=n)  # type: ignore[arg-type]
        if op.kind == "cat":
            return _Cost(activations=n)
        return _Cost()  # rearrange (a view or a copy), a recurrent layer's state
    args = [sy.value_of(a) for a in op.args]
    kwargs = {k: sy.value_of(v) for k, v in op.kwargs}
    if None in args or None in kwargs.values():
        return _UNKNOWN
    entries = torch_entries(op.target or "", args, kwargs)
    params = sum(prod(shape) for _, shape, buffer in entries if not buffer)
    buffers = sum(prod(shape) for _, shape, buffer in entries if buffer)
    if out is None or any(i is None for i in ins):
        return _Cost(params, buffers, None, None, None, None)
    n = batch * prod(out)
    mult_adds = 0
    for name, shape, buffer in entries:  # torchinfo's LayerInfo.calculate_macs
        if buffer:
            continue
        if name in ("weight", "bias"):
            mult_adds += prod(shape) * batch * (prod(out[1:]) if "Conv" in op.kind else 1)
        elif "weight" in name or "bias" in name:  # a recurrent layer's weight_ih_l0, ...
            mult_adds += prod(shape) * batch * out[0]
    other = _other_ops(op, ins[0] if ins else (), out, params, batch)
    return _Cost(params, buffers, mult_adds, other, n, n if params else 0)


_INTERPOLATION = {"linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}


def _other_ops(op: Op, ins: tuple[int, ...], out: tuple[int, ...], params: int, batch: int) -> int:
    """What torchinfo does not count, per docs/summary.md."""
    n = batch * prod(out)
    kind, kwargs = op.kind, {k: sy.value_of(v) for k, v in op.kwargs}
    if kind == "Linear":  # torchinfo counts the weights once per sample, not per position
        return batch * (prod(out[:-1]) - 1) * params
    if kind.startswith("BatchNorm"):
        return n  # inference: one multiply-add per element (scale and shift folded)
    if kind in ("LayerNorm", "GroupNorm"):
        return 3 * n  # mean, variance, then normalise and scale
    if kind.startswith(("MaxPool", "AvgPool")):
        return n * kwargs["kernel_size"] ** int(kind[-2])  # type: ignore[operator]
    if kind.startswith("AdaptiveAvgPool"):
        return batch * prod(ins)
    if kind in ("Softmax", "LogSoftmax"):
        return 3 * n  # exp, sum, divide
    if kind == "Upsample":
        mode = kwargs.get("mode", "nearest")
        return n * _INTERPOLATION.get(str(mode), 0)
    return 0


def _totals(instance: Instance, costs: dict[int, "_Cost"], batch: int) -> Totals:
    top = _Cost.total(costs[op.id] for op in instance.children(None))
    input_bytes: int | None = 0
    for t in instance.inputs:
        sizes = _ints(instance.tensors[t].shape)
        token_ids = any(op.kind == "Embedding" and t in op.inputs for op in instance.ops)
        input_bytes = None if sizes is None or input_bytes is None else input_bytes + batch * prod(sizes) * (8 if token_ids else BYTES)

    def mb(n: int | float | None, scale: int = BYTES) -> float | None:
        return None if n is None else n * scale / MB

    fwd_bwd = None if top.grad_outputs is None else 2 * top.grad_outputs
    total = None if None in (input_bytes, fwd_bwd, top.params) else (input_bytes + (fwd_bwd + top.params) * BYTES)  # type: ignore[operator]
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
