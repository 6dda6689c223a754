"""A call's arguments: evaluating their expressions, matching them to a signature.

    conv c * 2 kernel_size=3 act=relu

`evaluate` evaluates an argument to a symbolic size (over the enclosing
definition's parameters) or a layer (`relu`, a layer-valued parameter);
`bind` matches a call's positional and keyword arguments to the parameters
of a primitive or block, filling in defaults; `argument_check` is the check
of an argument's type or range, which travels to wherever the value is
written (calls.py). `defs` is the program's definitions by name (state.py).
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Span, did_you_mean_fix, error
from ..core.naming import close_match
from ..ir.nodes import Check, LayerRef, Sizes, Value
from ..ir.functions import ARITY
from ..ir.symbolic import Expr
from .flow import Scope
from .primitives import PRIMITIVES
from .signature import REQUIRED, Call, show_value


FUNCTIONS = tuple(sorted({"min", "max", *ARITY} - {"pow", "truediv"}))
"""The functions an expression may call (`**` and `/` are operators)."""
_PYTHON_FUNCTIONS = frozenset({"floor", "trunc", "abs", "sqrt", "pow", "exp", "log", "math", "float", "divmod"})


def number(expr: s.ExprNode, scope: Scope, defs) -> Expr:
    """Evaluate an argument that must be a number (not a layer).

    Raises:
        SpecError: LG401 for a layer, and `evaluate`'s errors.
    """
    value = evaluate(expr, scope, defs)
    if isinstance(value, LayerRef):
        raise error("LG401", expr.span, f"expected a number, not the layer `{value.name}`")
    if isinstance(value, Sizes):
        raise error("LG401", expr.span, TUPLE_ONLY)
    return value


TUPLE_ONLY = "a tuple of sizes is only a value of `kernel_size`, `stride`, `padding` or `dilation` of `conv`, `maxpool` or `avgpool`, or `dims` of `permute`"
# The primitives whose keywords take a tuple: one size per spatial axis, or permute's axes.
TUPLE_KEYS = {
    "conv": frozenset({"kernel_size", "stride", "padding", "dilation"}),
    "maxpool": frozenset({"kernel_size", "stride", "padding", "dilation"}),
    "avgpool": frozenset({"kernel_size", "stride", "padding"}),
    "permute": frozenset({"dims"}),
}


def evaluate(expr: s.ExprNode, scope: Scope, defs) -> Value:
    """Evaluate an argument expression to a symbolic value or a layer.

    Raises:
        SpecError: LG202 an unknown name, LG401 a layer that cannot be a
            value, LG406 arithmetic that fails (a division by zero, a bool
            or a string in arithmetic).
    """
    if isinstance(expr, s.Literal):
        return sy.Const(expr.value)
    if isinstance(expr, s.Name):
        if expr.id in scope.env:
            return scope.env[expr.id]
        if expr.id in scope.unusable:
            code, message, hint = scope.unusable[expr.id]
            raise error(code, expr.span, message, hint=hint)
        prim = PRIMITIVES.get(expr.id)
        if prim is not None and prim.keeps_shape:
            ctor = prim.rule(Call(expr.id, {k: v for k, v in prim.params}, (sy.ONE,), expr.span, {}))
            return LayerRef("prim", expr.id, ctor.ctor.target)
        if prim is not None or expr.id in defs:
            raise error("LG401", expr.span, f"`{expr.id}` cannot be passed as a value: layer-valued arguments take a shape-preserving layer with no arguments, such as `relu`")
        close = close_match(expr.id, scope.env)
        hint = f"did you mean `{close}`?" if close else None
        function = close_match(expr.id, FUNCTIONS)
        if not close and (function or expr.id in _PYTHON_FUNCTIONS):
            hint = f"did you mean `{function}(...)`?" if function else f"the functions are {', '.join(f'`{f}`' for f in FUNCTIONS)}"
        raise error("LG202", expr.span, f"unknown name `{expr.id}`", hint=hint, fix=did_you_mean_fix(expr.span, hint))
    if isinstance(expr, s.Tuple):
        return Sizes(tuple(number(item, scope, defs) for item in expr.items))
    if isinstance(expr, s.IfExp):  # `(stride if i == 0 else 1)`: decided when the module is built
        test = condition(expr.test, scope, defs)
        body, orelse = number(expr.body, scope, defs), number(expr.orelse, scope, defs)
        if sy.type_of(body) != sy.type_of(orelse) and None not in (sy.type_of(body), sy.type_of(orelse)) and {sy.type_of(body), sy.type_of(orelse)} != {"int", "float"}:
            raise error("LG423", expr.span, f"the two values of an `if` expression must be of one kind, not `{sy.to_text(body)}` and `{sy.to_text(orelse)}`")
        return sy.cond(test, body, orelse)
    if isinstance(expr, s.GroupValue):
        raise error("LG401", expr.span, "a `< ... >` group cannot be passed as a value; pass a layer name such as `relu`")
    try:
        if isinstance(expr, s.Neg):
            return sy.neg(number(expr.operand, scope, defs))
        if isinstance(expr, s.BinOp):
            left, right = number(expr.left, scope, defs), number(expr.right, scope, defs)
            if expr.op in ("**", "/"):
                return sy.function("pow" if expr.op == "**" else "truediv", left, right)
            return {"+": sy.add, "-": sy.sub, "*": sy.mul, "//": sy.floordiv, "%": sy.mod}[expr.op](left, right)
        assert isinstance(expr, s.Func)
        if expr.name not in ("min", "max"):
            least, most = ARITY[expr.name]
            if not least <= len(expr.args) <= most:
                takes = f"{least}" if least == most else f"{least} or {most}"
                raise error("LG402", expr.span, f"`{expr.name}` takes {takes} argument{'s' if most > 1 else ''}, not {len(expr.args)}")
        args = [number(a, scope, defs) for a in expr.args]
        if expr.name not in ("min", "max"):
            return sy.function(expr.name, *args)
        return sy.minimum(*args) if expr.name == "min" else sy.maximum(*args)
    except ZeroDivisionError as exc:
        raise error("LG406", expr.span, str(exc)) from None
    except (OverflowError, ValueError) as exc:
        raise error("LG406", expr.span, f"`{expr.op if isinstance(expr, s.BinOp) else expr.name}` cannot be computed: {exc}") from None
    except sy.NotANumber as exc:
        op = expr.op if isinstance(expr, s.BinOp) else "-" if isinstance(expr, s.Neg) else expr.name
        raise error("LG406", expr.span, f"`{op}` needs numbers, not {exc.shown}") from None


def condition(expr: s.ExprNode, scope: Scope, defs) -> Expr:
    """An `if`'s test as a symbolic condition.

    Raises:
        SpecError: LG401 a value that is not true or false (a number, a
            string), and `number`'s errors for the operands.
    """
    if isinstance(expr, s.Compare):
        left, right = number(expr.left, scope, defs), number(expr.right, scope, defs)
        if expr.op not in ("==", "!=") and any(isinstance(sy.value_of(v), (str, bool)) for v in (left, right)):
            raise error("LG406", expr.span, f"`{expr.op}` compares numbers, not {show_value(sy.value_of(left))} and {show_value(sy.value_of(right))}")
        return sy.compare(expr.op, left, right)
    if isinstance(expr, s.BoolOp):
        parts = condition(expr.left, scope, defs), condition(expr.right, scope, defs)
        return sy.both(*parts) if expr.op == "and" else sy.either(*parts)
    if isinstance(expr, s.Not):
        return sy.negate(condition(expr.operand, scope, defs))
    value = number(expr, scope, defs)
    if sy.type_of(value) not in (None, "bool"):
        raise error("LG401", expr.span, f"an `if` needs true or false, not {show_value(sy.value_of(value)) if sy.is_const(value) else sy.to_text(value)}",
                    hint="compare it: `if expand_ratio != 1: ...`")
    return value


def bind(name: str, signature, stmt: s.Call, scope: Scope, fill: dict[str, Expr], defs):
    """Match a call's arguments to a signature ((parameter, default) pairs,
    a default of REQUIRED for one the call must give). `fill` gives values
    for parameters the call leaves out (a residual's shortcut).

    Returns the values by parameter name (defaults filled in), the span of
    each given argument, and the given ones in call order as (name, passed
    by keyword).

    Raises:
        SpecError: LG402 too many positional arguments, an unknown or
            repeated keyword, a required parameter not given; and `evaluate`'s
            errors.
    """
    names = [p for p, _ in signature]
    if len(stmt.args) > len(names):
        extra = stmt.args[len(names)]
        most = f"at most {len(names)} positional argument{'s' if len(names) != 1 else ''}" if names else "no arguments"
        raise error("LG402", extra.span, f"`{name}` takes {most}")
    args: dict[str, object] = {}
    spans: dict[str, Span] = {}
    given: list[tuple[str, bool]] = []
    for key, expr in zip(names, stmt.args):
        args[key] = evaluate(expr, scope, defs)
        spans[key] = expr.span
        given.append((key, False))
    for kw in stmt.keywords:
        if kw.name not in names:
            close = close_match(kw.name, names)
            raise error(
                "LG402",
                kw.span,
                f"`{name}` has no parameter `{kw.name}`" + (f"; its parameters are {', '.join(names)}" if names else "; it takes no arguments"),
                hint=f"did you mean `{close}`?" if close else None,
            )
        if kw.name in args:
            raise error("LG402", kw.span, f"`{kw.name}` is given twice")
        args[kw.name] = evaluate(kw.value, scope, defs)
        spans[kw.name] = kw.span
        given.append((kw.name, True))
    for key, default in signature:
        if key in args:
            continue
        if key in fill:
            args[key] = fill[key]
            given.append((key, key != names[0]))
            continue
        if default is REQUIRED:
            raise error("LG402", stmt.name_span, f"`{name}` needs a value for `{key}`")
        args[key] = default
    return args, spans, given


def argument_check(cond: Expr, message: tuple, span: Span, value: Expr) -> Check:
    """The check of a primitive argument's type or range (LG401), at the
    argument, with the parameters its value comes from as its origin."""
    return Check(cond, span, message, code="LG401", origin=sy.parameters(value))
