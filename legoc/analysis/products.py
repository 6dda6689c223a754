"""Products of tensors: `einsum` and `matmul` joining a tuple in a dataflow body.

    g = (f, f) -> einsum "c h w, d h w -> c d"     torch.einsum("bchw,bdhw->bcd", f, f)
    y = (a, b) -> matmul                            torch.matmul(a, b)

An einsum pattern names the axes of each operand without the batch axis,
in einops' style (names of any length, separated by spaces; operands by
commas), like `rearrange`'s patterns (patterns.py); the generated equation
puts a batch axis in front of every operand and of the result. An axis
named in several operands must have one size; an axis left out of the
output is summed over. `matmul` is torch.matmul on tensors of one rank
(at least 2 without the batch axis): the leading axes broadcast, the last
axis of the first meets the second-to-last of the second.

`attention` is torch's scaled dot-product attention over (q, k, v) or
(q, k, v, mask): q [..., L, E], k [..., S, E], v [..., S, Ev] give
[..., L, Ev], the leading axes broadcasting as matmul's do; a mask
broadcasts to [..., L, S]. Its keywords: `causal` (torch's is_causal,
not with a mask), `dropout` (on the attention weights, in training only)
and `scale` (1 / sqrt(E) unless given).

    y = (q, k, v) -> attention causal=true    F.scaled_dot_product_attention(q, k, v, is_causal=True)

Diagnostics: LG218 a malformed pattern or an axis name misused, LG319
sizes that disagree (an operand's rank, an axis bound to two sizes, the
inner sizes of a matmul), LG424 the wrong operands or arguments;
attention's: LG321 sizes that disagree, LG426 the wrong operands or
keywords.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from ..core.diagnostics import Span, error
from ..ir import symbolic as sy
from ..ir.nodes import Check, Shape
from ..ir.symbolic import Expr
from .flow import broadcast
from .patterns import span_in
from .signature import show_shape

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


@dataclass(frozen=True)
class Product:
    """A product's result: its shape (no batch axis), the torch.einsum
    equation with the batch axis ("" for matmul), the checks on sizes, and
    attention's keywords (name, value), the ones left at their default out."""

    shape: Shape
    equation: str
    checks: tuple[Check, ...]
    options: tuple[tuple[str, Expr], ...] = ()


def _nth(i: int) -> str:
    return _ORDINALS[i] if i < len(_ORDINALS) else f"operand {i + 1}"


def _side(text: str, offset: int, base: Span) -> list[tuple[str, int]]:
    """The axis names of one operand (or the output) with their offsets in the pattern."""
    axes = []
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*|\S", text):
        tok, at = m.group(), offset + m.start()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
            what = "groups `( )`" if tok in "()" else "`...`" if tok == "." else f"`{tok}`"
            raise error("LG218", span_in(base, at, at + len(tok)), f"an einsum pattern names each axis; {what} cannot appear in it",
                        hint='name every axis of each operand: `einsum "c h w, d h w -> c d"`')
        axes.append((tok, at))
    return axes


