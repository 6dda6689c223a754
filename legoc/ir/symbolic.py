"""Symbolic compile-time values: integer, float, bool and string expressions.

Shape inference runs over these. A block is analysed once with its parameters
and input sizes as symbols (`c`, `stride`, `in_channels`, `H`), so sizes in
the generated code are expressions over constructor arguments; a model's
concrete figures come from substituting defaults. Constants fold as they are
built, and integer sums of products are kept in a canonical polynomial form,
so two expressions that mean the same polynomial compare equal.

All constructors are pure functions; every node is a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

Number = int | float
Scalar = int | float | bool | str


class Expr:
    """Base class of symbolic expressions."""

    __slots__ = ()

    def __str__(self) -> str:
        return to_text(self)


def _hashed():
    """The field where a composite expression keeps its hash once computed:
    memos key on expressions, and hashing a tree anew at every lookup made
    analysis spend a quarter of its time in `hash`."""
    return field(default=0, init=False, repr=False, compare=False)


def _cached_hash(self) -> int:
    h = self._hash
    if not h:
        h = hash((type(self).__name__, *(getattr(self, name) for name in self.__match_args__))) or 1
        object.__setattr__(self, "_hash", h)
    return h


@dataclass(frozen=True, slots=True)
class Const(Expr):
    """A constant: an int or float size, a bool, or a string."""

    value: Scalar

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, slots=True)
class Sym(Expr):
    """A symbol. `key` identifies it; `label` is shown in shape comments and
    messages; `code` is the Python name it has in generated code."""

    key: str
    label: str
    code: str

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, slots=True)
class Poly(Expr):
    """`const + sum(coeff * monomial)`, monomials sorted; never a bare constant
    or a single monomial with coefficient 1 (those are normalised away)."""

    terms: tuple[tuple["Monomial", Number], ...]
    const: Number
    _hash: int = _hashed()

    __hash__ = _cached_hash

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, slots=True)
class Monomial(Expr):
    """A product of two or more atoms (with repetition), sorted."""

    factors: tuple[Expr, ...]
    _hash: int = _hashed()

    __hash__ = _cached_hash

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, slots=True)
class Op(Expr):
    """An operation kept as a node: floordiv, mod, min, max, cmp, and, or,
    not, cond. `name` is the operation; for "cmp", `args[0]` is a Const
    holding the operator ("==", "!=", "<", "<=", ">", ">=")."""

    name: str
    args: tuple[Expr, ...]
    _hash: int = _hashed()

    __hash__ = _cached_hash

    def __str__(self) -> str:
        return to_text(self)


TRUE = Const(True)
FALSE = Const(False)
ZERO = Const(0)
ONE = Const(1)


def const(value: Scalar | Expr) -> Expr:
    """Wrap a Python value as a `Const` (an `Expr` is returned unchanged)."""
    return value if isinstance(value, Expr) else Const(value)


def is_const(e: Expr) -> bool:
    return isinstance(e, Const)


def value_of(e: Expr) -> Scalar | None:
    """The Python value of a constant expression, else None."""
    return e.value if isinstance(e, Const) else None


def _num(e: Expr) -> bool:
    if type(e) is Const and type(e.value) in (int, float):  # fast path: the usual case
        return True
    return isinstance(e, Const) and isinstance(e.value, (int, float)) and not isinstance(e.value, bool)


def _number(x: Scalar | Expr) -> Number | None:
    """The value of a plain int or float, bare or in a `Const`, else None.

    The arithmetic below tries this first: most sizes are constants, and
    folding two of them needs none of the polynomial machinery. Only the
    exact types int and float qualify (not bool, nor subclasses), so every
    other operand takes the general path, which folds it as before."""
    if type(x) is Const:
        x = x.value
    return x if type(x) in (int, float) else None  # type: ignore[return-value]


# ------------------------------------------------------------- polynomials


def _key(e: Expr) -> str:
    if isinstance(e, Sym):
        return f"{e.label}\x00{e.key}"
    return to_text(e) + "\x00" + type(e).__name__


def _as_poly(e: Expr) -> tuple[dict[tuple[Expr, ...], Number], Number]:
    if _num(e):
        return {}, e.value  # type: ignore[union-attr]
    if isinstance(e, Poly):
        return {_factors(m): c for m, c in e.terms}, e.const
    return {_factors(e): 1}, 0


def _factors(m: Expr) -> tuple[Expr, ...]:
    return m.factors if isinstance(m, Monomial) else (m,)


def _from_poly(terms: dict[tuple[Expr, ...], Number], constant: Number) -> Expr:
    # d * (x // d) is x - x % d, where that lets x cancel against other terms.
    for f, c in list(terms.items()):
        if len(f) == 1 and isinstance(f[0], Op) and f[0].name == "floordiv" and c:
            x, d = f[0].args
            shared = set(_as_poly(x)[0]) & (set(terms) - {f})
            if shared and _num(d) and isinstance(d.value, int) and d.value > 0 and isinstance(c, int) and c % d.value == 0:
                del terms[f]
                rest = mul(Const(c // d.value), sub(x, mod(x, d)))
                t2, c2 = _as_poly(rest)
                for g, v in t2.items():
                    terms[g] = terms.get(g, 0) + v
                constant += c2
    # Plain symbols first (`H - 1`, not `-1 + H`), then alphabetically.
    items = [(f, c) for f, c in terms.items() if c != 0]
    if len(items) > 1:  # (one term needs no sorting, nor its `_key`)
        items.sort(key=lambda fc: (not (len(fc[0]) == 1 and isinstance(fc[0][0], Sym)), [_key(x) for x in fc[0]]))
    if not items:
        return Const(constant)
    monos = [(f[0] if len(f) == 1 else Monomial(f), c) for f, c in items]
    if len(monos) == 1 and monos[0][1] == 1 and constant == 0:
        return monos[0][0]
    return Poly(tuple(monos), constant)


def add(a: Expr, b: Expr) -> Expr:
    """`a + b`."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(x + y)
    a, b = const(a), const(b)
    if _num(a) and _num(b):
        return Const(a.value + b.value)  # type: ignore[union-attr]
    _require_number(a, "+")
    _require_number(b, "+")
    ta, ca = _as_poly(a)
    tb, cb = _as_poly(b)
    terms = dict(ta)
    for f, c in tb.items():
        terms[f] = terms.get(f, 0) + c
    return _from_poly(terms, ca + cb)


