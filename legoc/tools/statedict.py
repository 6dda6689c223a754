"""A model's state_dict layout, from shape inference alone (no torch).

`state_dict_layout` lists the keys, shapes and kinds (parameter or buffer)
that `Model().state_dict()` of the generated module has, in the same order,
for the model's default arguments. The keys follow layout.py, as the
generated code does; each torch module's own entries follow what that
module's `__init__` registers in torch 2.13 (tests/test_state_dict.py checks
every primitive against torch).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import symbolic as sy
from ..analysis.infer import Analysis
from .instance import MAX_OPS, unrolls_too_far
from ..ir.nodes import ClassIR, Conditional, Ctor, Layer, LayerRef, Node, Repeat, Residual, Sequential, Sizes, walk
from ..codegen.layout import attribute_names, is_sequential, registered
from ..core.limits import deep


@dataclass(frozen=True)
class Entry:
    """One state_dict entry: its key, its shape (a 0-dim tensor has shape
    `()`), and whether it is a buffer (running statistics) rather than a
    trainable parameter."""

    key: str
    shape: tuple[int, ...]
    buffer: bool = False


@deep
def state_dict_layout(analysis: Analysis, model: str) -> tuple[Entry, ...]:
    """The state_dict entries of model `model`, built with its defaults.

    Args:
        analysis: the result of `infer.analyze` (or `compiler.check_source`).
        model: the DSL name of one of its models.

    Raises:
        KeyError: `model` is not a model of the analysis.
        InstanceError: the model unrolls to more than `instance.MAX_OPS`
            modules (repeats multiply), as `legoc summary` and `legoc graph`
            refuse it.
        ValueError: a size is not a constant with the defaults (a legoc bug:
            shape inference rejects such models).
    """
    classes = {ir.name: ir for ir in analysis.classes}
    ir = classes[model]
    if ir.kind != "model":
        raise KeyError(model)
    mapping = {f"p:{p.name}": p.default for p in ir.params if isinstance(p.default, sy.Expr)}
    return tuple(_Layout(classes).of_class(ir, mapping, ""))


class _Layout:
    def __init__(self, classes: dict[str, ClassIR]):
        self.classes = classes
        self.modules = 0  # modules unrolled so far, against MAX_OPS

    def count(self) -> None:
        self.modules += 1
        if self.modules > MAX_OPS:
            raise unrolls_too_far()

    def of_class(self, ir: ClassIR, mapping: dict, prefix: str) -> list[Entry]:
        if is_sequential(ir):
            return self.numbered(ir.body, mapping, prefix)
        names = attribute_names(ir.body, set())
        out: list[Entry] = []
        tensors: list[Entry] = []  # learned tensors: a module's own parameters come first in torch's state_dict
        absent = {id(c) for n in walk(ir.body) if isinstance(n, Conditional) and not _value(n.cond, mapping) for c in walk(n.body)}
        for node in registered(ir.body):
            if id(node) in absent:
                continue
            key = f"{prefix}{names[id(node)]}."
            if isinstance(node, Layer) and node.ctor.kind == "tensor":
                tensors += self.of_ctor(node.ctor, mapping, key)
            elif isinstance(node, Layer):
                out += self.of_ctor(node.ctor, mapping, key)
            elif isinstance(node, Repeat):
                out += self.numbered((node,), mapping, key)
            elif isinstance(node, Sequential):
                out += self.numbered(node.body, mapping, key)
            elif isinstance(node, Residual) and node.projection is not None and _value(node.needs_projection, mapping):
                out += self.of_ctor(node.projection, mapping, key)
        return tensors + out

    def numbered(self, nodes: tuple[Node, ...], mapping: dict, prefix: str) -> list[Entry]:
        """The entries of an nn.Sequential holding `nodes` (layers and repeats)."""
        ctors: list[tuple[Ctor, dict, str | None]] = []  # (constructor, its values, its name)
        for node in nodes:
            if isinstance(node, Layer):
                ctors.append((node.ctor, mapping, node.name))  # a name: its key in the group (add_module)
            elif isinstance(node, Conditional):
                if _value(node.cond, mapping):
                    ctors += [(n.ctor, mapping, n.name) for n in node.body]  # type: ignore[union-attr]
            else:
                assert isinstance(node, Repeat)
                count = _value(node.count, mapping)
                if self.modules + count > MAX_OPS:  # before a list of `count` constructors is built
                    raise unrolls_too_far()
                if node.index is not None:  # `repeat n as i`: each repetition with its index
                    ctors += [(node.first if i == 0 else node.rest or node.first, {**mapping, node.index.key: sy.Const(i)}, None if node.each is None else _name(node.each, {**mapping, node.index.key: sy.Const(i)})) for i in range(count)]  # type: ignore[union-attr]
                else:
                    ctors += [(c, mapping, None) for c in ([node.first] + [node.rest or node.first] * (count - 1) if count > 0 else [])]
        out: list[Entry] = []
        for index, (ctor, values, name) in enumerate(ctors):
            out += self.of_ctor(ctor, values, f"{prefix}{index if name is None else name}.")
        return out

    def of_ctor(self, ctor: Ctor, mapping: dict, prefix: str) -> list[Entry]:
        self.count()
        if ctor.kind == "param":
            return []  # a layer-valued parameter: a parameterless layer such as nn.ReLU
        if ctor.kind == "tensor":  # a learned tensor: its own key, `prefix` without the dot
            return [Entry(prefix[:-1], tuple(_value(a, mapping) for a in ctor.args), False)]
        if ctor.kind == "sequential":
            out: list[Entry] = []
            for index, item in enumerate(ctor.args):
                out += self.of_ctor(item, mapping, f"{prefix}{index}.")  # type: ignore[arg-type]
            return out
        args = [_value(a, mapping) for a in ctor.args]
        kwargs = {k: _value(v, mapping) for k, v in ctor.kwargs}
        if ctor.kind == "torch":
            return [Entry(prefix + key, shape, buffer) for key, shape, buffer in torch_entries(ctor.target, args, kwargs)]
        callee = self.classes[ctor.target]
        inner = dict(zip((sym.key for sym in callee.size_params), args))
        positional = args[len(callee.size_params) :]
        for p, value in zip(callee.params, positional):
            inner[f"p:{p.name}"] = value
        for p in callee.params[len(positional) :]:
            if isinstance(p.default, LayerRef) or f"p:{p.name}" in inner:
                continue
            value = kwargs.get(p.name, p.default)
            inner[f"p:{p.name}"] = value if isinstance(value, sy.Expr) else sy.Const(value)
        return self.of_class(callee, {k: v if isinstance(v, sy.Expr) else sy.Const(v) for k, v in inner.items() if not isinstance(v, LayerRef)}, prefix)


def _name(each: tuple, mapping: dict) -> str:
    """A named repetition's name (ir.nodes.Repeat.each) with these values."""
    return "".join(p if isinstance(p, str) else str(_value(p, mapping)) for p in each)


