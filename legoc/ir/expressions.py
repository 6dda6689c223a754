"""Symbolic expressions as data: the nodes, what they are, and how they print.

The node classes (`Const`, `Sym`, `Poly`, `Monomial`, `Op`, all frozen
dataclasses under `Expr`) and the questions one asks of an expression
without building a new one: its Python type (`type_of`, `is_type`), the
symbols and parameters it mentions, whether it divides (by zero), and its
text as Python (`to_text`). Building and simplifying expressions is
legoc.ir.symbolic's part, which re-exports all of this: callers import
`legoc.ir.symbolic`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


_INTERNED: dict[tuple, "Expr"] = {}
_INTERN_LIMIT = 1 << 18


def _part(e) -> object:
    """An interning key part for a subexpression. Keys tell apart what `==`
    takes as equal (Const(1), Const(1.0) and Const(True)), so that an
    expression is never shared with one of other types; a composite part,
    itself interned, by identity (the interned expression that holds it
    keeps it alive)."""
    t = type(e)
    if t is Const:
        return (type(e.value), e.value)
    if t is Sym:
        return e
    return id(e)


def _intern(key: tuple, cls, fields: dict) -> "Expr":
    """The one instance of the composite expression with these fields
    (hash-consing), made if new. Equal expressions built from interned
    parts are the same object, so comparing them, and the memos keyed on
    them, take one identity test rather than a walk of both graphs: an
    expression may share subexpressions (each of k conditional layers holds
    the size before it in both of its cases), and a structural comparison
    of two equal copies of such a graph takes 2**k steps. The table is
    cleared when it reaches `_INTERN_LIMIT` entries, which bounds its
    memory; expressions built before then stay correct (equality falls
    back to comparing structure), only not shared."""
    hit = _INTERNED.get(key)
    if hit is None:
        if len(_INTERNED) >= _INTERN_LIMIT:
            _INTERNED.clear()
        hit = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(hit, name, value)
        object.__setattr__(hit, "_hash", 0)
        _INTERNED[key] = hit
    return hit


def _made(self, *args, **kwargs) -> None:
    """The `__init__` of an interned expression: its `__new__` has set its
    fields (copy and pickle set them as state)."""


@dataclass(frozen=True, slots=True)
class Const(Expr):
    """A constant: an int or float size, a bool, or a string."""

    value: Scalar

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, slots=True)
class Sym(Expr):
    """A symbol. `key` identifies it; `label` is shown in shape comments and
    messages; `code` is the Python name it has in generated code; `low`,
    where known, the least value it takes (a repeat's index after the
    first repetition: 1), which comparisons with a constant use."""

    key: str
    label: str
    code: str
    low: int | None = None

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

    def __new__(cls, terms=None, const=None):
        if terms is None:  # copy and pickle: an empty instance, then its state
            return object.__new__(cls)
        key = ("+", type(const), const, *[(_part(m), type(c), c) for m, c in terms])
        return _intern(key, cls, {"terms": terms, "const": const})

    __init__ = _made

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, slots=True)
class Monomial(Expr):
    """A product of two or more atoms (with repetition), sorted."""

    factors: tuple[Expr, ...]
    _hash: int = _hashed()

    __hash__ = _cached_hash

    def __new__(cls, factors=None):
        if factors is None:  # copy and pickle: an empty instance, then its state
            return object.__new__(cls)
        return _intern(("*", *map(_part, factors)), cls, {"factors": factors})

    __init__ = _made

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, slots=True)
class Op(Expr):
    """An operation kept as a node: floordiv, exactdiv (a floor division
    known to be exact: symbolic.exact_floordiv), mod, min, max, cmp, and, or,
    not, cond, and legoc.ir.functions' round, ceil, int, make_divisible,
    pow (`**`) and truediv (`/`). `name` is the operation; for "cmp", `args[0]` is a Const
    holding the operator ("==", "!=", "<", "<=", ">", ">=")."""

    name: str
    args: tuple[Expr, ...]
    _hash: int = _hashed()

    __hash__ = _cached_hash

    def __new__(cls, name=None, args=None):
        if name is None:  # copy and pickle: an empty instance, then its state
            return object.__new__(cls)
        return _intern((name, *map(_part, args)), cls, {"name": name, "args": args})

    __init__ = _made

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
    """Whether `e` is a constant (a `Const`)."""
    return isinstance(e, Const)


def value_of(e: Expr) -> Scalar | None:
    """The Python value of a constant expression, else None."""
    return e.value if isinstance(e, Const) else None


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
    if e.name in ("floordiv", "exactdiv", "mod"):
        return _arithmetic_type(e.args)
    if e.name in ("min", "max"):  # the result is one of the arguments
        kinds = {type_of(x) for x in e.args}
        return kinds.pop() if len(kinds) == 1 else None
    if e.name == "cond":
        a, b = type_of(e.args[1]), type_of(e.args[2])
        return a if a == b else None
    return _function_type(e.name, [type_of(x) for x in e.args], e.args)


def _function_type(name: str, kinds: list[str | None], args: tuple[Expr, ...]) -> str | None:
    """The type of a function of legoc.ir.functions (or `**`, `/`)."""
    if name in ("round", "ceil", "int"):
        return "int" if kinds[0] in ("int", "float") else None
    if name == "truediv":
        return "float" if all(k in ("int", "float") for k in kinds) else None
    if name == "make_divisible":  # an int, unless the divisor or the minimum is a float
        if kinds[0] not in ("int", "float"):
            return None
        return "float" if "float" in kinds[1:] else "int" if all(k == "int" for k in kinds[1:]) else None
    assert name == "pow", name
    if "float" in kinds:
        return "float"
    exponent = args[1]
    natural = isinstance(exponent, Const) and exponent.value >= 0 or isinstance(exponent, Sym) and exponent.key.startswith("idx:")
    return "int" if kinds == ["int", "int"] and natural else None


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


# ---------------------------------------------------------------- contents


def free_symbols(e: Expr) -> set[Sym]:
    """Every symbol the expression mentions.

    An expression is a graph whose subexpressions may be shared (each of k
    conditional layers holds the size before it in both of its cases), so
    the walk visits each distinct node once: linear in the graph, where a
    walk of the tree would take 2**k steps."""
    found: set[Sym] = set()
    seen: set[int] = set()
    todo = [e]
    while todo:
        x = todo.pop()
        if isinstance(x, Sym):
            found.add(x)
        elif isinstance(x, (Poly, Monomial, Op)) and id(x) not in seen:
            seen.add(id(x))
            if isinstance(x, Poly):
                todo.extend(m for m, _ in x.terms)
            else:
                todo.extend(x.factors if isinstance(x, Monomial) else x.args)
    return found


def parameters(e: Expr) -> tuple[str, ...]:
    """The keys of the block or model parameters (`p:NAME`) that `e`
    mentions, sorted."""
    return tuple(sorted(x.key for x in free_symbols(e) if x.key.startswith("p:")))


def _divisions(e: Expr):
    """Every division or modulo (`//`, `%`) node in `e`."""
    if isinstance(e, Op):
        if e.name in ("floordiv", "exactdiv", "mod", "truediv", "make_divisible"):
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


# ----------------------------------------------------------------- printing

# Python precedence levels, lowest first.
_COND, _OR, _AND, _NOT, _CMPP, _ADD, _MUL, _UNARY, _POW, _ATOM = range(10)


TEXT_LIMIT = 2000
"""Characters past which an expression's label text (comments, docstrings,
messages) is `...`: conditional layers on different tests can share one
size in both branches of each, so a chain of k of them is a small graph
whose text doubles with each, 2**k terms (docs/language.md, "Conditional
layers")."""


def to_text(e: Expr, *, code: bool = False) -> str:
    """Render as a Python expression. With `code`, symbols print as their
    names in generated code; otherwise as their labels (for comments and
    messages), and an expression longer than TEXT_LIMIT characters as
    `...`, decided in time linear in its graph's size."""
    if not code and not isinstance(e, (Const, Sym)) and text_size(e, TEXT_LIMIT) > TEXT_LIMIT:
        return "..."
    return _fmt(e, code)[0]


def operand_text(e: Expr) -> str:
    """`e` in generated code as the right operand of `*`, `/`, `+` or `-`:
    in parentheses unless it binds at least as tightly as a unary minus
    (`x / (self.size * self.size)`, `x * -0.5`, `x * 2**n`)."""
    return _wrap(e, _UNARY, True)


def sort_key(e: Expr) -> str:
    """The whole label text of `e`, never elided: the order in which
    legoc.ir.symbolic keeps a polynomial's terms, so that equal sums are
    equal objects."""
    return _fmt(e, False)[0]


def text_size(e: Expr, bound: int) -> int:
    """About how many characters `to_text(e)` writes (within a few per
    operator), or a number above `bound` once that is certain. Shared
    subexpressions are sized once: linear in the graph, not in the text."""
    sizes: dict[int, int] = {}
    keep: list[Expr] = []  # the nodes sized, so that no id is reused meanwhile

    def size(x: Expr) -> int:
        if isinstance(x, Const):
            return len(repr(x.value))
        if isinstance(x, Sym):
            return len(x.label)
        known = sizes.get(id(x))
        if known is not None:
            return known
        if isinstance(x, Monomial):
            parts = [size(f) + 5 for f in x.factors]
        elif isinstance(x, Poly):
            parts = [size(m) + len(repr(k)) + 6 for m, k in x.terms] + [len(repr(x.const)) + 3]
        else:
            parts = [len(x.name) + 6]
            for a in x.args:
                parts.append(size(a) + 6)
                if sum(parts) > bound:
                    break
        total = min(sum(parts), bound + 1)
        sizes[id(x)] = total
        keep.append(x)
        return total

    return size(e)


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
            divides = isinstance(lead, Op) and lead.name in ("floordiv", "exactdiv", "mod")
            head = f"-({first[2:]})" if divides else "-" + first[2:]
        return " ".join([head, *parts[1:]]), _ADD
    assert isinstance(e, Op)
    n, a = e.name, e.args
    if n in ("floordiv", "exactdiv", "mod"):  # an exact division (symbolic.exact_floordiv) is written as a floor division
        sym = "%" if n == "mod" else "//"
        return f"{_wrap(a[0], _MUL, code)} {sym} {_wrap(a[1], _UNARY, code)}", _MUL
    if n in ("min", "max", "round", "int") or n == "make_divisible" and not code:
        return f"{n}({', '.join(_fmt(x, code)[0] for x in a)})", _ATOM
    if n == "make_divisible":  # the function the generated module defines (legoc/codegen/helpers.py, MAKE_DIVISIBLE)
        return f"_make_divisible({', '.join(_fmt(x, code)[0] for x in a)})", _ATOM
    if n == "ceil":  # math.ceil, where the generated module imports only torch
        return (f"-int(-{_wrap(a[0], _UNARY, code)} // 1)", _UNARY) if code else (f"ceil({_fmt(a[0], code)[0]})", _ATOM)
    if n == "truediv":
        return f"{_wrap(a[0], _MUL, code)} / {_wrap(a[1], _UNARY, code)}", _MUL
    if n == "pow":  # right-associative, and tighter than a unary minus on its left
        return f"{_wrap(a[0], _ATOM, code)} ** {_wrap(a[1], _UNARY, code)}", _POW
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
