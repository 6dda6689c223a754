"""Differential testing (issue #8): random valid specs against torch.

A hypothesis strategy builds random specs that are valid by construction:
stacks of convolutions (1-D, 2-D and 3-D) with random kernels, strides,
dilations, groups and paddings, transposed convolutions, pools (max, average,
adaptive), normalisations, activations, upsampling, pixel shuffles,
residuals (`res add` and `res cat`, with and without a shortcut, the
shortcut's channels and stride filled in), parallel branches (`cat`, `add`),
repeats (of a layer or a group), user-defined blocks with parameters
(numbers and layers) called with different arguments, prelude blocks, named
layers and named groups, `rearrange` and `reduce` patterns, `flatten` and
`linear` heads, embeddings and recurrent layers, and dataflow models (named
inputs, tensors joined by `cat`, `add` or a two-input block, several
outputs). Inputs have fixed sizes, or symbolic ones (`[3, H, W]`) bound to
concrete sizes when the model is built.

Each spec is compiled (twice: the code must be the same bytes), its model is
unrolled with `instance.instantiate`, and the generated module is run in
torch. Every module call's real input and output shapes must equal what shape
inference said, as must the model's outputs, its parameter count (the
analysis, the summary, the docstring, every module's own count) and its
state_dict layout. A spec that legoc accepts and torch rejects is a failure
(shape inference lied), and so is a valid spec that legoc rejects. For a
symbolic input, more sizes are tried: a size legoc's input-size rules accept
must run in torch with the inferred shapes, and a size they reject must make
the generated `forward` fail its `torch._assert` input check (AssertionError
with the class's message).

The generator tracks shapes with a small simulator of the language's rules
(docs/language.md), written independently of legoc, so that the specs it
builds are valid. Disagreements found along the way are kept as regression
specs in tests/differential_regressions/ (the header comment of each gives
the input sizes to try).

`LEGOC_DIFFERENTIAL_EXAMPLES` sets the number of random specs (default 100);
docs/reliability.md records the long run.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import black
import pytest
import torch
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from legoc.ir import symbolic as sy
from legoc.compiler import compile_source
from legoc.core.diagnostics import SpecError
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import InstanceError, instantiate
from legoc.codegen.layout import class_names
from legoc.tools.statedict import state_dict_layout
from legoc.tools.summary import summarize

from conftest import load_module

EXAMPLES = int(os.environ.get("LEGOC_DIFFERENTIAL_EXAMPLES", "100"))
REGRESSIONS = Path(__file__).resolve().parent / "differential_regressions"

# ====================================================================== specs
# The spec as a small tree, rendered to .lego text. Argument values are
# expression texts (`c`, `(c * 2)`, `8`, `true`, `"bilinear"`), evaluated by
# the simulator in the enclosing definition's parameters.


@dataclass
class Call:
    name: str
    args: tuple[str, ...] = ()
    kwargs: tuple[tuple[str, str], ...] = ()
    label: str | None = None

    def text(self) -> str:
        words = " ".join([self.name, *self.args, *(f"{k}={v}" for k, v in self.kwargs)])
        return f"{self.label}: {words}" if self.label else words


@dataclass
class Res:
    mode: str  # "add" or "cat"
    body: list
    shortcut: Call | None = None
    multiline: bool = False

    def text(self) -> str:
        tail = f" shortcut {self.shortcut.text()}" if self.shortcut else ""
        return f"res {self.mode} < {_inline(self.body)} >{tail}"

    def lines(self) -> list[str]:
        if not self.multiline:
            return [self.text()]
        tail = f" shortcut {self.shortcut.text()}" if self.shortcut else ""
        return [f"res {self.mode} <", *(f"    {_text(i)}" for i in self.body), f">{tail}"]


@dataclass
class Par:
    mode: str
    branches: list[list]
    multiline: bool = False

    def text(self) -> str:
        return f"{self.mode} < " + " | ".join(_inline(b) for b in self.branches) + " >"

    def lines(self) -> list[str]:
        if not self.multiline:
            return [self.text()]
        out = [f"{self.mode} <"]
        for i, branch in enumerate(self.branches):
            out.append(("    " if i == 0 else "  | ") + _inline(branch))
        return out + [">"]


@dataclass
class Rep:
    count: str
    items: list  # Calls
    group: bool = False
    label: str | None = None

    def text(self) -> str:
        body = f"< {_inline(self.items)} >" if self.group else self.items[0].text()
        words = f"repeat {self.count} {body}"
        return f"{self.label}: {words}" if self.label else words


@dataclass
class Grp:
    """A named group `name: < ... >`: one nn.Sequential of layers and repeats."""

    label: str
    items: list

    def text(self) -> str:
        return f"{self.label}: < {_inline(self.items)} >"


@dataclass
class Pat:
    kind: str  # "rearrange" or "reduce"
    pattern: str
    reduction: str | None = None
    sizes: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        words = [self.kind, f'"{self.pattern}"'] + ([self.reduction] if self.reduction else [])
        return " ".join(words + [f"{k}={v}" for k, v in self.sizes])


def _text(item) -> str:
    return item.text()


def _inline(items) -> str:
    return "; ".join(_text(i) for i in items)


def _lines(items, indent: str) -> list[str]:
    out = []
    for item in items:
        for line in item.lines() if hasattr(item, "lines") else [item.text()]:
            out.append(indent + line)
    return out


@dataclass
class BlockDef:
    name: str
    params: list[tuple[str, str | None]]  # (name, default text or None)
    body: list
    rank: int
    layer_params: frozenset[str] = frozenset()
    has_pattern: bool = False
    doc: str | None = None

    def text(self) -> str:
        params = ", ".join(n if d is None else f"{n}={d}" for n, d in self.params)
        head = [f"# {self.doc}"] if self.doc else []
        return "\n".join(head + [f"block {self.name}({params}):"] + _lines(self.body, "    ")) + "\n"


@dataclass
class JoinDef:
    """A block with two named inputs, U-Net's `up`:

        block name(c)(x, skip):
            x = x -> stages
            return (skip, x) -> cat -> stages
    """

    name: str
    mode: str
    x_stages: list
    after: list
    rank: int

    def text(self) -> str:
        lines = [f"block {self.name}(c)(x, skip):"]
        if self.x_stages:
            lines.append("    x = x -> " + " -> ".join(_text(i) for i in self.x_stages))
        tail = "".join(" -> " + _text(i) for i in self.after)
        lines.append(f"    return (skip, x) -> {self.mode}{tail}")
        return "\n".join(lines) + "\n"


# ================================================================= simulator
# Concrete shapes, with what legoc tracks for residuals: per axis whether
# every layer so far keeps its size for every input size, and its total
# stride (None: not a whole stride). A keep is None (no layer said: compare
# by size), True, False, SIZE (a layer resized the axis without saying:
# compare by size from then on) or AMBIG (legoc compares symbolic sizes here,
# which the simulator cannot tell apart from False; deciding on it is
# avoided).

SIZE, AMBIG = "size", "ambig"


class Invalid(Exception):
    """The simulator says legoc must reject this (or the generator avoids it)."""


@dataclass(frozen=True)
class Dim:
    v: int
    sym: bool = False  # derived from a symbolic input size


def _summed(states) -> tuple[Dim, ...]:
    """The dims of a sum of tensors of equal values: torch broadcasts, so
    legoc's size on an axis is symbolic where any operand's is (a global
    pool's 1 beside a size from H is that size, not 1)."""
    return tuple(Dim(column[0].v, any(d.sym for d in column)) for column in zip(*(s.dims for s in states)))


@dataclass(frozen=True)
class State:
    dims: tuple[Dim, ...]
    keep: tuple
    stride: tuple

    @staticmethod
    def start(dims) -> "State":
        dims = tuple(dims)
        return State(dims, (None,) * len(dims), (1,) * len(dims))

    @property
    def rank(self) -> int:
        return len(self.dims)

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(d.v for d in self.dims)

    def then(self, dims, keep=None, stride=None) -> "State":
        dims = tuple(dims)
        if len(dims) != len(self.dims):
            return State(dims, (False,) * len(dims), (None,) * len(dims))
        keep = dict(enumerate(keep)) if isinstance(keep, tuple) else (keep or {})
        stride = dict(enumerate(stride)) if isinstance(stride, tuple) else (stride or {})
        keeps = []
        for a, old in enumerate(self.keep):
            new = keep.get(a)
            if new is None and dims[a].v != self.dims[a].v:
                new = SIZE
            keeps.append(_and(old, new))
        strides = []
        for a, old in enumerate(self.stride):
            f = stride.get(a, 1)
            strides.append(None if f is None or old is None else old * f)
        return State(dims, tuple(keeps), tuple(strides))

    def rearranged(self, dims) -> "State":
        """After a rearrange or reduce that does something."""
        dims = tuple(dims)
        if len(dims) != self.rank:
            return State(dims, (SIZE,) * len(dims), (None,) * len(dims))
        keep = []
        for new, old, k in zip(dims, self.dims, self.keep):
            if new.v != old.v:
                keep.append(SIZE)
            else:  # legoc keeps `k` where the symbolic size is unchanged, else SIZE
                keep.append(AMBIG if k is False or k == AMBIG else k)
        return State(dims, tuple(keep), (None,) * len(dims))


def _and(a, b):
    if b is None:
        return a
    if a is None:
        return b
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    return AMBIG if AMBIG in (a, b) else SIZE


ACTIVATIONS = ["relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "identity"]
LAYER_VALUES = ACTIVATIONS + ["leaky_relu", "dropout"]
_NAMESPACE = {"__builtins__": {}, "min": min, "max": max, "true": True, "false": False, **{a: a for a in LAYER_VALUES}}

SIGNATURES = {
    "conv": ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
    "conv_transpose": ("out_channels", "kernel_size", "stride", "padding", "output_padding", "groups", "bias", "dilation"),
    "linear": ("out_features", "bias"),
    "bn": ("eps", "momentum", "affine"),
    "layernorm": ("eps", "elementwise_affine"),
    "groupnorm": ("num_groups", "eps", "affine"),
    "leaky_relu": ("negative_slope",),
    "dropout": ("p",),
    "softmax": ("dim",),
    "log_softmax": ("dim",),
    "maxpool": ("kernel_size", "stride", "padding", "dilation"),
    "avgpool": ("kernel_size", "stride", "padding", "output_size"),
    "flatten": (),
    "upsample": ("scale_factor", "mode", "align_corners"),
    "pixel_shuffle": ("upscale_factor",),
    "embedding": ("num_embeddings", "embedding_dim"),
    "lstm": ("hidden_size", "num_layers", "bidirectional", "dropout", "output"),
    "gru": ("hidden_size", "num_layers", "bidirectional", "dropout", "output"),
    **{a: () for a in ACTIVATIONS},
}
UPSAMPLE_MODES = {"nearest": (2, 3, 4), "linear": (2,), "bilinear": (3,), "bicubic": (3,), "trilinear": (4,)}


def ev(text: str, env: dict):
    return eval(text, _NAMESPACE, dict(env))  # noqa: S307 - our own generated expressions


def _prelude() -> dict[str, BlockDef]:
    """legoc/grammar/prelude.lego, as the simulator sees it."""
    conv = lambda *kw: Call("conv", ("c",), tuple(kw))  # noqa: E731
    return {
        "conv1x1": BlockDef("conv1x1", [("c", None), ("stride", "1"), ("bias", "true")], [conv(("kernel_size", "1"), ("stride", "stride"), ("bias", "bias"))], 0),
        "conv3x3": BlockDef("conv3x3", [("c", None), ("stride", "1"), ("bias", "true")], [conv(("kernel_size", "3"), ("stride", "stride"), ("bias", "bias"))], 0),
        "conv_bn": BlockDef(
            "conv_bn", [("c", None), ("kernel_size", "3"), ("stride", "1")], [conv(("kernel_size", "kernel_size"), ("stride", "stride"), ("bias", "false")), Call("bn")], 0
        ),
        "conv1x1_bn": BlockDef("conv1x1_bn", [("c", None), ("stride", "1")], [conv(("kernel_size", "1"), ("stride", "stride"), ("bias", "false")), Call("bn")], 0),
        "conv3x3_bn": BlockDef("conv3x3_bn", [("c", None), ("stride", "1")], [conv(("kernel_size", "3"), ("stride", "stride"), ("bias", "false")), Call("bn")], 0),
        "conv_bn_act": BlockDef(
            "conv_bn_act",
            [("c", None), ("kernel_size", "3"), ("stride", "1"), ("act", "relu")],
            [conv(("kernel_size", "kernel_size"), ("stride", "stride"), ("bias", "false")), Call("bn"), Call("act")],
            0,
            frozenset({"act"}),
        ),
        "conv3x3_bn_act": BlockDef(
            "conv3x3_bn_act",
            [("c", None), ("stride", "1"), ("act", "relu")],
            [conv(("kernel_size", "3"), ("stride", "stride"), ("bias", "false")), Call("bn"), Call("act")],
            0,
            frozenset({"act"}),
        ),
    }


PRELUDE = _prelude()


class Sim:
    """Runs a spec tree on concrete shapes; raises Invalid where legoc must
    reject it, or where the generator should not go."""

    def __init__(self, blocks: dict[str, BlockDef], symbolic: bool):
        self.blocks = blocks
        self.symbolic = symbolic
        self.ranks: dict[str, int] = {}  # a block's input rank, once used

    # ---------------------------------------------------------------- items

    def seq(self, items, st: State, env: dict) -> State:
        for item in items:
            st = self.item(item, st, env)
        return st

    def item(self, item, st: State, env: dict) -> State:
        if isinstance(item, Call):
            return self.call(item, st, env)
        if isinstance(item, Grp):
            return self.seq(item.items, st, env)
        if isinstance(item, Res):
            return self.residual(item, st, env)
        if isinstance(item, Par):
            return self.parallel(item, st, env)
        if isinstance(item, Rep):
            return self.repeat(item, st, env)
        if isinstance(item, Pat):
            return self.pattern(item, st, env)
        raise AssertionError(item)

    def join(self, mode: str, states: list[State]) -> State:
        """`(a, b) -> cat` or `(a, b) -> add`."""
        first = states[0]
        if any(t.rank != first.rank for t in states):
            raise Invalid("tensors of different ranks")
        if mode == "cat":
            if first.rank < 1 or any(t.values[1:] != first.values[1:] for t in states):
                raise Invalid("cat: other axes differ")
            return State.start((Dim(sum(t.dims[0].v for t in states), any(t.dims[0].sym for t in states)), *first.dims[1:]))
        if any(t.values != first.values for t in states):
            raise Invalid("add: shapes differ")
        return State.start(first.dims)

    def join_block(self, block: JoinDef, x: State, skip: State, c: int) -> State:
        if (x.rank, skip.rank) != (block.rank, block.rank):
            raise Invalid("one block, one input rank")
        env = {"c": c}
        x = self.seq(block.x_stages, State.start(x.dims), env)
        out = self.join(block.mode, [State.start(skip.dims), x])
        return self.seq(block.after, out, env)

    def same(self, dims, out: State) -> bool:
        """legoc's `_same_shape`: axes a layer resized compare by what the
        layers did to them, the others by size."""
        if len(dims) != out.rank:
            return False
        result = True
        for d, o, k in zip(dims, out.dims, out.keep):
            if k is None or k == SIZE:
                result &= d.v == o.v
            elif k == AMBIG:
                if d.v == o.v:
                    raise Invalid("legoc decides this on symbolic sizes")
                result = False
            else:
                result &= k
        return result

    def residual(self, res: Res, st: State, env: dict) -> State:
        inner = self.seq(res.body, State.start(st.dims), env)
        if res.mode == "add":
            same = self.same(st.dims, inner)
            if res.shortcut is None and not same:
                raise Invalid("residual body changes the shape")
            needs = res.shortcut is not None and not same
        else:
            if inner.rank != st.rank:
                raise Invalid("res cat changes the rank")
            needs = res.shortcut is not None
            if not needs and st.values[1:] != inner.values[1:]:
                raise Invalid("res cat: other axes differ")
        skip = st.dims[0]
        if res.shortcut is not None:
            # Simulated even where the identity fits: legoc analyses a
            # block's shortcut (fixing the ranks of the blocks it calls)
            # before the caller's values decide whether it is needed.
            call = res.shortcut
            fill = {}
            sig = self.signature(call.name, env)
            if sig and (call.name not in SIGNATURES or sig[0] in ("out_channels", "out_features")):
                fill[sig[0]] = self.ctor(inner.dims[0])  # a constructor argument of the projection
            strides = set(inner.stride[1:])
            if "stride" in sig and len(strides) == 1 and None not in strides and strides != {1}:
                fill["stride"] = next(iter(strides))
            proj = self.call(call, st, env, fill)
        if needs:
            if res.mode == "add" and proj.values != inner.values:
                raise Invalid("the shortcut does not fit")
            if res.mode == "cat" and (proj.rank != inner.rank or proj.values[1:] != inner.values[1:]):
                raise Invalid("the shortcut does not fit")
            skip = proj.dims[0]
        if res.mode == "cat":
            dims = (Dim(skip.v + inner.dims[0].v, skip.sym or inner.dims[0].sym), *inner.dims[1:])
        else:  # the sum broadcasts: an axis is symbolic where either side's is
            dims = _summed([inner, proj]) if needs else inner.dims
        return st.then(dims, inner.keep, inner.stride)

    def parallel(self, par: Par, st: State, env: dict) -> State:
        outs = [self.seq(b, State.start(st.dims), env) for b in par.branches]
        first = outs[0]
        if any(o.rank != first.rank for o in outs):
            raise Invalid("branches of different ranks")
        if par.mode == "cat":
            if any(o.values[1:] != first.values[1:] for o in outs):
                raise Invalid("cat: other axes differ")
            dims = (Dim(sum(o.dims[0].v for o in outs), any(o.dims[0].sym for o in outs)), *first.dims[1:])
        else:
            if any(o.values != first.values for o in outs):
                raise Invalid("add: shapes differ")
            dims = _summed(outs)
        keep = []
        for i in range(first.rank):
            k = None if all(o.keep[i] is None for o in outs) else True
            for o in outs:
                k = k if o.keep[i] is None else _and(k, o.keep[i])
            keep.append(k)
        keep = tuple(keep)
        return st.then(dims, keep, first.stride)

    def repeat(self, rep: Rep, st: State, env: dict) -> State:
        n = ev(rep.count, env)
        once = lambda s: self.seq(rep.items, State.start(s.dims), env)  # noqa: E731
        first = once(st)
        if first.rank != st.rank:
            raise Invalid("the generator repeats rank-preserving items only")
        if n == 0:
            if first.values != st.values or any(c.name not in ELEMENTWISE for c in rep.items):
                raise Invalid("repeat 0 only of elementwise layers")
            return st
        if n < 0:
            raise Invalid("negative count")
        second = once(first)  # legoc analyses a second repetition whatever the count
        if n >= 2 and not self.same(first.dims, second):
            raise Invalid("a repeated layer must keep its shape from the second repetition on")
        return st.then(first.dims, first.keep, first.stride)

    # ---------------------------------------------------------------- calls

    def signature(self, name: str, env: dict) -> tuple[str, ...]:
        if name in env and isinstance(env[name], str):
            return ()
        if name in SIGNATURES:
            return SIGNATURES[name]
        return tuple(p for p, _ in self.blocks[name].params)

    def call(self, call: Call, st: State, env: dict, fill: dict | None = None) -> State:
        name = call.name
        if name in env and isinstance(env[name], str):  # a layer-valued parameter
            assert not call.args and not call.kwargs
            name = env[name]
            return self.prim(name, {}, st)
        sig = self.signature(name, env)
        values = {}
        for key, text in zip(sig, call.args):
            values[key] = ev(text, env)
        for key, text in call.kwargs:
            assert key not in values, (name, key)
            values[key] = ev(text, env)
        for key, v in (fill or {}).items():
            values.setdefault(key, v)
        if name in SIGNATURES:
            return self.prim(name, values, st)
        block = self.blocks[name]
        if self.ranks.setdefault(name, st.rank) != st.rank:
            raise Invalid("one block, one input rank")
        inner_env = {}
        for p, default in block.params:
            if p in values:
                inner_env[p] = values[p]
            else:
                assert default is not None, (name, p)
                inner_env[p] = ev(default, {})
        inner = self.seq(block.body, State.start(st.dims), inner_env)
        return st.then(inner.dims, inner.keep, inner.stride)

    def ctor(self, dim: Dim) -> int:
        """A size that becomes a constructor argument: in a model with
        symbolic input sizes, it must not depend on them (LG307)."""
        if dim.sym:
            raise Invalid("a constructor size depends on a symbolic input size")
        return dim.v

    def window(self, st: State, k: int, s: int, p: int, d: int):
        dims, keep, stride = [st.dims[0]], {}, {}
        for a in range(1, st.rank):
            n = (st.dims[a].v + 2 * p - d * (k - 1) - 1) // s + 1
            if n < 1:
                raise Invalid("window does not fit")
            dims.append(Dim(n, st.dims[a].sym))
            keep[a] = s == 1 and 2 * p == d * (k - 1)
            stride[a] = s
        return dims, keep, stride

    def prim(self, name: str, a: dict, st: State) -> State:
        r = st.rank
        dims = st.dims
        if name in ELEMENTWISE:
            for key in ("p",):
                if key in a and not 0 <= a[key] <= 1:
                    raise Invalid("p")
            return st
        if name in ("softmax", "log_softmax"):
            dim = a.get("dim", 0)
            if not 1 <= r <= 5 or not -r <= dim < r:
                raise Invalid("softmax dim")
            return st
        if name == "conv":
            if r not in (2, 3, 4):
                raise Invalid("rank")
            c_in = self.ctor(dims[0])
            c, k, s = a["out_channels"], a.get("kernel_size", 3), a.get("stride", 1)
            d, g = a.get("dilation", 1), a.get("groups", 1)
            p = a["padding"] if "padding" in a else d * (k - 1) // 2
            if min(c, k, s, d, g) < 1 or p < 0 or c_in % g or c % g:
                raise Invalid("conv arguments")
            spatial, keep, stride = self.window(st, k, s, p, d)
            return st.then((Dim(c), *spatial[1:]), keep, stride)
        if name == "conv_transpose":
            if r not in (2, 3, 4):
                raise Invalid("rank")
            c_in = self.ctor(dims[0])
            c, k, s = a["out_channels"], a["kernel_size"], a.get("stride", 1)
            p, op, d, g = a.get("padding", 0), a.get("output_padding", 0), a.get("dilation", 1), a.get("groups", 1)
            if min(c, k, s, d, g) < 1 or p < 0 or op < 0 or op >= max(s, d) or c_in % g or c % g:
                raise Invalid("conv_transpose arguments")
            growth = d * (k - 1) - 2 * p + op
            out, keep, stride = [Dim(c)], {}, {}
            for ax in range(1, r):
                n = (dims[ax].v - 1) * s + growth + 1
                if n < 1:
                    raise Invalid("empty")
                out.append(Dim(n, dims[ax].sym))
                keep[ax] = s == 1 and growth == 0
                stride[ax] = None
            return st.then(out, keep, stride)
        if name in ("maxpool", "avgpool"):
            if r not in (2, 3, 4):
                raise Invalid("rank")
            if name == "avgpool" and "kernel_size" not in a:
                size = a.get("output_size", 1)
                if size < 1:
                    raise Invalid("output_size")
                return st.then((dims[0], *(Dim(size) for _ in range(r - 1))), {i: False for i in range(1, r)}, {i: None for i in range(1, r)})
            k = a["kernel_size"]
            s = a.get("stride", k)
            d = a.get("dilation", 1)
            p = a["padding"] if "padding" in a else d * (k - 1) // 2
            if min(k, s, d) < 1 or p < 0 or 2 * p > k:
                raise Invalid("pool arguments")
            if name == "avgpool" and r == 4 and any(x.v < k for x in dims[1:]):
                raise Invalid("AvgPool3d wants every size, padding aside, to be at least the kernel")
            spatial, keep, stride = self.window(st, k, s, p, d)
            return st.then((dims[0], *spatial[1:]), keep, stride)
        if name == "bn":
            if not 1 <= r <= 4:
                raise Invalid("rank")
            self.ctor(dims[0])
            return st
        if name == "groupnorm":
            if r not in (2, 3, 4) or self.ctor(dims[0]) % a["num_groups"]:
                raise Invalid("groupnorm")
            return st
        if name == "layernorm":
            if not 1 <= r <= 5:
                raise Invalid("rank")
            self.ctor(dims[-1])
            return st
        if name == "linear":
            if not 1 <= r <= 5 or a["out_features"] < 1:
                raise Invalid("linear")
            self.ctor(dims[-1])
            return st.then((*dims[:-1], Dim(a["out_features"])))
        if name == "flatten":
            if not 1 <= r <= 5:
                raise Invalid("rank")
            return st.then((Dim(math.prod(d.v for d in dims), any(d.sym for d in dims)),))
        if name == "upsample":
            scale, mode = a["scale_factor"], a.get("mode", "nearest")
            if r not in (2, 3, 4) or r not in UPSAMPLE_MODES[mode] or scale < 1 or ("align_corners" in a and mode == "nearest"):
                raise Invalid("upsample")
            out = (dims[0], *(Dim(x.v * scale, x.sym) for x in dims[1:]))
            return st.then(out, {i: scale == 1 for i in range(1, r)}, {i: None for i in range(1, r)})
        if name == "pixel_shuffle":
            f = a["upscale_factor"]
            if r != 3 or f < 1 or dims[0].v % (f * f):
                raise Invalid("pixel_shuffle")
            out = (Dim(dims[0].v // (f * f), dims[0].sym), Dim(dims[1].v * f, dims[1].sym), Dim(dims[2].v * f, dims[2].sym))
            return st.then(out, {1: f == 1, 2: f == 1}, {1: None, 2: None})
        if name == "embedding":
            if not 1 <= r <= 3:
                raise Invalid("rank")
            return st.then((*dims, Dim(a["embedding_dim"])))
        if name in ("lstm", "gru"):
            if r != 2:
                raise Invalid("rank")
            self.ctor(dims[1])
            width = a["hidden_size"] * (2 if a.get("bidirectional", False) else 1)
            if a.get("output", "sequence") == "sequence":
                return st.then((dims[0], Dim(width)))
            return st.then((Dim(width),))
        raise AssertionError(name)

    # ------------------------------------------------------------- patterns

    def pattern(self, pat: Pat, st: State, env: dict) -> State:
        sizes = {k: ev(v, env) for k, v in pat.sizes}
        dims = pattern_shape(pat.pattern, sizes, st.dims, pat.kind == "reduce")
        if _is_identity(pat.pattern):
            return st
        return st.rearranged(dims)


ELEMENTWISE = frozenset(ACTIVATIONS + ["leaky_relu", "dropout"])


def _side(text: str) -> list[list[str]]:
    groups, current = [], None
    for tok in re.findall(r"\(|\)|\.\.\.|\w+", text):
        if tok == "(":
            current = []
        elif tok == ")":
            groups.append(current)
            current = None
        elif current is not None:
            current.append(tok)
        else:
            groups.append([tok])
    return groups


def _is_identity(pattern: str) -> bool:
    left, right = pattern.split("->")
    return _side(left) == _side(right) and all(len(g) == 1 and g[0] != "1" for g in _side(left))


def pattern_shape(pattern: str, sizes: dict[str, int], dims, reduce: bool) -> list[Dim]:
    """The output of an einops pattern (without the batch axis)."""
    left, right = (_side(s) for s in pattern.split("->"))
    n_dots = len(dims) - (len(left) - (1 if ["..."] in left else 0))
    if n_dots < 0 or (["..."] not in left and n_dots != 0):
        raise Invalid("rank")

    def expand(groups):
        out = []
        for g in groups:
            if g == ["..."]:
                out += [[f"...{i}"] for i in range(n_dots)]
            else:
                out.append([n for x in g for n in ([f"...{i}" for i in range(n_dots)] if x == "..." else [x])])
        return out

    left, right = expand(left), expand(right)
    size: dict[str, Dim] = {}
    for dim, group in zip(dims, left):
        elems = [n for n in group if n != "1"]
        if not elems:
            if dim.v != 1:
                raise Invalid("unit axis")
            continue
        unknown = [n for n in elems if n not in sizes]
        if len(elems) == 1:
            if elems[0] in sizes and sizes[elems[0]] != dim.v:
                raise Invalid("axis size")
            size[elems[0]] = dim
            continue
        if len(unknown) > 1:
            raise Invalid("give all but one size")
        known = math.prod(sizes[n] for n in elems if n in sizes)
        for n in elems:
            if n in sizes:
                size[n] = Dim(sizes[n])
        if unknown:
            if dim.v % known:
                raise Invalid("does not divide")
            size[unknown[0]] = Dim(dim.v // known, dim.sym)
        elif dim.v != known:
            raise Invalid("axis size")
    names = {n for g in left for n in g if n != "1"}
    outs = {n for g in right for n in g if n != "1"}
    if not outs <= names or (not reduce and outs != names):
        raise Invalid("pattern axes")
    result = []
    for group in right:
        elems = [size[n] for n in group if n != "1"]
        result.append(Dim(math.prod(d.v for d in elems), any(d.sym for d in elems)))
    return result


# ================================================================= generator


@dataclass
class Ctx:
    """Where the generator is: the definition's parameters (name -> value,
    for expressions), its layer names, and what may appear here."""

    env: dict
    labels: set
    depth: int = 0
    in_res: bool = False
    calls_only: bool = False  # a repeat's items or a named group's
    in_block: bool = False


NAMES = ["stem", "body", "head", "mix", "proj", "down", "up", "norm", "fc", "trunk", "neck", "feat"]


class Gen:
    """Draws a valid spec, simulating every item as it goes."""

    MAX_SPATIAL = {2: 64, 3: 40, 4: 10}

    def __init__(self, draw, symbolic: bool):
        self.draw = draw
        self.symbolic = symbolic
        self.blocks: dict[str, BlockDef] = dict(PRELUDE)
        self.user_blocks: list[BlockDef] = []
        self.sim = Sim(self.blocks, symbolic)
        self.budget = 40  # items; past it, no more nesting (big specs overrun hypothesis's buffer)
        self.boost: dict[str, int] = {}  # weight factors by construct

    # ------------------------------------------------------------- drawing

    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, max(lo, hi)))

    def pick(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    def weighted(self, options: dict):
        """One key of `options`, with the given weights (0: unavailable)."""
        table = [k for k, w in options.items() for _ in range(w * self.boost.get(k, 1))]
        return self.pick(table)

    def label(self, ctx: Ctx) -> str | None:
        if ctx.calls_only or not self.chance(15):
            return None
        base = self.pick(NAMES)
        name = base
        for i in itertools.count(1):
            if name not in ctx.labels:
                break
            name = f"{base}{i}"
        ctx.labels.add(name)
        return name

    def num(self, value: int, ctx: Ctx, what: str = "channels") -> str:
        """An expression text for `value`: a literal, or in a block or a
        parameterised model, sometimes an expression over its parameters."""
        options = [str(value)]
        for p, v in ctx.env.items():
            if not isinstance(v, int) or isinstance(v, bool):
                continue
            if what == "channels" and p in ("c", "width", "classes", "n"):
                if v == value:
                    options += [p] * 3
                if v * 2 == value:
                    options.append(f"({p} * 2)")
                if v and value and v % 2 == 0 and v // 2 == value:
                    options.append(f"({p} // 2)")
                if v + 1 == value:
                    options.append(f"({p} + 1)")
                if v >= value >= 1:
                    options.append(f"min({p}, {value})")
            if what == "stride" and p == "s" and v == value:
                options += [p] * 3
            if what == "kernel" and p == "k" and v == value:
                options += [p] * 3
            if what == "size" and v == value:
                options += [p] * 3
        return self.pick(options)

    # --------------------------------------------------------------- items

    def seq(self, st: State, ctx: Ctx, lo: int, hi: int) -> tuple[list, State]:
        items = []
        for _ in range(self.int(lo, hi)):
            item, st = self.item(st, ctx)
            items.append(item)
        return items, st

    def item(self, st: State, ctx: Ctx):
        self.budget -= 1
        for _ in range(4):
            try:
                item = self.propose(st, ctx)
                if item is None:
                    continue
                return item, self.sim.item(item, st, ctx.env)
            except Invalid:
                continue
        item = Call(self.pick(["relu", "identity", "dropout"]))
        return item, self.sim.item(item, st, ctx.env)

    def propose(self, st: State, ctx: Ctx):
        r = st.rank
        spatial = r in (2, 3, 4)
        nested = ctx.depth < 2 and not ctx.calls_only and self.budget > 0
        pattern_ok = not ctx.calls_only and not (self.symbolic and ctx.in_res) and r <= 4
        big = any(d.v > self.MAX_SPATIAL.get(r, 64) for d in st.dims[1:]) if spatial else False
        options = {
            "conv": 14 * spatial,
            "conv_transpose": 3 * spatial * (not big),
            "maxpool": 5 * spatial,
            "avgpool": 3 * spatial,
            "adaptive": 1 * spatial,
            "bn": 4,
            "groupnorm": 2 * spatial,
            "act": 6,
            "dropout": 1,
            "softmax": 1,
            "upsample": 3 * spatial * (not big),
            "pixel_shuffle": 2 * (r == 3) * (not big),
            "linear": 10 * (r == 1) + 2 * (r == 2),
            "layernorm": 2 * (r <= 2) + (r == 3),
            "recurrent": 3 * (r == 2) * (not ctx.calls_only),  # forward unpacks their tuple: not in an nn.Sequential
            "res": 8 * nested,
            "rescat": 3 * nested * (r >= 2),
            "parallel": 5 * nested,
            "repeat": 4 * (not ctx.calls_only) * (ctx.depth < 3) * (self.budget > 0),
            "block": 7 * (not ctx.in_block or ctx.depth < 1) * (self.budget > 0),
            "prelude": 4 * (r == 3 or r == 2 or r == 4),
            "group": 2 * (not ctx.calls_only) * (not ctx.in_res) * (ctx.depth < 2) * (self.budget > 0),
            "pattern": 4 * pattern_ok,
            "flatten": 1 * (r >= 2) * (not ctx.in_res) * (math.prod(st.values) <= 2048),
        }
        kind = self.weighted(options)
        return getattr(self, f"p_{kind}")(st, ctx)

    # One proposal per construct. Each returns an item (or None); the caller
    # simulates it and draws again when it is invalid.

    def p_conv(self, st: State, ctx: Ctx):
        c_in = st.dims[0].v
        g = 1
        if self.chance(25):
            g = self.pick([d for d in range(1, c_in + 1) if c_in % d == 0])
        c = g * self.int(1, max(1, 16 // g))
        k = self.pick([1, 1, 2, 3, 3, 3, 4, 5, 7])
        kwargs = []
        positional = self.chance(20)
        args = [self.num(c, ctx)]
        if positional:
            args.append(self.num(k, ctx, "kernel"))
        elif k != 3 or self.chance(30):
            kwargs.append(("kernel_size", self.num(k, ctx, "kernel")))
        s = self.pick([1, 1, 1, 2, 2, 3])
        if s != 1 or self.chance(10):
            kwargs.append(("stride", self.num(s, ctx, "stride")))
        if self.chance(30):
            kwargs.append(("padding", str(self.int(0, 3))))
        if self.chance(20):
            kwargs.append(("dilation", str(self.int(1, 3))))
        if g != 1:
            kwargs.append(("groups", str(g)))
        if self.chance(25):
            kwargs.append(("bias", self.pick(["true", "false"])))
        return Call("conv", tuple(args), tuple(kwargs), self.label(ctx))

    def p_conv_transpose(self, st: State, ctx: Ctx):
        c_in = st.dims[0].v
        g = self.pick([d for d in range(1, c_in + 1) if c_in % d == 0]) if self.chance(20) else 1
        c = g * self.int(1, max(1, 16 // g))
        k = self.int(1, 4)
        s = self.pick([1, 2, 2, 3])
        d = self.pick([1, 1, 2])
        kwargs = [("kernel_size", str(k))]
        if s != 1:
            kwargs.append(("stride", str(s)))
        if self.chance(40):
            kwargs.append(("padding", str(self.int(0, 2))))
        if self.chance(30):
            kwargs.append(("output_padding", str(self.int(0, max(s, d) - 1))))
        if g != 1:
            kwargs.append(("groups", str(g)))
        if d != 1:
            kwargs.append(("dilation", str(d)))
        if self.chance(20):
            kwargs.append(("bias", "false"))
        return Call("conv_transpose", (self.num(c, ctx),), tuple(kwargs), self.label(ctx))

    def p_maxpool(self, st: State, ctx: Ctx):
        k = self.pick([1, 2, 2, 3, 3, 4])
        kwargs = []
        if self.chance(50):
            kwargs.append(("stride", str(self.int(1, 3))))
        d = 1
        if self.chance(15):
            d = self.int(2, 3)
            kwargs.append(("dilation", str(d)))
        if self.chance(35) or d * (k - 1) // 2 * 2 > k:
            kwargs.append(("padding", str(self.int(0, k // 2))))
        return Call("maxpool", (str(k),), tuple(kwargs), self.label(ctx))

    def p_avgpool(self, st: State, ctx: Ctx):
        k = self.pick([1, 2, 2, 3, 4])
        kwargs = []
        if self.chance(50):
            kwargs.append(("stride", str(self.int(1, 3))))
        if self.chance(35):
            kwargs.append(("padding", str(self.int(0, k // 2))))
        return Call("avgpool", (str(k),), tuple(kwargs), self.label(ctx))

    def p_adaptive(self, st: State, ctx: Ctx):
        if self.chance(50):
            return Call("avgpool", (), (), self.label(ctx))
        return Call("avgpool", (), (("output_size", str(self.int(1, 4))),), self.label(ctx))

    def p_bn(self, st: State, ctx: Ctx):
        kwargs = []
        if self.chance(15):
            kwargs.append(("affine", "false"))
        if self.chance(10):
            kwargs.append(("eps", "0.001"))
        if self.chance(10):
            kwargs.append(("momentum", "0.01"))
        return Call("bn", (), tuple(kwargs), self.label(ctx))

    def p_groupnorm(self, st: State, ctx: Ctx):
        c = st.dims[0].v
        g = self.pick([d for d in range(1, c + 1) if c % d == 0])
        kwargs = (("affine", "false"),) if self.chance(15) else ()
        return Call("groupnorm", (str(g),), kwargs, self.label(ctx))

    def p_layernorm(self, st: State, ctx: Ctx):
        kwargs = (("elementwise_affine", "false"),) if self.chance(20) else ()
        return Call("layernorm", (), kwargs, self.label(ctx))

    def p_act(self, st: State, ctx: Ctx):
        layer_params = [p for p, v in ctx.env.items() if isinstance(v, str)]
        if layer_params and self.chance(40):
            return Call(self.pick(layer_params))
        name = self.pick(ACTIVATIONS + ["leaky_relu"])
        kwargs = (("negative_slope", "0.2"),) if name == "leaky_relu" and self.chance(50) else ()
        return Call(name, (), kwargs, self.label(ctx))

    def p_dropout(self, st: State, ctx: Ctx):
        args = (self.pick(["0.1", "0.5", "0.0", "1.0"]),) if self.chance(50) else ()
        return Call("dropout", args, (), self.label(ctx))

    def p_softmax(self, st: State, ctx: Ctx):
        dim = self.int(-st.rank, st.rank - 1)
        name = self.pick(["softmax", "log_softmax"])
        form = self.pick(["default", "positional", "keyword"])
        if form == "default" and dim == 0:
            return Call(name, (), (), self.label(ctx))
        if form == "positional":
            return Call(name, (str(dim),), (), self.label(ctx))
        return Call(name, (), (("dim", str(dim)),), self.label(ctx))

    def p_upsample(self, st: State, ctx: Ctx):
        r = st.rank
        scale = self.pick([1, 2, 2, 3])
        modes = [m for m, ranks in UPSAMPLE_MODES.items() if r in ranks]
        mode = self.pick(modes)
        kwargs = []
        if mode != "nearest" or self.chance(20):
            kwargs.append(("mode", f'"{mode}"'))
        if mode != "nearest" and self.chance(40):
            kwargs.append(("align_corners", self.pick(["true", "false"])))
        return Call("upsample", (str(scale),), tuple(kwargs), self.label(ctx))

    def p_pixel_shuffle(self, st: State, ctx: Ctx):
        c = st.dims[0].v
        factors = [f for f in (1, 2, 3) if c % (f * f) == 0]
        return Call("pixel_shuffle", (str(self.pick(factors)),), (), self.label(ctx))

    def p_linear(self, st: State, ctx: Ctx):
        n = self.int(1, 24)
        kwargs = (("bias", "false"),) if self.chance(20) else ()
        return Call("linear", (self.num(n, ctx),), kwargs, self.label(ctx))

    def p_recurrent(self, st: State, ctx: Ctx):
        kind = self.pick(["lstm", "gru"])
        kwargs = []
        if self.chance(40):
            kwargs.append(("num_layers", str(self.int(1, 2))))
        if self.chance(40):
            kwargs.append(("bidirectional", "true"))
        if not ctx.calls_only and not ctx.in_res and self.chance(25):
            kwargs.append(("output", '"hidden"'))
        return Call(kind, (str(self.int(1, 12)),), tuple(kwargs), self.label(ctx))

    def p_flatten(self, st: State, ctx: Ctx):
        return Call("flatten", (), (), self.label(ctx))

    def p_res(self, st: State, ctx: Ctx):
        inner = replace(ctx, depth=ctx.depth + 1, in_res=True, calls_only=False)
        body, out = self.seq(State.start(st.dims), inner, 1, 3)
        shortcut = None
        if self.chance(60) or not self.sim.same(st.dims, out):
            shortcut = self.shortcut(st, out, ctx)
        return Res("add", body, shortcut, self.chance(30))

    def p_rescat(self, st: State, ctx: Ctx):
        inner = replace(ctx, depth=ctx.depth + 1, in_res=True, calls_only=False)
        body, out = self.seq(State.start(st.dims), inner, 1, 3)
        shortcut = None
        if self.chance(40) or out.values[1:] != st.values[1:]:
            shortcut = self.shortcut(st, out, ctx, cat=True)
        return Res("cat", body, shortcut, self.chance(30))

    def shortcut(self, st: State, out: State, ctx: Ctx, cat: bool = False) -> Call:
        label = self.label(ctx)
        if st.rank == 1 or out.rank == 1:
            return Call("linear", (), (), label)
        options = ["conv1x1_bn", "conv1x1", "conv3x3", "conv_bn", "conv kernel_size=1", "conv", "maxpool 1", "avgpool 1"]
        choice = self.pick(options + [b.name for b in self.user_blocks if b.params and b.params[0][0] == "c" and not b.layer_params])
        if cat and self.chance(50) and choice in ("conv1x1_bn", "conv1x1", "conv", "conv kernel_size=1"):
            name, *rest = choice.split()
            return Call(name, (str(self.int(1, 8)),), tuple(tuple(x.split("=")) for x in rest), label)
        name, *rest = choice.split()
        if name in ("maxpool", "avgpool"):
            return Call(name, (rest[0],), (), label)
        return Call(name, (), tuple(tuple(x.split("=")) for x in rest), label)

    def p_parallel(self, st: State, ctx: Ctx):
        mode = self.pick(["cat", "cat", "add"])
        inner = replace(ctx, depth=ctx.depth + 1, calls_only=False)
        branches = []
        first = None
        for i in range(self.int(2, 3)):
            if i > 0 and self.chance(25):
                branch, out = [Call("identity")], st
            else:
                branch, out = self.seq(State.start(st.dims), inner, 1, 2)
            if first is None:
                first = out
            elif out.rank != first.rank or out.values[1:] != first.values[1:] or (mode == "add" and out.values != first.values):
                # make the branch fit: a 1x1 convolution or a linear map
                # often fixes the channels; otherwise give up this branch
                if mode == "add" and out.rank == first.rank and out.values[1:] == first.values[1:]:
                    fix = Call("conv", (str(first.dims[0].v),), (("kernel_size", "1"),)) if out.rank >= 2 else Call("linear", (str(first.dims[0].v),))
                    try:
                        out = self.sim.item(fix, out, ctx.env)
                        branch = branch + [fix]
                    except Invalid:
                        return None
                else:
                    return None
            branches.append(branch)
        return Par(mode, branches, self.chance(25))

    def p_repeat(self, st: State, ctx: Ctx):
        inner = replace(ctx, depth=ctx.depth + 1, calls_only=True)
        items, out = self.seq(State.start(st.dims), inner, 1, 3)
        if all(isinstance(i, Call) and i.name in ELEMENTWISE for i in items) and self.chance(30):
            count = 0
        else:
            count = self.int(1, 3)
        count_text = str(count)
        if "n" in ctx.env and ctx.env["n"] == count and self.chance(60):
            count_text = "n"
        elif count >= 1 and self.chance(10):
            count_text = f"({count + 1} - 1)"
        group = len(items) > 1 or self.chance(20)
        return Rep(count_text, items, group, self.label(ctx))

    def p_group(self, st: State, ctx: Ctx):
        label = self.label(replace(ctx, calls_only=False))
        if label is None:
            label = f"seq{len(ctx.labels)}"
            ctx.labels.add(label)
        inner = replace(ctx, depth=ctx.depth + 1, calls_only=True)
        items = []
        for _ in range(self.int(1, 3)):
            if self.chance(20):
                rep = self.p_repeat(st, inner)
                try:
                    st = self.sim.item(rep, st, ctx.env)
                except Invalid:
                    continue
                items.append(rep)
            else:
                item, st = self.item(st, inner)
                items.append(item)
        if not items:
            items.append(Call("identity"))
        return Grp(label, items)

    def p_prelude(self, st: State, ctx: Ctx):
        name = self.pick(["conv1x1", "conv3x3", "conv_bn", "conv1x1_bn", "conv3x3_bn", "conv_bn_act", "conv3x3_bn_act"])
        block = PRELUDE[name]
        args = [self.num(self.int(1, 16), ctx)]
        kwargs = []
        for p, _ in block.params[1:]:
            if not self.chance(35):
                continue
            if p == "stride":
                kwargs.append((p, self.num(self.pick([1, 2, 3]), ctx, "stride")))
            elif p == "kernel_size":
                kwargs.append((p, self.num(self.pick([1, 3, 5]), ctx, "kernel")))
            elif p == "bias":
                kwargs.append((p, self.pick(["true", "false"])))
            elif p == "act":
                layer_params = [q for q, v in ctx.env.items() if isinstance(v, str)]
                kwargs.append((p, self.pick(LAYER_VALUES + layer_params)))
        return Call(name, tuple(args), tuple(kwargs), self.label(ctx))

    def p_block(self, st: State, ctx: Ctx):
        usable = [b for b in self.user_blocks if b.rank == st.rank and not (self.symbolic and ctx.in_res and b.has_pattern)]
        if usable and (self.chance(50) or ctx.in_block):
            return self.call_block(self.pick(usable), st, ctx)
        if ctx.in_block or len(self.user_blocks) >= 4:
            return None
        return self.new_block(st, ctx)

    def call_block(self, block: BlockDef, st: State, ctx: Ctx) -> Call:
        args, kwargs = [], []
        for i, (p, default) in enumerate(block.params):
            if p in block.layer_params:
                if self.chance(50):
                    kwargs.append((p, self.pick(LAYER_VALUES)))
                continue
            if default is not None and self.chance(40):
                continue
            if p == "c":
                value = self.num(self.pick([1, 2, 4, 6, 8, 12, 16]), ctx)
            elif p == "s":
                value = self.num(self.pick([1, 1, 2, 3]), ctx, "stride")
            elif p == "k":
                value = str(self.pick([1, 3, 5, 2]))
            elif p == "n":
                value = str(self.int(1, 3))
            else:
                value = str(self.int(1, 4))
            if default is None and len(kwargs) == 0 and not self.chance(10):
                args.append(value)
            else:
                kwargs.append((p, value))
        return Call(block.name, tuple(args), tuple(kwargs), self.label(ctx))

    def new_block(self, st: State, ctx: Ctx):
        name = f"{self.pick(['unit', 'stage', 'mix', 'cell', 'down', 'head'])}{len(self.user_blocks)}"
        params: list[tuple[str, str | None]] = [("c", None)]
        env: dict = {"c": self.pick([1, 2, 4, 6, 8, 12, 16])}
        if self.chance(50):
            env["s"] = self.pick([1, 2])
            params.append(("s", self.pick(["1", "2"])))
        if self.chance(30):
            env["k"] = self.pick([1, 3, 5])
            params.append(("k", self.pick(["3", "1"])))
        if self.chance(25):
            env["n"] = self.int(1, 2)
            params.append(("n", "2"))
        layer_params = frozenset()
        if self.chance(30):
            default = self.pick(ACTIVATIONS)
            env["act"] = self.pick(LAYER_VALUES)
            params.append(("act", default))
            layer_params = frozenset({"act"})
        # In a residual body, with symbolic sizes, no patterns: as for the body itself.
        inner = Ctx(env, set(), depth=0, in_res=ctx.in_res, in_block=True)
        # The body sees the call's values; a call passes them all.
        body, _ = self.seq(State.start(st.dims), inner, 1, 4)
        has_pattern = any(isinstance(i, Pat) for i in _walk(body))
        doc = self.pick([None, None, "A random block.", "Two lines\n# of comment."])
        block = BlockDef(name, params, body, st.rank, layer_params, has_pattern, doc)
        self.blocks[name] = block
        self.user_blocks.append(block)
        args = [str(env["c"])]
        kwargs = [(p, str(env[p])) for p, _ in params[1:]]
        return Call(name, tuple(args), tuple(kwargs), self.label(ctx))

    def p_pattern(self, st: State, ctx: Ctx):
        v = st.values
        r = st.rank
        red = self.pick(["mean", "max", "min", "sum"])

        def divisor(n: int) -> int:
            return self.pick([d for d in range(1, min(n, 4) + 1) if n % d == 0])

        def size(n: int) -> str:  # an axis size: a literal, or a parameter of that value
            return self.num(n, ctx, "size")

        if r == 3:
            choice = self.pick(["transpose", "last", "s2d", "d2s", "shuffle", "seq", "1d", "unit", "dots", "rchan", "rrow", "rpool", "runit", "identity", "rdots"])
            if choice == "transpose":
                return Pat("rearrange", "c h w -> c w h")
            if choice == "last":
                return Pat("rearrange", "c h w -> h w c")
            if choice == "s2d":
                p1, p2 = divisor(v[1]), divisor(v[2])
                return Pat("rearrange", "c (h p1) (w p2) -> (c p1 p2) h w", sizes=(("p1", size(p1)), ("p2", size(p2))))
            if choice == "d2s":
                f = self.pick([f for f in (1, 2) if v[0] % (f * f) == 0])
                return Pat("rearrange", "(c p1 p2) h w -> c (h p1) (w p2)", sizes=(("p1", size(f)), ("p2", size(f))))
            if choice == "shuffle":
                return Pat("rearrange", "(g c) h w -> (c g) h w", sizes=(("g", size(divisor(v[0]))),))
            if choice == "seq":
                return Pat("rearrange", "c h w -> (h w) c")
            if choice == "1d":
                return Pat("rearrange", "c h w -> c (h w)")
            if choice == "unit":
                return Pat("rearrange", self.pick(["c h w -> c 1 h w", "c h w -> c h w ()", "c h w -> c () h w"]))
            if choice == "dots":
                return Pat("rearrange", self.pick(["c ... -> ... c", "... w -> w ...", "c h ... -> h c ..."]))
            if choice == "rchan":
                return Pat("reduce", "c h w -> c", red)
            if choice == "rrow":
                return Pat("reduce", self.pick(["c h w -> c h", "c h w -> c w", "c h w -> h w"]), red)
            if choice == "rpool":
                p = divisor(v[1])
                return Pat("reduce", "c (h p) w -> c h w", red, (("p", size(p)),))
            if choice == "runit":
                return Pat("reduce", self.pick(["c h w -> c 1 1", "c h w -> c () ()"]), red)
            if choice == "rdots":
                return Pat("reduce", "c ... -> c", red)
            return Pat("rearrange", "c h w -> c h w")
        if r == 2:
            choice = self.pick(["transpose", "split", "flat", "reduce", "unit", "first"])
            if choice == "transpose":
                return Pat("rearrange", "a b -> b a")
            if choice == "split":
                return Pat("rearrange", "a (b p) -> (a p) b", sizes=(("p", size(divisor(v[1]))),))
            if choice == "flat":
                return Pat("rearrange", "a b -> (a b)")
            if choice == "reduce":
                return Pat("reduce", self.pick(["a b -> a", "a b -> b"]), red)
            if choice == "unit":
                return Pat("rearrange", self.pick(["a b -> a b 1", "a b -> a 1 b"]))
            return Pat("rearrange", "t d -> d t")
        if r == 1:
            choice = self.pick(["split", "unit", "swap"])
            if choice == "split":
                return Pat("rearrange", "(a b) -> a b", sizes=(("b", str(divisor(v[0]))),))
            if choice == "unit":
                return Pat("rearrange", "f -> f 1")
            b = divisor(v[0])
            return Pat("rearrange", "(a b) -> (b a)", sizes=(("b", str(b)),))
        if r == 4:
            return self.pick(
                [
                    Pat("rearrange", "c d h w -> (c d) h w"),
                    Pat("rearrange", "c d h w -> c (d h) w"),
                    Pat("reduce", "c d h w -> c h w", red),
                    Pat("rearrange", "c d h w -> c d w h"),
                ]
            )
        return None


def _walk(items):
    for item in items:
        yield item
        if isinstance(item, Res):
            yield from _walk(item.body)
        elif isinstance(item, Par):
            for b in item.branches:
                yield from _walk(b)
        elif isinstance(item, (Rep, Grp)):
            yield from _walk(item.items)


# ================================================================ the cases


@dataclass
class Case:
    text: str
    sizes: list[tuple[tuple[int, ...], ...]]  # per try, one shape per input; the first must be accepted
    batch: int = 2


@st.composite
def specs(draw) -> Case:
    family = draw(st.sampled_from(["image"] * 6 + ["signal"] * 2 + ["volume", "vector", "tokens", "sequence"] + ["graph"] * 3))
    if family == "graph":
        return draw(graph_specs())
    # A quarter of images and signals stress the input-size rules: symbolic
    # sizes, more joins, strides and patterns, and six more sizes to try.
    focus = family in ("image", "signal") and draw(st.integers(0, 3)) == 0
    symbolic = (focus or draw(st.booleans())) and family != "vector"
    gen = Gen(draw, symbolic)
    if focus:
        gen.boost = {"parallel": 4, "maxpool": 2, "conv_transpose": 2, "pattern": 2, "linear": 0, "flatten": 0}
    sym_axes: list[int] = []
    if family == "image":
        shape = [gen.int(1, 8), gen.int(1, 32), gen.int(1, 32)]
        labels = ["C", "H", "W"]
        if symbolic:
            sym_axes = gen.pick([[1, 2], [1, 2], [1], [2]])
    elif family == "signal":
        shape = [gen.int(1, 8), gen.int(1, 40)]
        labels = ["C", "L"]
        if symbolic:
            sym_axes = [1]
    elif family == "volume":
        shape = [gen.int(1, 4), gen.int(1, 6), gen.int(1, 6), gen.int(1, 6)]
        labels = ["C", "D", "H", "W"]
        if symbolic:
            sym_axes = gen.pick([[1, 2, 3], [3]])
    elif family == "vector":
        shape = [gen.int(1, 32)]
        labels = ["F"]
    elif family == "tokens":
        shape = [gen.int(1, 12)]
        labels = ["T"]
        if symbolic:
            sym_axes = [0]
    else:
        shape = [gen.int(1, 12), gen.int(1, 12)]
        labels = ["T", "D"]
        if symbolic:
            sym_axes = [0]
    params: dict = {}
    if not symbolic and gen.chance(30):
        params["width"] = gen.pick([4, 8])
        if gen.chance(50):
            params["classes"] = gen.int(1, 10)
    ctx = Ctx(dict(params), set())
    dims = tuple(Dim(v, i in sym_axes) for i, v in enumerate(shape))
    st0 = State.start(dims)
    items = []
    if family == "tokens":
        emb = Call("embedding", (str(gen.int(2, 20)), str(gen.int(1, 12))), (), gen.label(ctx))
        items.append(emb)
        st0 = gen.sim.item(emb, st0, ctx.env)
    body, out = gen.seq(st0, ctx, 1, 7)
    items += body
    if out.rank >= 2 and not any(d.sym for d in out.dims) and math.prod(out.values) <= 4096 and gen.chance(35):
        head = [Call("flatten"), Call("linear", (gen.num(gen.int(1, 10), ctx) if "classes" not in params else "classes",))]
        for item in head:
            out = gen.sim.item(item, out, ctx.env)
        items += head
    elif out.rank in (2, 3, 4) and gen.chance(20):
        head = [Call("avgpool"), Call("flatten"), Call("linear", (str(gen.int(1, 10)),))]
        try:
            out2 = out
            for item in head:
                out2 = gen.sim.item(item, out2, ctx.env)
            items += head
        except Invalid:
            pass
    dim_text = ", ".join(labels[i] if i in sym_axes else str(v) for i, v in enumerate(shape))
    header = ", ".join(f"{k}={v}" for k, v in params.items())
    name = draw(st.sampled_from(["Net", "M", "Model2", "ResNetish"]))
    model = f"model {name}({header}):\n    input [{dim_text}]\n" + "\n".join(_lines(items, "    ")) + "\n"
    blocks = "\n".join(b.text() for b in gen.user_blocks)
    text = (blocks + "\n" if blocks else "") + model
    sizes = [(tuple(shape),)]
    for _ in range((6 if focus else 2) if sym_axes else 0):
        alt = list(shape)
        for i in sym_axes:
            alt[i] = draw(st.integers(1, 12 if family == "volume" else 64 if family in ("signal", "image") else 16))
        sizes.append((tuple(alt),))
    return Case(text, sizes, draw(st.integers(1, 3)))


@st.composite
def graph_specs(draw) -> Case:
    """A dataflow model: named inputs (one or two, sharing their spatial
    sizes), tensors branching and joining through `cat`, `add` and a
    two-input block, rebinding, and one or two outputs."""
    symbolic = draw(st.booleans())
    gen = Gen(draw, symbolic)
    rank = gen.pick([3, 3, 2])
    spatial = [gen.int(1, 20) for _ in range(rank - 1)]
    labels = ["H", "W"] if rank == 3 else ["L"]
    sym = [symbolic and gen.chance(70) for _ in spatial]
    n_inputs = gen.pick([1, 1, 2])
    inputs = [(name, [gen.int(1, 6), *spatial]) for name in ["x", "y"][:n_inputs]]
    ctx = Ctx({}, set())
    tensors = {name: State.start((Dim(shape[0]), *(Dim(v, s) for v, s in zip(spatial, sym)))) for name, shape in inputs}
    lines, joins, made = [], [], []

    def stages(src: State, lo: int, hi: int, sctx: Ctx = ctx):
        items, out = gen.seq(State.start(src.dims), sctx, lo, hi)
        return items, out

    def pipeline(items) -> str:
        return "".join(" -> " + _text(i) for i in items)

    for step in range(gen.int(1, 5)):
        kind = gen.weighted({"chain": 5, "join": 3, "block": 2, "rebind": 1})
        names = list(tensors)
        if kind == "join":
            mode = gen.pick(["cat", "cat", "add"])
            a = gen.pick(names)
            fits = [n for n in names if tensors[n].rank == tensors[a].rank and (tensors[n].values if mode == "add" else tensors[n].values[1:]) == (tensors[a].values if mode == "add" else tensors[a].values[1:])]
            group = [a] + [gen.pick(fits) for _ in range(gen.int(1, 2))]
            out = gen.sim.join(mode, [tensors[n] for n in group])
            items, out = stages(out, 0, 2)
            name = f"t{step}"
            lines.append(f"{name} = ({', '.join(group)}) -> {mode}{pipeline(items)}")
            tensors[name] = out
            made.append(name)
            continue
        if kind == "block":
            a = gen.pick(names)
            fits = [n for n in names if tensors[n].rank == tensors[a].rank and tensors[n].values[1:] == tensors[a].values[1:]]
            b = gen.pick(fits)
            usable = [j for j in joins if j.rank == tensors[a].rank]
            c = gen.pick([1, 2, 4, 8])
            block = None
            if usable and gen.chance(50):
                block = gen.pick(usable)
            elif len(joins) < 2:
                bctx = Ctx({"c": c}, set(), in_block=True)
                x_stages = []
                for _ in range(3):
                    x_stages, x_out = stages(tensors[a], 0, 2, bctx)
                    if x_out.rank == tensors[b].rank and x_out.values[1:] == tensors[b].values[1:]:
                        break
                    x_stages = []
                mode = gen.pick(["cat", "add"])
                x_out = gen.sim.seq(x_stages, State.start(tensors[a].dims), {"c": c})
                try:
                    joined = gen.sim.join(mode, [State.start(tensors[b].dims), x_out])
                except Invalid:
                    mode = "cat"
                    joined = gen.sim.join(mode, [State.start(tensors[b].dims), x_out])
                after, _ = stages(joined, 0, 2, bctx)
                block = JoinDef(f"join{len(joins)}", mode, x_stages, after, tensors[a].rank)
                joins.append(block)
            try:
                if block is None:
                    raise Invalid("no block")
                out = gen.sim.join_block(block, tensors[a], tensors[b], c)
            except Invalid:
                kind = "chain"
            else:
                name = f"t{step}"
                lines.append(f"{name} = ({a}, {b}) -> {block.name} {c}")
                tensors[name] = out
                made.append(name)
                continue
        src = gen.pick(names)
        items, out = stages(tensors[src], 1, 3)
        name = src if kind == "rebind" else f"t{step}"
        lines.append(f"{name} = {src}{pipeline(items)}")
        tensors[name] = out
        made.append(name)
    outputs = [f"output {made[-1]}"] if made else []
    if not made or gen.chance(40):
        src = gen.pick(list(tensors))
        items, out = stages(tensors[src], 1, 2)
        name = gen.pick(["logits", "aux", "mask", "features"])
        outputs.append(f"output {name} = {src}{pipeline(items)}")
    dims = lambda shape: ", ".join([str(shape[0])] + [lab if s else str(v) for lab, s, v in zip(labels, sym, spatial)])  # noqa: E731
    body = [f"input {name}: [{dims(shape)}]" for name, shape in inputs] + lines + outputs
    model = f"model {gen.pick(['Graph', 'UNetish', 'G'])}():\n" + "".join(f"    {line}\n" for line in body)
    blocks = [b.text() for b in gen.user_blocks] + [j.text() for j in joins]
    text = "".join(b + "\n" for b in blocks) + model
    sizes = [tuple(tuple(shape) for _, shape in inputs)]
    for _ in range(2 if any(sym) else 0):
        alt = [draw(st.integers(1, 40)) if s else v for v, s in zip(spatial, sym)]
        sizes.append(tuple((shape[0], *alt) for _, shape in inputs))
    return Case(text, sizes, draw(st.integers(1, 3)))


# ================================================================== the oracle

Sizes = tuple[tuple[int, ...], ...]  # one shape (no batch axis) per model input


def _ints(shape) -> tuple:
    values = tuple(sy.value_of(e) for e in shape)
    assert all(isinstance(v, int) for v in values), f"a shape is not known: {shape}"
    return values


def _data(instance, sizes: Sizes, batch: int) -> list:
    """One random batch per input: token ids where an embedding reads it."""
    data = []
    for tensor, shape in zip(instance.inputs, sizes):
        vocab = [sy.value_of(op.args[0]) for op in instance.ops if op.kind == "Embedding" and tensor in op.inputs]
        data.append(torch.randint(0, min(vocab), (batch, *shape)) if vocab else torch.randn(batch, *shape))
    return data


def _forward(model, data: list):
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model(*data)


def check_spec(text: str, sizes: list[Sizes], batch: int = 2) -> None:
    """Compile `text` and compare shape inference with torch for each set of
    input sizes: the first must be accepted; the others must be accepted and
    run, or be rejected both by `bind_inputs` and by the generated forward."""
    try:
        compiled = compile_source(text, "random.lego")
    except SpecError as exc:
        raise AssertionError("legoc rejects a valid spec:\n" + "\n".join(f"{d.span.line}:{d.span.column}: {d.message}" for d in exc.diagnostics)) from None
    assert compile_source(text, "random.lego").code == compiled.code, "compiling twice gave different code"
    assert black.format_str(compiled.code, mode=black.Mode()) == compiled.code, "the generated code is not black-clean"
    analysis = compiled.analysis
    (ir,) = [c for c in analysis.classes if c.kind == "model"]
    defaults = analysis.defaults[ir.name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module_code = load_module(compiled.code)
    cls = getattr(module_code, class_names(analysis.classes)[ir.name])
    for index, shapes in enumerate(sizes):
        try:
            mapping = bind_inputs(ir, [(None, shape) for shape in shapes])
        except InstanceError as exc:
            assert index > 0, f"legoc's input-size rules reject the sizes the spec was built for, {shapes}: {exc}"
            _check_rejected(cls, shapes, batch, str(exc))
            continue
        _check_run(compiled, cls, ir, defaults, mapping, shapes, batch)


def _check_rejected(cls, shapes: Sizes, batch: int, why: str) -> None:
    model = cls().eval()
    try:
        _forward(model, [torch.randn(batch, *shape) for shape in shapes])
    except AssertionError as exc:
        if str(exc).startswith(f"{cls.__name__}: "):  # the input check's message, `UNet: H must be ...`
            return
        raise AssertionError(f"sizes {shapes}: bind_inputs rejects them ({why}), but forward fails an assertion that is not its input check: {exc!r}") from None
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"sizes {shapes}: bind_inputs rejects them ({why}), but forward fails in torch instead of its input check: {exc!r}") from None
    raise AssertionError(f"sizes {shapes}: bind_inputs rejects them ({why}), but the generated forward runs")


def _check_run(compiled, cls, ir, defaults, mapping, shapes: Sizes, batch: int) -> None:
    analysis = compiled.analysis
    instance = instantiate(analysis, ir.name, mapping)
    assert cls.__name__ == instance.class_name
    model = cls().eval()
    modules = dict(model.named_modules())
    calls: dict[str, list] = {}

    def hook(path):
        def record(module, args, output):
            out = output[0] if isinstance(output, tuple) else output
            calls.setdefault(path, []).append(([tuple(a.shape[1:]) for a in args if isinstance(a, torch.Tensor)], tuple(out.shape[1:])))

        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in modules.items() if path]
    try:
        try:
            result = _forward(model, _data(instance, shapes, batch))
        except ValueError as exc:
            # torch's group norm refuses a batch of one when each group holds
            # one value (a check on the batch, not on shapes): use two.
            if batch != 1 or "Expected more than 1 value per channel" not in str(exc):
                raise
            batch = 2
            calls.clear()
            result = _forward(model, _data(instance, shapes, batch))
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(f"sizes {shapes}: legoc accepts the spec, but torch fails: {exc!r}") from None
    finally:
        for h in handles:
            h.remove()
    where = f"input {shapes}"
    # Every module call, in order: its inputs and output as inferred.
    for op in instance.ops:
        if op.path is None:
            continue
        assert op.path in modules, f"{where}: inference has a module `{op.path}` that the model lacks"
        assert calls.get(op.path), f"{where}: `{op.path}` ({op.kind}) is never called"
        real_in, real_out = calls[op.path].pop(0)
        assert real_out == _ints(op.shape), f"{where}: `{op.path}` ({op.kind}) gives {list(real_out)}, inferred {list(_ints(op.shape))}"
        expected_in = [_ints(instance.tensors[t].shape) for t in op.inputs]
        assert real_in == expected_in, f"{where}: `{op.path}` ({op.kind}) takes {real_in}, inferred {expected_in}"
        assert type(modules[op.path]).__name__ == op.kind, f"{where}: `{op.path}` is a {type(modules[op.path]).__name__}, inferred {op.kind}"
    extra = {p: c for p, c in calls.items() if c}
    assert not extra, f"{where}: calls that inference does not know: {extra}"
    # The outputs: a tensor, or a dict of them in the order of `output` lines.
    outs = result if isinstance(result, dict) else {ir.outputs[0].name: result}
    assert len(ir.outputs) == 1 or isinstance(result, dict), "several outputs come as a dict"
    assert list(outs) == [p.name for p in ir.outputs]
    for port, (_, tensor) in zip(ir.outputs, instance.outputs):
        assert tuple(outs[port.name].shape[1:]) == _ints(instance.tensors[tensor].shape), f"{where}: output `{port.name}`"
    for port in defaults.outputs:
        expected = _ints(tuple(sy.substitute(e, mapping) for e in port.shape))
        assert tuple(outs[port.name].shape[1:]) == expected, f"{where}: output `{port.name}` is {list(outs[port.name].shape[1:])}, the analysis says {list(expected)}"
    # Parameters: the analysis, the summary, the docstring, every module.
    real = sum(p.numel() for p in model.parameters())
    assert sy.value_of(defaults.n_params) == real, f"parameters: torch counts {real}, the analysis {defaults.n_params}"
    summary = summarize(instance, batch)
    assert summary.totals.params == real, f"parameters: torch counts {real}, the summary {summary.totals.params}"
    for row in summary.rows:
        if row.path is not None:
            own = sum(p.numel() for p in modules[row.path].parameters())
            assert row.params == own, f"`{row.path}`: {own} parameters, the summary says {row.params}"
    doc = re.search(r"Trainable parameters with the default arguments: ([\d,]+)", type(model).__doc__ or "")
    assert doc and int(doc.group(1).replace(",", "")) == real, f"docstring: {doc and doc.group(0)}, torch counts {real}"
    # The docstring's output shape, where it is a list of numbers.
    stated = re.search(r"the output is \[B((?:, \d+)*)\]\.", type(model).__doc__) or re.search(r"Output: \[B((?:, \d+)*)\]\.", type(model).__doc__)
    if stated and not isinstance(result, dict):
        numbers = tuple(int(n) for n in re.findall(r"\d+", stated.group(1)))
        assert numbers == tuple(result.shape[1:]), f"docstring: {stated.group(0)}, torch gives {list(result.shape[1:])}"
    # The state_dict: keys, order, shapes and buffers.
    layout = state_dict_layout(analysis, ir.name)
    buffers = {k for k, _ in model.named_buffers()}
    assert [(e.key, e.shape) for e in layout] == [(k, tuple(v.shape)) for k, v in model.state_dict().items()], "state_dict layout"
    assert {e.key for e in layout if e.buffer} == buffers, "state_dict buffers"


# ==================================================================== tests


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(specs())
def test_random_specs_agree_with_torch(case: Case):
    note(f"spec:\n{case.text}")
    note(f"input sizes (no batch axis): {case.sizes}, batch {case.batch}")
    check_spec(case.text, case.sizes, case.batch)


def _regressions() -> list[Path]:
    return sorted(REGRESSIONS.glob("*.lego"))


def _sizes_of(text: str) -> tuple[list[Sizes], int]:
    """`# input: 3,8,8` (one input) or `# input: 3,8,8 1,8,8` (two) lines."""
    sizes = [tuple(tuple(int(x) for x in shape.split(",")) for shape in m.split()) for m in re.findall(r"^# input: ([\d, ]+)$", text, re.M)]
    batch = re.search(r"^# batch: (\d+)$", text, re.M)
    return sizes, int(batch.group(1)) if batch else 2


@pytest.mark.parametrize("path", _regressions(), ids=lambda p: p.stem)
def test_regression(path: Path):
    """Specs on which legoc and torch once disagreed (see each file's header).
    A file with `# error: CODE` is a spec torch rejects: legoc must too."""
    text = path.read_text()
    code = re.search(r"^# error: (LG\d+)$", text, re.M)
    if code:
        with pytest.raises(SpecError) as exc:
            compile_source(text, path.name)
        assert code.group(1) in [d.code for d in exc.value.diagnostics if d.severity == "error"]
        return
    sizes, batch = _sizes_of(text)
    assert sizes, f"{path.name} names no `# input:` sizes"
    check_spec(text, sizes, batch)


def test_rule_scan_is_bounded():
    """The rule scan of legoc/analysis/constraints.py tried every size up to twice the
    largest constant: with `kernel_size=1000000000` and `input [3, L]`,
    legoc set out to try two billion sizes. Past 20,000 sizes the rule is
    now the condition itself, checked as it is."""
    text = "model M():\n    input [3, L]\n    conv 4 kernel_size=1000000000 padding=0\n"
    (ir,) = [c for c in compile_source(text, "huge.lego").analysis.classes if c.kind == "model"]
    (rule,) = ir.dim_rules
    assert rule.cond is not None and sy.to_text(rule.cond) == "L - 999999999 >= 1"
    with pytest.raises(InstanceError):
        bind_inputs(ir, [(None, (3, 999_999_999))])
    assert bind_inputs(ir, [(None, (3, 1_000_000_000))])