def _value(expr, mapping: dict):
    if isinstance(expr, LayerRef):
        return expr
    if isinstance(expr, Sizes):
        return tuple(_value(item, mapping) for item in expr.items)
    value = sy.value_of(sy.substitute(expr, mapping))
    if value is None:
        raise ValueError(f"{sy.to_text(expr)} is not a constant with the model's defaults")
    return value


_NORM_STATS = (("running_mean", True), ("running_var", True))

# Modules without parameters or buffers.
_STATELESS = frozenset(
    "ReLU ReLU6 LeakyReLU GELU SiLU Sigmoid Tanh Hardsigmoid Hardswish Identity Dropout Softmax LogSoftmax MaxPool1d MaxPool2d "
    "MaxPool3d AvgPool1d AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d Flatten Upsample "
    "PixelShuffle StochasticDepth Permute".split()
)


def torch_entries(target: str, args: list, kwargs: dict) -> list[tuple[str, tuple[int, ...], bool]]:
    """What the torch module `target` (`nn.Conv2d`, ...) built with these
    constant arguments registers: (key, shape, is_buffer), in torch's order.

    Raises:
        ValueError: legoc does not know `target` (a legoc bug).
    """
    kind = target.removeprefix("nn.")
    if kind in _STATELESS:
        return []
    if kind.startswith(("Conv", "ConvTranspose")):
        c_in, c_out = args
        groups, k = kwargs.get("groups", 1), kwargs["kernel_size"]
        rank = int(kind[-2])
        window = list(k) if isinstance(k, tuple) else [k] * rank
        if kind.startswith("ConvTranspose"):
            weight = (c_in, c_out // groups, *window)
        else:
            weight = (c_out, c_in // groups, *window)
        return [("weight", weight, False)] + ([("bias", (c_out,), False)] if kwargs.get("bias", True) else [])
    if kind == "Linear":
        f_in, f_out = args
        return [("weight", (f_out, f_in), False)] + ([("bias", (f_out,), False)] if kwargs.get("bias", True) else [])
    if kind.startswith("BatchNorm"):
        (c,) = args
        affine = [("weight", (c,), False), ("bias", (c,), False)] if kwargs.get("affine", True) else []
        return affine + [(key, (c,), True) for key, _ in _NORM_STATS] + [("num_batches_tracked", (), True)]
    if kind in ("LayerNorm", "LayerNorm2d"):
        (d,) = args
        return [("weight", (d,), False), ("bias", (d,), False)] if kwargs.get("elementwise_affine", True) else []
    if kind == "GroupNorm":
        _, c = args
        return [("weight", (c,), False), ("bias", (c,), False)] if kwargs.get("affine", True) else []
    if kind == "Embedding":
        n, d = args
        return [("weight", (n, d), False)]
    if kind in ("LSTM", "GRU"):
        d_in, hidden = args
        gates = (4 if kind == "LSTM" else 3) * hidden
        directions = 2 if kwargs.get("bidirectional", False) else 1
        out = []
        for layer in range(kwargs.get("num_layers", 1)):
            width = d_in if layer == 0 else hidden * directions
            for suffix in ("", "_reverse")[:directions]:
                out += [
                    (f"weight_ih_l{layer}{suffix}", (gates, width), False),
                    (f"weight_hh_l{layer}{suffix}", (gates, hidden), False),
                    (f"bias_ih_l{layer}{suffix}", (gates,), False),
                    (f"bias_hh_l{layer}{suffix}", (gates,), False),
                ]
        return out
    if kind == "MultiheadAttention":  # in_proj_* its own parameters, then its out_proj (a Linear)
        d, _ = args
        bias = kwargs.get("bias", True)
        biases = [("in_proj_bias", (3 * d,), False)] if bias else []
        out_bias = [("out_proj.bias", (d,), False)] if bias else []
        return [("in_proj_weight", (3 * d, d), False), *biases, ("out_proj.weight", (d, d), False), *out_bias]
    if kind == "ShiftedWindowAttention":  # torchvision's (Swin): its own table and index, then qkv and proj
        dim, (wh, ww), _, heads = args
        table = [("relative_position_bias_table", ((2 * wh - 1) * (2 * ww - 1), heads), False), ("relative_position_index", (wh * ww * wh * ww,), True)]
        return table + [("qkv.weight", (3 * dim, dim), False), ("qkv.bias", (3 * dim,), False), ("proj.weight", (dim, dim), False), ("proj.bias", (dim,), False)]
    if kind == "PatchMerging":  # torchvision's (Swin): reduction is registered before norm
        (dim,) = args
        return [("reduction.weight", (2 * dim, 4 * dim), False), ("norm.weight", (4 * dim,), False), ("norm.bias", (4 * dim,), False)]
    raise ValueError(f"legoc does not know the state of {target}")


# ---------------------------------------------------------------- command line

DESCRIPTION = (
    "Print the state_dict keys and shapes of a spec's model, built with its default arguments, "
    "in the order torch's state_dict() gives them. Buffers (batch norm statistics) are marked."
)


def add_arguments(parser) -> None:
    """`legoc state-dict`'s description and options, on its subparser (an
    argparse.ArgumentParser)."""
    from .config import add_config_option
    from .settings import add_set_option
    from .report import add_color_option

    parser.description = DESCRIPTION
    parser.add_argument("file", metavar="FILE", help='the .lego spec; "-" reads standard input')
    parser.add_argument("--model", metavar="NAME", help="the model to describe, when the spec has several")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (the default): aligned columns; json: {model, entries: [[key, shape], ...], buffers: [key, ...]}")
    add_set_option(parser)
    add_config_option(parser)
    add_color_option(parser, "the diagnostics on stderr")


def run(args) -> int:
    """Run `legoc state-dict` with its parsed arguments (an
    argparse.Namespace); returns the exit status (0; 1: the spec has
    errors; 2: a usage error, no such model, or one that unrolls too far)."""
    import math
    import sys

    from .instance import InstanceError
    from .modelcli import load_model
    from .settings import settings_of, shown

    loaded = load_model(args, "legoc state-dict")
    if isinstance(loaded, int):
        return loaded
    analysis, model = loaded
    try:
        entries = state_dict_layout(analysis, model)
    except InstanceError as exc:  # as `legoc summary` and `legoc graph` say it
        print(f"legoc state-dict: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        import json

        doc = {
            "model": model,
            "entries": [[e.key, list(e.shape)] for e in entries],
            "buffers": [e.key for e in entries if e.buffer],
        }
        print(json.dumps(doc, indent=1))
        return 0
    params = [e for e in entries if not e.buffer]
    total = sum(math.prod(e.shape) for e in params)
    given = ", ".join(f"{k}={shown(v)}" for k, v in settings_of(args).items())
    built = f"with {given} and its other defaults" if given else "with its default arguments"
    print(f"# {model} {built}: {len(params)} parameter tensors ({total:,} values), {len(entries) - len(params)} buffers")
    width = max((len(e.key) for e in entries), default=0)
    for e in entries:
        line = f"{e.key:<{width}}  [{', '.join(map(str, e.shape))}]"
        print(f"{line}  buffer" if e.buffer else line)
    return 0