def neg(a: Expr) -> Expr:
    x = _number(a)
    if x is not None:  # fast path: a plain number
        return Const(-1 * x)
    return mul(Const(-1), a)


def sub(a: Expr, b: Expr) -> Expr:
    """`a - b`."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(x + -1 * y)  # exactly what add(a, neg(b)) folds to
    return add(a, neg(const(b)))


def mul(a: Expr, b: Expr) -> Expr:
    """`a * b`, multiplied out into canonical polynomial form."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(x * y)
    a, b = const(a), const(b)
    if _num(a) and _num(b):
        return Const(a.value * b.value)  # type: ignore[union-attr]
    _require_number(a, "*")
    _require_number(b, "*")
    ta, ca = _as_poly(a)
    tb, cb = _as_poly(b)
    terms: dict[tuple[Expr, ...], Number] = {}

    def put(f: tuple[Expr, ...], c: Number) -> None:
        if len(f) > 1:  # (a single factor needs no sorting, nor its `_key`)
            f = tuple(sorted(f, key=_key))
        terms[f] = terms.get(f, 0) + c

    for fa, x in ta.items():
        for fb, y in tb.items():
            put(fa + fb, x * y)
        if cb:
            put(fa, x * cb)
    if ca:
        for fb, y in tb.items():
            put(fb, ca * y)
    return _from_poly(terms, ca * cb)


def _divisible(a: Expr, d: int) -> bool:
    terms, c = _as_poly(a)
    return all(isinstance(v, int) and v % d == 0 for v in [*terms.values(), c])