def einsum(pattern: str, base: Span, shapes: list[Shape]) -> Product:
    """Check an einsum pattern against its operands' shapes.

    Args:
        pattern: "c h w, d h w -> c d": each operand's axes, without the batch axis.
        base: the span of the string literal holding the pattern.
        shapes: the operands' shapes, without the batch axis.

    Raises:
        SpecError: LG218 for a malformed pattern, LG424 for as many operand
            patterns as operands, LG319 for an operand whose rank differs
            from its pattern or an axis of two constant sizes.
    """
    if pattern.count("->") != 1:
        raise error("LG218", span_in(base, 0, len(pattern)), "an einsum pattern has one `->` between its operands and its result",
                    hint='write `einsum "c h w, d h w -> c d"`')
    arrow = pattern.index("->")
    operands: list[list[tuple[str, int]]] = []
    pieces: list[tuple[int, int]] = []  # each operand's text, start and end
    start = 0
    for piece in pattern[:arrow].split(","):
        operands.append(_side(piece, start, base))
        pieces.append((start, start + len(piece)))
        start += len(piece) + 1
    result = _side(pattern[arrow + 2 :], arrow + 2, base)
    if len(operands) != len(shapes):
        raise error("LG424", span_in(base, 0, arrow), f"the pattern has {len(operands)} operand{'s' if len(operands) != 1 else ''}, but the tuple has {len(shapes)} tensors",
                    hint="write one comma-separated list of axes per tensor of the tuple")
    sizes: dict[str, tuple[Expr, int, int]] = {}  # axis -> size, operand, offset
    checks = []
    for i, (axes, shape) in enumerate(zip(operands, shapes)):
        if len(axes) != len(shape):
            end = axes[-1][1] + len(axes[-1][0]) if axes else 0
            where = span_in(base, axes[0][1], end) if axes else span_in(base, *pieces[i])
            raise error("LG319", where, f"the {_nth(i)} operand's pattern names {len(axes)} axes, but the tensor {show_shape(shape)} has {len(shape)}",
                        hint="the pattern leaves out the batch axis: name each of the others once")
        seen = set()
        for (name, at), dim in zip(axes, shape):
            span = span_in(base, at, at + len(name))
            if name in seen:
                raise error("LG218", span, f"axis `{name}` appears twice in the {_nth(i)} operand's pattern", hint="give each axis of one operand its own name")
            seen.add(name)
            if name not in sizes:
                sizes[name] = (dim, i, at)
                continue
            first, j, _ = sizes[name]
            message = (f"axis `{name}` has size ", first, f" in the {_nth(j)} operand but ", dim, f" in the {_nth(i)}")
            hint = f"an axis named in two operands is one axis, of one size: give the {_nth(i)} operand's axis its own name if they differ, or make their sizes agree"
            if sy.is_const(first) and sy.is_const(dim) and sy.value_of(first) != sy.value_of(dim):
                raise error("LG319", span, "".join(m if isinstance(m, str) else sy.to_text(m) for m in message), hint=hint)
            checks.append(Check(sy.eq(first, dim), span, message, hint=hint, code="LG319"))
    out_seen = set()
    for name, at in result:
        span = span_in(base, at, at + len(name))
        if name not in sizes:
            raise error("LG218", span, f"axis `{name}` of the result is in no operand", hint=f"name `{name}` in an operand's pattern, or leave it out of the result")
        if name in out_seen:
            raise error("LG218", span, f"axis `{name}` appears twice in the result", hint="name each axis of the result once")
        out_seen.add(name)
    # torch.einsum takes single letters: an axis keeps its name where it is
    # one letter not yet taken; the batch axis is `b` where that is free.
    letters: dict[str, str] = {}
    taken: set[str] = set()
    for name in sizes:
        if len(name) == 1 and name not in taken:
            letters[name] = name
            taken.add(name)
    free = [c for c in dict.fromkeys("b" + string.ascii_lowercase + string.ascii_uppercase) if c not in taken]
    if len(free) < 1 + sum(1 for name in sizes if name not in letters):
        raise error("LG218", span_in(base, 0, len(pattern)), "an einsum pattern has at most 51 axes besides the batch axis")
    batch = free.pop(0)
    for name in sizes:
        if name not in letters:
            letters[name] = free.pop(0)
    equation = ",".join(batch + "".join(letters[n] for n, _ in axes) for axes in operands) + "->" + batch + "".join(letters[n] for n, _ in result)
    shape = tuple(sizes[name][0] for name, _ in result)
    return Product(shape, equation, tuple(checks))


def matmul(span: Span, shapes: list[Shape]) -> Product:
    """torch.matmul's shape rule for two operands of one rank, without the batch axis.

    Raises:
        SpecError: LG424 for other than two operands, LG319 for an operand
            of rank below 2 or ranks that differ (the batch axes would not
            line up).
    """
    if len(shapes) != 2:
        raise error("LG424", span, f"`matmul` multiplies two tensors, but the tuple has {len(shapes)}", hint="write `(a, b) -> matmul`, or `einsum` for more operands")
    a, b = shapes
    if len(a) < 2 or len(b) < 2 or len(a) != len(b):
        raise error("LG319", span, f"`matmul` needs two tensors of one rank, at least 2 besides the batch axis, but they are {show_shape(a)} and {show_shape(b)}",
                    hint="add unit axes with `rearrange` (`rearrange \"k -> 1 k\"`), or write the product as an `einsum`")
    lead, agree = broadcast([a[:-2], b[:-2]])
    checks = [
        Check(sy.eq(a[-1], b[-2]), span, ("`matmul` needs the first tensor's last axis to match the second's second-to-last, but they are ", a, " and ", b),
              hint="transpose an operand with `rearrange`, or write the product as an `einsum`", code="LG319"),
    ]
    if agree != sy.TRUE:
        checks.append(Check(agree, span, ("`matmul` broadcasts the leading axes, which must be equal or 1: ", a, " and ", b), code="LG319"))
    return Product((*lead, a[-2], b[-1]), "", tuple(checks))


ATTENTION_KEYWORDS = ("dropout", "causal", "scale")
"""`attention`'s keywords, in the order torch's scaled_dot_product_attention takes them."""


def _agree(a: Expr, b: Expr, span: Span, message: tuple, hint: str, checks: list[Check]) -> None:
    """Sizes `a` and `b` must be equal: an error now where both are known,
    else a check left for the caller's values (code LG321)."""
    if sy.is_const(a) and sy.is_const(b):
        if sy.value_of(a) != sy.value_of(b):
            raise error("LG321", span, "".join(m if isinstance(m, str) else show_shape(m) if isinstance(m, tuple) else sy.to_text(m) for m in message), hint=hint)
        return
    checks.append(Check(sy.eq(a, b), span, message, hint=hint, code="LG321"))


