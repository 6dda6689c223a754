"""einops patterns (`rearrange`, `reduce`) compiled to plain torch methods.

    rearrange "c (h p1) (w p2) -> (h w) (p1 p2 c)" p1=16 p2=16

A pattern sees the tensor without its batch axis, like every shape in the
language; the generated code adds the batch axis in front. The recipe is the
shortest chain of `unflatten` (split groups), `squeeze` (drop unit axes),
`mean`/`amax`/`amin`/`sum` (reduce), `permute`, `flatten` (merge groups) and
`unsqueeze` (new unit axes). Sizes the recipe needs come from the keyword
arguments, so symbolic sizes stay symbolic (`unflatten(2, (-1, p1))`).

Errors point inside the pattern string: a diagnostic's column is the column
of the offending character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..ir import symbolic as sy
from ..core.diagnostics import Span, error
from ..ir.nodes import Check, Shape
from ..ir.symbolic import Expr

REDUCTIONS = {"mean": "mean", "max": "amax", "min": "amin", "sum": "sum"}


@dataclass(frozen=True)
class _Axis:
    """One entry of a pattern side: a name, "1" (unit) or "..."."""

    name: str
    offset: int


@dataclass(frozen=True)
class _Group:
    """A top-level item: a bare axis, or a parenthesised group."""

    axes: tuple[_Axis, ...]
    offset: int
    end: int
    paren: bool


@dataclass(frozen=True)
class Recipe:
    """The torch method chain for a pattern, and what it gives.

    ops: (method, args) pairs; args are ints, expressions or tuples of them,
        with axis numbers counted with the batch axis in front.
    """

    ops: tuple[tuple[str, tuple], ...]
    shape: Shape
    checks: tuple[Check, ...]


def span_in(base: Span, start: int, end: int) -> Span:
    """The span of characters start..end of the pattern in the string literal at `base`."""
    # +1: the opening quote of the string literal.
    return Span(base.file, base.line, base.column + 1 + start, base.line, base.column + 1 + max(end, start + 1))


def _divides(dim: Expr, product: Expr, factors: list[tuple[str, Expr]], names: list[str], span: Span) -> Check:
    """The check (LG304) that the axis `dim` splits into the group `names`,
    whose known `factors` (axis name, size) multiply to `product`. Where the
    group splits attention heads (a factor named or sized by `head...`),
    the hint says the width must be divisible by the number of heads."""
    given: list = []
    for i, (name, size) in enumerate(factors):
        given += [", " if i else "", f"{name} = ", size]
    message = ("the input's axis of size ", dim, f" does not split into `({' '.join(names)})` with ", *given, ": it is not divisible by ", product)
    heads = any("head" in name or any("head" in s.label for s in sy.free_symbols(size)) for name, size in factors)
    if heads:
        hint = "the width must be divisible by the number of heads (by 3 * heads where one axis holds q, k and v): change the width or `heads`"
    else:
        hint = f"make the axis a multiple of {' * '.join(name for name, _ in factors)}, or change {'their sizes' if len(factors) > 1 else 'its size'}"
    return Check(sy.eq(sy.mod(dim, product), 0), span, message, hint=hint, code="LG304")


def parse_side(text: str, offset: int, base: Span) -> list[_Group]:
    """One side of a pattern (`text`, at `offset` in the pattern) as its
    top-level items. Raises SpecError (LG306) where it is malformed."""
    groups: list[_Group] = []
    current: list[_Axis] | None = None
    start = 0
    for m in re.finditer(r"\(|\)|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+|\S", text):
        tok, at = m.group(), offset + m.start()
        if tok == "(":
            if current is not None:
                raise error("LG306", span_in(base, at, at + 1), "pattern groups cannot be nested")
            current, start = [], at
        elif tok == ")":
            if current is None:
                raise error("LG306", span_in(base, at, at + 1), "unbalanced `)` in the pattern")
            groups.append(_Group(tuple(current), start, at + 1, True))
            current = None
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|\.\.\.|1", tok):
            axis = _Axis(tok, at)
            if current is None:
                groups.append(_Group((axis,), at, at + len(tok), False))
            else:
                current.append(axis)
        elif tok.isdigit():
            raise error("LG306", span_in(base, at, at + len(tok)), f"only 1 may stand for an unnamed axis, not {tok}")
        else:
            raise error("LG306", span_in(base, at, at + len(tok)), f"unexpected `{tok}` in the pattern")
    if current is not None:
        raise error("LG306", span_in(base, start, start + 1), "unbalanced `(` in the pattern")
    return groups


def _names(groups: list[_Group], base: Span) -> list[_Axis]:
    seen: dict[str, _Axis] = {}
    out = []
    for g in groups:
        for a in g.axes:
            if a.name == "1":
                continue
            if a.name in seen:
                raise error("LG306", span_in(base, a.offset, a.offset + len(a.name)), f"axis `{a.name}` appears twice on one side of the pattern")
            seen[a.name] = a
            out.append(a)
    return out


def compile_pattern(pattern: str, pattern_span: Span, sizes: dict[str, tuple[Expr, Span]], shape: Shape, reduction: str | None) -> Recipe:
    """Check a pattern against the input `shape` and build its recipe.

    Args:
        pattern: einops pattern text, without the batch axis.
        pattern_span: the span of the string literal holding it.
        sizes: axis sizes given as keyword arguments, with their spans.
        shape: the input shape, batch axis implicit.
        reduction: None for rearrange; "mean", "max", "min" or "sum".

    Raises:
        SpecError: the pattern is malformed or does not fit the shape.
    """
    base = pattern_span
    if pattern.count("->") != 1:
        at = pattern.find("->", pattern.find("->") + 1)
        span = span_in(base, at, at + 2) if at >= 0 else span_in(base, 0, len(pattern))
        raise error("LG306", span, "a pattern has one `->` between its input and output sides")
    arrow = pattern.index("->")
    left = parse_side(pattern[:arrow], 0, base)
    right = parse_side(pattern[arrow + 2 :], arrow + 2, base)
    left_names, right_names = _names(left, base), _names(right, base)
    for g in left:
        for a in g.axes:
            if a.name == "..." and g.paren:
                raise error("LG306", span_in(base, a.offset, a.offset + 3), "`...` cannot be inside parentheses on the input side")
    for side in (left_names, right_names):
        dots = [a for a in side if a.name == "..."]
        if len(dots) > 1:
            raise error("LG306", span_in(base, dots[1].offset, dots[1].offset + 3), "`...` can appear once on each side")
    lset, rset = {a.name for a in left_names}, {a.name for a in right_names}
    # `reduce` may drop the axes `...` stands for, as einops does.
    if ("..." in lset) != ("..." in rset) and not (reduction is not None and "..." in lset):
        a = next(a for a in left_names + right_names if a.name == "...")
        raise error("LG306", span_in(base, a.offset, a.offset + 3), "`...` must appear on both sides of the pattern")
    for a in right_names:
        if a.name not in lset:
            raise error("LG306", span_in(base, a.offset, a.offset + len(a.name)), f"axis `{a.name}` is not on the input side of the pattern")
    if reduction is None:
        for a in left_names:
            if a.name not in rset:
                raise error(
                    "LG306",
                    span_in(base, a.offset, a.offset + len(a.name)),
                    f"axis `{a.name}` disappears from the output; `rearrange` keeps every axis (use `reduce` to drop one)",
                )
    for name, (_, span) in sizes.items():
        if name not in lset:
            raise error("LG306", span, f"`{name}` is not an axis of the pattern")

    # Expand `...` into as many anonymous axes as the input rank leaves over.
    fixed = len(left) - (1 if "..." in lset else 0)
    if ("..." in lset and len(shape) < fixed) or ("..." not in lset and len(shape) != len(left)):
        raise error(
            "LG306",
            span_in(base, 0, arrow),
            f"the input side names {len(left) if '...' not in lset else f'at least {fixed}'} axes, but the input {_show(shape)} has {len(shape)}",
        )
    n_dots = len(shape) - fixed
    dots = [f"...{i}" for i in range(n_dots)]

    def expand(groups: list[_Group]) -> list[tuple[list[str], _Group]]:
        """Each top-level item as its list of elementary names (a bare `...`
        becomes one item per anonymous axis), with the item it came from."""
        out = []
        for g in groups:
            if not g.paren and g.axes[0].name == "...":
                out += [([d], g) for d in dots]
                continue
            names: list[str] = []
            for a in g.axes:
                names += dots if a.name == "..." else [a.name]
            out.append((names, g))
        return out

    lgroups = expand(left)
    rgroups = [names for names, _ in expand(right)]
    known: dict[str, Expr] = {name: value for name, (value, _) in sizes.items()}
    size_of: dict[str, Expr] = {}
    checks: list[Check] = []
    for dim, (names, group) in zip(shape, lgroups):
        gspan = span_in(base, group.offset, group.end)
        elems = [n for n in names if n != "1"]
        if not elems:
            checks.append(Check(sy.eq(dim, 1), gspan, ("this unit axis needs size 1, but the input has ", dim), code="LG306"))
            continue
        if len(elems) == 1:
            size_of[elems[0]] = dim
            if elems[0] in known:
                checks.append(Check(sy.eq(dim, known[elems[0]]), gspan, (f"axis `{elems[0]}` is given size ", known[elems[0]], " but the input has ", dim), code="LG306"))
            continue
        unknown = [n for n in elems if n not in known]
        if len(unknown) > 1:
            raise error("LG306", gspan, f"give the size of all but one of {', '.join(f'`{n}`' for n in unknown)}, e.g. `{unknown[-1]}=...`")
        product: Expr = sy.ONE
        for n in elems:
            if n in known:
                product = sy.mul(product, known[n])
                size_of[n] = known[n]
        if unknown:
            checks.append(_divides(dim, product, [(n, known[n]) for n in elems if n in known], names, gspan))
            # exact where the check holds: merging the group back gives `dim`
            size_of[unknown[0]] = sy.exact_floordiv(dim, product)
        else:
            checks.append(Check(sy.eq(dim, product), gspan, ("the input's axis of size ", dim, " is not ", product), code="LG306"))
    ops: list[tuple[str, tuple]] = []
    # Split grouped input axes, last first so that earlier axis numbers hold.
    for index in reversed(range(len(lgroups))):
        elems = [n for n in lgroups[index][0] if n != "1"]
        if len(elems) > 1:
            ops.append(("unflatten", (index + 1, tuple(known.get(n, sy.Const(-1)) for n in elems))))
    # Now the tensor has, per input group, its elementary axes (unit groups
    # keep one axis of size 1). Drop unit axes, last first.
    layout: list[str] = []
    for names, _ in lgroups:
        elems = [n for n in names if n != "1"]
        layout += elems if elems else ["1"]
    for i in reversed(range(len(layout))):
        if layout[i] == "1":
            ops.append(("squeeze", (i + 1,)))
            del layout[i]
    # Reduce the axes the output does not name.
    out_names = [n for names in rgroups for n in names if n != "1"]
    gone = [i for i, n in enumerate(layout) if n not in out_names]
    if gone:
        assert reduction is not None
        dims = tuple(i + 1 for i in gone)
        ops.append((REDUCTIONS[reduction], (dims[0] if len(dims) == 1 else dims,)))
        layout = [n for n in layout if n in out_names]
    # Reorder.
    order = [layout.index(n) for n in out_names]
    if order != list(range(len(order))):
        ops.append(("permute", (0, *(i + 1 for i in order))))
    # Merge output groups (last first), then insert unit axes.
    starts, at = [], 0
    for names in rgroups:
        elems = [n for n in names if n != "1"]
        starts.append((at, len(elems)))
        at += len(elems)
    for start, count in reversed(starts):
        if count > 1:
            ops.append(("flatten", (start + 1, start + count)))
    for q, names in enumerate(rgroups):
        if not [n for n in names if n != "1"]:
            ops.append(("unsqueeze", (q + 1,)))
    # A group that merges back exactly the axes one input axis was split
    # into has that axis's size (c // g * g is c, once c % g == 0 is checked).
    whole = {frozenset(n for n in names if n != "1"): dim for dim, (names, _) in zip(shape, lgroups)}
    out_shape = []
    for names in rgroups:
        elems = frozenset(n for n in names if n != "1")
        size: Expr = sy.ONE
        for n in elems:
            size = sy.mul(size, size_of[n])
        out_shape.append(whole[elems] if elems and elems in whole else size)
    return Recipe(tuple(ops), tuple(out_shape), tuple(checks))


def _show(shape: Shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"