def _div_exact(a: Expr, d: int) -> Expr:
    terms, c = _as_poly(a)
    return _from_poly({f: v // d for f, v in terms.items()}, c // d)


def _division_operands(a: Expr, b: Expr, op: str) -> tuple[Expr, Expr]:
    a, b = const(a), const(b)
    _require_number(a, op)
    _require_number(b, op)
    if _num(b) and b.value == 0:  # type: ignore[union-attr]
        raise ZeroDivisionError("division by zero" if op == "//" else "modulo by zero")
    return a, b


def floordiv(a: Expr, b: Expr) -> Expr:
    """`a // b` (Python floor division).

    Raises:
        ZeroDivisionError: b is the constant 0.
    """
    x, y = _number(a), _number(b)
    if x is not None and y is not None and y != 0:  # fast path: two plain numbers
        return Const(x // y)
    a, b = _division_operands(a, b, "//")
    if _num(a) and _num(b):
        return Const(a.value // b.value)  # type: ignore[union-attr]
    if b == ONE:
        return a
    if a == b:
        return ONE
    if _num(b) and isinstance(b.value, int) and b.value > 0:  # type: ignore[union-attr]
        d = b.value  # type: ignore[union-attr]
        if _divisible(a, d):
            return _div_exact(a, d)
        # (x + d * q) // d is x // d + q: pull out the part d divides.
        terms, c = _as_poly(a)
        whole = {f: v for f, v in terms.items() if isinstance(v, int) and v % d == 0}
        q = c // d if isinstance(c, int) else 0
        if whole or q:
            rest = _from_poly({f: v for f, v in terms.items() if f not in whole}, c - q * d)
            return add(_div_exact(_from_poly(whole, q * d), d), floordiv(rest, b))
        if isinstance(a, Op) and a.name == "floordiv" and _num(a.args[1]) and a.args[1].value > 0:  # type: ignore[union-attr]
            return floordiv(a.args[0], Const(a.args[1].value * d))  # type: ignore[union-attr]
        # (x // e + b) // d is (x + e * b) // (e * d) for positive e, d.
        if isinstance(a, Poly) and len(a.terms) == 1 and a.terms[0][1] == 1 and isinstance(a.const, int):
            inner = a.terms[0][0]
            if isinstance(inner, Op) and inner.name == "floordiv" and _num(inner.args[1]) and isinstance(inner.args[1].value, int) and inner.args[1].value > 0:  # type: ignore[union-attr]
                e_ = inner.args[1].value  # type: ignore[union-attr]
                return floordiv(add(inner.args[0], Const(e_ * a.const)), Const(e_ * d))
    return Op("floordiv", (a, b))


def mod(a: Expr, b: Expr) -> Expr:
    """`a % b` (Python modulo).

    Raises:
        ZeroDivisionError: b is the constant 0.
    """
    x, y = _number(a), _number(b)
    if x is not None and y is not None and y != 0:  # fast path: two plain numbers
        return Const(x % y)
    a, b = _division_operands(a, b, "%")
    if _num(a) and _num(b):
        return Const(a.value % b.value)  # type: ignore[union-attr]
    if b == ONE or a == b:
        return ZERO
    if _num(b) and isinstance(b.value, int) and b.value > 0 and _divisible(a, b.value):  # type: ignore[union-attr]
        return ZERO
    return Op("mod", (a, b))


def minimum(*xs: Expr) -> Expr:
    return _extremum("min", min, xs)


def maximum(*xs: Expr) -> Expr:
    return _extremum("max", max, xs)


def _extremum(name: str, fold: Callable, xs: tuple[Expr, ...]) -> Expr:
    values = [_number(x) for x in xs]
    if None not in values:  # fast path: plain numbers
        return Const(fold(values))
    xs = tuple(const(x) for x in xs)
    for x in xs:
        _require_number(x, name)
    consts = [x.value for x in xs if _num(x)]  # type: ignore[union-attr]
    rest = []
    for x in xs:
        if not _num(x) and x not in rest:
            rest.append(x)
    if not rest:
        return Const(fold(consts))
    args = rest + ([Const(fold(consts))] if consts else [])
    return args[0] if len(args) == 1 else Op(name, tuple(args))


# ---------------------------------------------------------------- booleans

_FLIP = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
_CMP: dict[str, Callable[[Scalar, Scalar], bool]] = {
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    "<": lambda x, y: x < y,  # type: ignore[operator]
    "<=": lambda x, y: x <= y,  # type: ignore[operator]
    ">": lambda x, y: x > y,  # type: ignore[operator]
    ">=": lambda x, y: x >= y,  # type: ignore[operator]
}


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """`a op b` for op in == != < <= > >=, folded where the difference of a
    and b is a known constant."""
    x, y = _number(a), _number(b)
    if x is not None and y is not None:  # fast path: two plain numbers
        return Const(_CMP[op](x, y))
    a, b = const(a), const(b)
    if isinstance(a, Const) and isinstance(b, Const):
        if op in ("==", "!=") or (_num(a) and _num(b)):
            return Const(_CMP[op](a.value, b.value))
    if a == b:
        return Const(op in ("==", "<=", ">="))
    if _is_number_expr(a) and _is_number_expr(b):
        diff = sub(a, b)
        if _num(diff):
            return Const(_CMP[op](diff.value, 0))  # type: ignore[union-attr]
    return Op("cmp", (Const(op), a, b))


def eq(a: Expr, b: Expr) -> Expr:
    return compare("==", a, b)


def both(*xs: Expr) -> Expr:
    """Logical and, flattened and folded."""
    out: list[Expr] = []
    for x in xs:
        parts = x.args if isinstance(x, Op) and x.name == "and" else (x,)
        for p in parts:
            if p == FALSE:
                return FALSE
            if p != TRUE and p not in out:
                out.append(p)
    return TRUE if not out else out[0] if len(out) == 1 else Op("and", tuple(out))


def either(*xs: Expr) -> Expr:
    """Logical or, flattened and folded."""
    out: list[Expr] = []
    for x in xs:
        parts = x.args if isinstance(x, Op) and x.name == "or" else (x,)
        for p in parts:
            if p == TRUE:
                return TRUE
            if p != FALSE and p not in out:
                out.append(p)
    return FALSE if not out else out[0] if len(out) == 1 else Op("or", tuple(out))


def negate(a: Expr) -> Expr:
    """Logical not, pushed inwards (De Morgan) so that conditions read plainly."""
    if isinstance(a, Const):
        return Const(not a.value)
    if isinstance(a, Op):
        if a.name == "not":
            return a.args[0]
        if a.name == "cmp":
            return Op("cmp", (Const(_FLIP[a.args[0].value]), a.args[1], a.args[2]))  # type: ignore[union-attr]
        if a.name == "and":
            return either(*(negate(x) for x in a.args))
        if a.name == "or":
            return both(*(negate(x) for x in a.args))
    return Op("not", (a,))


def cond(c: Expr, a: Expr, b: Expr) -> Expr:
    """`a if c else b`."""
    c, a, b = const(c), const(a), const(b)
    if isinstance(c, Const):
        return a if c.value else b
    if a == b:
        return a
    return Op("cond", (c, a, b))


# ------------------------------------------------------------------- types

_KINDS = ("int", "float", "bool", "str", "number")


def type_of(e: Expr) -> str | None:
    """The Python type of `e`'s value for every value of its symbols: "int",
    "float", "bool" or "str"; None where it depends on a parameter's value.

    Sizes (input sizes, symbols whose key starts with "in:", "dim:" or
    "?:") are integers; a parameter ("p:") can hold any type. Arithmetic
    with a float anywhere in it is a float (`0.5 * c`); a comparison or
    a logical operation is a bool.
    """
    if isinstance(e, Const):
        v = e.value
        return "bool" if isinstance(v, bool) else "str" if isinstance(v, str) else "int" if isinstance(v, int) else "float"
    if isinstance(e, Sym):
        return None if e.key.startswith("p:") else "int"
    if isinstance(e, Poly):
        parts = [Const(e.const), *(Const(c) for _, c in e.terms), *(m for m, _ in e.terms)]
        return _arithmetic_type(parts)
    if isinstance(e, Monomial):
        return _arithmetic_type(e.factors)
    assert isinstance(e, Op)
    if e.name in ("cmp", "and", "or", "not", "is"):
        return "bool"
    if e.name in ("floordiv", "mod"):
        return _arithmetic_type(e.args)
    if e.name in ("min", "max"):  # the result is one of the arguments
        kinds = {type_of(x) for x in e.args}
        return kinds.pop() if len(kinds) == 1 else None
    if e.name == "cond":
        a, b = type_of(e.args[1]), type_of(e.args[2])
        return a if a == b else None
    return None


def _arithmetic_type(parts) -> str | None:
    kinds = [type_of(x) for x in parts]
    if "float" in kinds:
        return "float"
    return "int" if all(k == "int" for k in kinds) else None


def is_type(kind: str, e: Expr) -> Expr:
    """Whether `e`'s value is of `kind`: "int" (not a bool), "float",
    "bool", "str", or "number" (an int or a float, not a bool). Folds to
    TRUE or FALSE where `type_of` knows the type; kept as an "is" node, which
    substitution decides, where it depends on a parameter (substituting a
    bool or a string into arithmetic raises TypeError, which callers report
    as a value of the wrong type)."""
    assert kind in _KINDS, kind
    known = type_of(e)
    if known is None:
        return Op("is", (Const(kind), e))
    if kind == "number":
        return Const(known in ("int", "float"))
    return Const(known == kind)


# ------------------------------------------------------------ substitution


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace symbols (by key) simultaneously and re-simplify."""
    if not mapping:
        return e
    memo: dict[Expr, Expr] = {}
    return _subst(e, mapping, memo)


def substituter(mapping: dict[str, Expr]) -> Callable[[Expr], Expr]:
    """`substitute` with `mapping` fixed, as a function of the expression.
    Its calls share one memo, so parts common to several expressions (a
    block's output sizes recur in its checks) are substituted once."""
    if not mapping:
        return lambda e: e
    memo: dict[Expr, Expr] = {}
    return lambda e: _subst(e, mapping, memo)


def _subst(e: Expr, m: dict[str, Expr], memo: dict[Expr, Expr]) -> Expr:
    if isinstance(e, Const):
        return e
    if isinstance(e, Sym):  # one dict lookup: no need for the memo
        return m.get(e.key, e)
    hit = memo.get(e)
    if hit is not None:
        return hit
    if isinstance(e, Poly):
        out = Const(e.const)
        for mono, c in e.terms:
            out = add(out, mul(Const(c), _subst(mono, m, memo)))
    elif isinstance(e, Monomial):
        out = ONE
        for f in e.factors:
            out = mul(out, _subst(f, m, memo))
    else:
        assert isinstance(e, Op)
        args = tuple([_subst(x, m, memo) for x in e.args])  # (a list is quicker than a generator)
        try:
            out = _BUILD[e.name](*args)
        except ZeroDivisionError:  # left for the check on the divisor to report
            out = Op(e.name, args)
    memo[e] = out
    return out


_BUILD: dict[str, Callable[..., Expr]] = {
    "floordiv": floordiv,
    "mod": mod,
    "min": minimum,
    "max": maximum,
    "cmp": lambda op, a, b: compare(op.value, a, b),
    "and": both,
    "or": either,
    "not": negate,
    "cond": cond,
    "is": lambda kind, e: is_type(kind.value, e),
}


def free_symbols(e: Expr) -> set[Sym]:
    """Every symbol the expression mentions."""
    if isinstance(e, Sym):
        return {e}
    if isinstance(e, Poly):
        return set().union(*(free_symbols(m) for m, _ in e.terms))
    if isinstance(e, (Monomial, Op)):
        parts = e.factors if isinstance(e, Monomial) else e.args
        return set().union(*(free_symbols(x) for x in parts))
    return set()


def parameters(e: Expr) -> tuple[str, ...]:
    """The keys of the block or model parameters (`p:NAME`) that `e`
    mentions, sorted."""
    return tuple(sorted(x.key for x in free_symbols(e) if x.key.startswith("p:")))


def _divisions(e: Expr):
    """Every division or modulo (`//`, `%`) node in `e`."""
    if isinstance(e, Op):
        if e.name in ("floordiv", "mod"):
            yield e
        for x in e.args:
            yield from _divisions(x)
    elif isinstance(e, Poly):
        for m, _ in e.terms:
            yield from _divisions(m)
    elif isinstance(e, Monomial):
        for x in e.factors:
            yield from _divisions(x)


def has_division(e: Expr) -> bool:
    """Whether `e` holds a division or a modulo (`//`, `%`)."""
    return next(_divisions(e), None) is not None


def divides_by_zero(e: Expr) -> bool:
    """Whether `e` holds a division or modulo by the constant 0 (left as a
    node by substitution, for a check to report)."""
    return any(d.args[1] == ZERO for d in _divisions(e))


def _is_number_expr(e: Expr) -> bool:
    if isinstance(e, Const):
        return _num(e)
    if isinstance(e, Op):
        return e.name in ("floordiv", "mod", "min", "max") or (e.name == "cond" and _is_number_expr(e.args[1]))
    return True


class NotANumber(TypeError):
    """Arithmetic met a bool or a string (`value`, a Const): a spec passed
    `true` or `"text"` where a number goes. The message names the value as
    the spec writes it, not the operation that met it, which may be legoc's
    own (a check's `max`)."""

    def __init__(self, value: Const):
        self.value = value
        shown = ("true" if value.value else "false") if isinstance(value.value, bool) else f'"{value.value}"'
        self.shown = f"{shown} ({'a boolean' if isinstance(value.value, bool) else 'a string'})"
        """The value as the spec writes it, and its type: `true (a boolean)`."""
        super().__init__(f"{self.shown} where a number is expected")


def _require_number(e: Expr, op: str) -> None:
    if isinstance(e, Const) and not _num(e):
        raise NotANumber(e)


# ----------------------------------------------------------------- printing

# Python precedence levels, lowest first.
_COND, _OR, _AND, _NOT, _CMPP, _ADD, _MUL, _UNARY, _ATOM = range(9)


def to_text(e: Expr, *, code: bool = False) -> str:
    """Render as a Python expression. With `code`, symbols print as their
    names in generated code; otherwise as their labels (for comments and
    messages)."""
    return _fmt(e, code)[0]


def _fmt(e: Expr, code: bool) -> tuple[str, int]:
    if isinstance(e, Const):
        v = e.value
        if isinstance(v, bool) or isinstance(v, str):
            return repr(v), _ATOM
        return repr(v), (_UNARY if v < 0 else _ATOM)
    if isinstance(e, Sym):
        return (e.code if code else e.label), _ATOM
    if isinstance(e, Monomial):
        first, *rest = e.factors
        return " * ".join([_wrap(first, _MUL, code), *(_wrap(f, _UNARY, code) for f in rest)]), _MUL
    if isinstance(e, Poly):
        parts: list[str] = []
        for mono, c in e.terms:
            body = _wrap(mono, _MUL, code)
            mag = abs(c)
            text = body if mag == 1 else f"{body} * {mag!r}"
            parts.append(("- " if c < 0 else "+ ") + text)
        if e.const:
            parts.append(("- " if e.const < 0 else "+ ") + repr(abs(e.const)))
        first = parts[0]
        if first.startswith("+ "):
            head = first[2:]
        else:
            # Unary minus binds tighter than // and %: -(a // b) is not -a // b.
            mono = e.terms[0][0] if e.terms else None
            lead = mono.factors[0] if isinstance(mono, Monomial) else mono
            divides = isinstance(lead, Op) and lead.name in ("floordiv", "mod")
            head = f"-({first[2:]})" if divides else "-" + first[2:]
        return " ".join([head, *parts[1:]]), _ADD
    assert isinstance(e, Op)
    n, a = e.name, e.args
    if n in ("floordiv", "mod"):
        sym = "//" if n == "floordiv" else "%"
        return f"{_wrap(a[0], _MUL, code)} {sym} {_wrap(a[1], _UNARY, code)}", _MUL
    if n in ("min", "max"):
        return f"{n}({', '.join(_fmt(x, code)[0] for x in a)})", _ATOM
    if n == "cmp":
        return f"{_wrap(a[1], _ADD, code)} {a[0].value} {_wrap(a[2], _ADD, code)}", _CMPP  # type: ignore[union-attr]
    if n in ("and", "or"):
        level = _AND if n == "and" else _OR
        return f" {n} ".join(_wrap(x, level + 1, code) for x in a), level
    if n == "not":
        return f"not {_wrap(a[0], _NOT, code)}", _NOT
    if n == "is":
        kind, value = a[0].value, _fmt(a[1], code)[0]  # type: ignore[union-attr]
        if kind in ("int", "number"):  # a bool is an int to isinstance, not to the language
            types = "int" if kind == "int" else "(int, float)"
            return f"isinstance({value}, {types}) and not isinstance({value}, bool)", _AND
        return f"isinstance({value}, {kind})", _ATOM
    if n == "cond":
        return f"{_wrap(a[1], _OR, code)} if {_wrap(a[0], _OR, code)} else {_wrap(a[2], _COND, code)}", _COND
    raise AssertionError(n)


def _wrap(e: Expr, level: int, code: bool) -> str:
    text, prec = _fmt(e, code)
    return f"({text})" if prec < level else text