def attention(span: Span, shapes: list[Shape], spans: list[Span], options: dict[str, tuple[Expr, Span]]) -> Product:
    """The shape rule of `(q, k, v) -> attention` and `(q, k, v, mask) -> attention`.

    Args:
        span: the `attention` stage, where usage errors point.
        shapes: the operands' shapes, without the batch axis.
        spans: where each operand is named in the tuple.
        options: the keywords given, evaluated: name -> (value, span);
            `causal` a bool, `dropout` a probability, `scale` a positive number.

    Raises:
        SpecError: LG426 for other than 3 or 4 operands, an unknown keyword,
            a keyword's value of the wrong kind or range, or `causal=true`
            with a mask; LG321 for operands of rank below 2 or of different
            ranks, q's and k's last axes (E) that differ, k's and v's
            sequence axes (S) that differ, leading axes that do not
            broadcast, or a mask that does not broadcast to [..., L, S].
    """
    if len(shapes) not in (3, 4):
        raise error("LG426", span, f"`attention` takes (q, k, v) or (q, k, v, mask), but the tuple has {len(shapes)} tensor{'s' if len(shapes) != 1 else ''}",
                    hint="write `(q, k, v) -> attention`, each of q, k, v [..., length, width]")
    for name, (value, where) in options.items():
        v = sy.value_of(value)
        if name == "causal" and not (v is None or isinstance(v, bool)):
            raise error("LG426", where, f"`causal` is true or false, not {v!r}", hint="write `causal=true` for a decoder's masking of later positions")
        if name in ("dropout", "scale") and (isinstance(v, (bool, str)) or (v is not None and not (0 <= v <= 1 if name == "dropout" else v > 0))):
            what = "a probability from 0 to 1" if name == "dropout" else "a positive number"
            raise error("LG426", where, f"`{name}` is {what}, not {v!r}", hint=f"write `{name}=0.1`" if name == "dropout" else "leave `scale` out for 1 / sqrt(E)")
    q, k, v = shapes[:3]
    names = ("q", "k", "v", "mask")
    for i, shape in enumerate(shapes[:3]):
        if len(shape) < 2:
            raise error("LG321", spans[i], f"`attention`'s {names[i]} needs a length and a width axis besides the batch axis, but it is {show_shape(shape)}",
                        hint="give each of q, k, v the shape [..., length, width]: `rearrange \"t (h d) -> h t d\"` splits heads")
    if not len(q) == len(k) == len(v):
        raise error("LG321", span, f"`attention` needs q, k and v of one rank, but they are {show_shape(q)}, {show_shape(k)} and {show_shape(v)}",
                    hint="split the heads of q, k and v alike")
    checks: list[Check] = []
    _agree(q[-1], k[-1], spans[1], ("`attention` takes the dot product of q's and k's last axes, but q is ", q, " and k is ", k),
           "give q and k one width (their last axis), or project them to one", checks)
    _agree(k[-2], v[-2], spans[2], ("`attention` needs one position of v for each of k: k is ", k, " and v is ", v, ", and their second-to-last axes differ"),
           "give k and v one sequence length (their second-to-last axis)", checks)
    lead, agree = broadcast([q[:-2], k[:-2], v[:-2]])
    if agree != sy.TRUE:
        checks.append(Check(agree, span, ("`attention` broadcasts the leading axes of q, k and v, which must be equal or 1: ", q, ", ", k, " and ", v),
                            hint="give q, k and v the same leading axes (heads), or 1 where one is shared", code="LG321"))
    if len(shapes) == 4:
        mask = shapes[3]
        causal = options.get("causal")
        if causal is not None and sy.value_of(causal[0]) is not False:
            raise error("LG426", causal[1], "`causal=true` masks later positions itself, so it takes no mask (torch forbids both)",
                        hint="leave out the mask, or fold the causal mask into it")
        target = (*lead, q[-2], k[-2])
        if len(mask) > len(target):
            raise error("LG321", spans[3], f"the mask {show_shape(mask)} has more axes than the attention weights {show_shape(target)}",
                        hint="a mask broadcasts to [..., L, S]: q's length by k's")
        for dim, want in zip(mask[::-1], target[::-1]):
            if dim != sy.ONE:
                _agree(dim, want, spans[3], ("the mask ", mask, " does not broadcast to the attention weights ", target, " (q's length by k's)"),
                       "give the mask the shape [L, S], or 1 on the axes it broadcasts over", checks)
    kept = tuple((name, options[name][0]) for name in ATTENTION_KEYWORDS if name in options)
    return Product((*lead, q[-2], v[-1]), "", tuple(checks), kept)
