"""Weight initialisation written in a model: `init` lines.

    init conv: kaiming_normal mode=fan_out nonlinearity=relu
    init bn: weight=1 bias=0
    init fc: normal std=0.01 bias=0
    if zero_init_residual: init bottleneck.bn3: weight=0

    init mlp.linear.bias: normal std=1e-6
    init conv_proj: trunc_normal std=(1 / fan_in) ** 0.5

The target is a layer kind (a primitive: every module of the classes it
builds in the model, its blocks included), a named layer of the model
(`heads.head` in a group), `block.layer`, a named layer of every instance
of a block, or `block.kind`, the modules of a kind inside each instance;
`.weight` or `.bias` after it names that tensor alone. The scheme
(`nn.init`'s name without the underscore, or timm's `lecun_normal`) sets
the weight; its arguments may use `fan_in` and `fan_out`, the weight's;
`weight=V` alone sets it to a constant and `bias=V` sets the bias to a
constant. A leading `if TEST:` (over the model's parameters) decides at
construction time. codegen/inits.py writes them as torchvision does, a
loop over `self.modules()` with isinstance tests at the end of `__init__`.

Diagnostics: LG235 an unknown scheme, LG236 a target that names no layer
(or an `init` line outside a model), LG237 a bad argument, LG241 a tensor
of a layer named as a block's layer, LG242 a layer name several groups
hold, LG438 fans of a layer without them, LG439 `weight=`/`bias=` in a
line that names one tensor.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.diagnostics import error
from ..core.naming import close_match
from ..ir import symbolic as sy
from ..ir.nodes import ClassIR, Ctor, InitRule, Layer, Node, Repeat, Sequential, bodies, walk
from ..syntax import tree as s
from .arguments import condition, number
from .conditional import require_construction_time
from .flow import Scope
from .primitives import PRIMITIVES

_NUMBER = "number"
_NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
# scheme: (nn.init function, its parameters in order with what each takes)
SCHEMES: dict[str, tuple[str, tuple[tuple[str, object], ...]]] = {
    "kaiming_normal": ("kaiming_normal_", (("a", _NUMBER), ("mode", ("fan_in", "fan_out")), ("nonlinearity", _NONLINEARITIES))),
    "kaiming_uniform": ("kaiming_uniform_", (("a", _NUMBER), ("mode", ("fan_in", "fan_out")), ("nonlinearity", _NONLINEARITIES))),
    "xavier_uniform": ("xavier_uniform_", (("gain", _NUMBER),)),
    "xavier_normal": ("xavier_normal_", (("gain", _NUMBER),)),
    "orthogonal": ("orthogonal_", (("gain", _NUMBER),)),
    "normal": ("normal_", (("mean", _NUMBER), ("std", _NUMBER))),
    "trunc_normal": ("trunc_normal_", (("mean", _NUMBER), ("std", _NUMBER), ("a", _NUMBER), ("b", _NUMBER))),
    "uniform": ("uniform_", (("a", _NUMBER), ("b", _NUMBER))),
    "constant": ("constant_", (("val", _NUMBER),)),
    "ones": ("ones_", ()),
    "zeros": ("zeros_", ()),
    # timm's lecun_normal_ (Flax's default): normal of std sqrt(1 / fan_in), truncated at 2 std; codegen/inits.py writes it
    "lecun_normal": ("lecun_normal", ()),
}
_REQUIRED = {"constant": ("val",)}


def split_inits(d: s.Definition) -> tuple[s.Definition, tuple[s.Init, ...]]:
    """A definition without its `init` lines, and those lines.

    Raises:
        SpecError: LG236 an `init` line in a block (it belongs in the model).
    """
    inits = tuple(st for st in d.body if isinstance(st, s.Init))
    if not inits:
        return d, ()
    if d.kind != "model":
        raise error("LG236", inits[0].span, f"`init` lines belong in a model, not in block `{d.name}`",
                    hint="write `init BLOCK.LAYER: ...` in the model that uses the block")  # fmt: skip
    return replace(d, body=tuple(st for st in d.body if not isinstance(st, s.Init))), inits


def analyse_inits(inits: tuple[s.Init, ...], model: ClassIR, blocks: dict[str, ClassIR | None], scope: Scope, defs) -> tuple[InitRule, ...]:
    """The model's `init` lines as IR, checked against its layers.

    Args:
        inits: the lines, in spec order.
        model: the analysed model (its body's layers).
        blocks: the analysed blocks by name (State.cache).
        scope: the model's parameters.
        defs: the definitions by name.

    Raises:
        SpecError: LG235, LG236, LG237 (see the module's docstring).
    """
    return merge([_rule(stmt, model, blocks, scope, defs) for stmt in inits])


def _layers(body: tuple[Node, ...], blocks: dict[str, ClassIR | None], seen: set[str]) -> list[Layer]:
    """Every layer of a body and of the blocks it calls (each block once)."""
    found = []
    for n in walk(body):
        if isinstance(n, Repeat):  # the blocks a repeat builds (`repeat depth vit_block ...`)
            ctors = [c for top in (n.first, n.rest) if top is not None for c in _ctors(top)]
        elif isinstance(n, Layer):
            found.append(n)
            ctors = _ctors(n.ctor)
        else:
            continue
        for ctor in ctors:
            if ctor.kind == "block" and ctor.target not in seen and blocks.get(ctor.target) is not None:
                seen.add(ctor.target)
                found += _layers(blocks[ctor.target].body, blocks, seen)  # type: ignore[union-attr]
    return found


def _ctors(ctor: Ctor) -> list[Ctor]:
    out = [ctor]
    for a in ctor.args:
        if isinstance(a, Ctor):
            out += _ctors(a)
    return out


def _switch(target: str, tensor: str) -> str | None:
    """The keyword that decides whether a module of class `target` has the
    tensor (`bias` for a convolution's bias, `affine` for a batch norm's
    weight and bias), "" where it always has it, None where it never does."""
    if target.startswith(("nn.Conv", "nn.ConvTranspose")) or target == "nn.Linear":
        return "" if tensor == "weight" else "bias"
    if target.startswith(("nn.BatchNorm", "nn.InstanceNorm")) or target == "nn.GroupNorm":
        return "affine"
    if target in ("nn.LayerNorm", "LayerNorm2d"):
        return "elementwise_affine"
    if target == "nn.Embedding" and tensor == "weight":
        return ""
    return None


def has_tensor(layer: Layer, tensor: str) -> bool | None:
    """Whether the layer's module has `tensor` ("weight" or "bias"): True,
    False, or None where one of its arguments (a parameter) decides."""
    switch = _switch(layer.ctor.target, tensor)
    if not switch:
        return switch == ""
    value = dict(layer.ctor.kwargs).get(switch, sy.TRUE)
    if isinstance(value, sy.Expr) and sy.is_const(value):
        return bool(sy.value_of(value))
    return None


_TENSORS = ("weight", "bias")
FANS = ("fan_in", "fan_out")
# The classes whose weight is a matrix or a kernel, [out, in, ...]: they have a fan-in and a fan-out.
_FANNED = ("nn.Conv", "nn.ConvTranspose", "nn.Linear", "nn.Embedding")


def _rule(stmt: s.Init, model: ClassIR, blocks: dict[str, ClassIR | None], scope: Scope, defs) -> InitRule:
    layers = _layers(model.body, blocks, set())
    parts, only = stmt.target, None
    if len(parts) > 1 and parts[-1] in _TENSORS:
        parts, only = parts[:-1], parts[-1]
    target = ".".join(parts)
    inner: tuple[str, ...] = ()
    if len(parts) == 1 and parts[0] in PRIMITIVES:
        kind = parts[0]
        chosen = [n for n in layers if n.hint == kind and n.ctor.kind == "torch" and n.apply != "tensor"]
        if not chosen:
            raise error("LG236", stmt.target_span, f"model `{model.name}` has no `{kind}` layer to initialise")
        select, classes, path = "kind", tuple(sorted({n.ctor.target for n in chosen})), ""
    elif len(parts) > 1 and target in (grouped := {path: n for found in named_paths(model.body).values() for path, n in found.items()}):
        chosen, select, classes, path = [grouped[target]], "layer", (), target  # `heads.head`: a layer in a group
    elif len(parts) == 1:
        paths = named_paths(model.body)
        if target not in paths:
            names = sorted(set(paths) | set(PRIMITIVES))
            guess = close_match(target, names)
            raise error("LG236", stmt.target_span, f"model `{model.name}` has no layer named `{target}` and `{target}` is no layer kind",
                        hint=f"did you mean `{guess}`?" if guess else "name a layer kind (`conv`, `bn`, `linear`) or a named layer of the model")  # fmt: skip
        (path, layer), *others = paths[target].items()
        chosen = [layer]
        if others:
            raise error("LG242", stmt.target_span, f"model `{model.name}` has several layers named `{target}` ({', '.join(sorted(paths[target]))}): `init` names one",
                        hint="give the layers different names")  # fmt: skip
        select, classes = "layer", ()
    else:
        block, *rest = parts
        ir = blocks.get(block)
        if ir is None or not any(ctor.kind == "block" and ctor.target == block for n in layers for ctor in _ctors(n.ctor)):
            if block in named_paths(model.body):
                raise error("LG241", stmt.target_span, f"`{block}` is a layer of model `{model.name}`, not a block: `{target}` names nothing in it",
                            hint=f"write `init {block}:` for its weight, `init {block}.weight:` or `init {block}.bias:` for one tensor")  # fmt: skip
            raise error("LG236", stmt.target_span, f"model `{model.name}` uses no block `{block}`",
                        hint="write `init BLOCK.LAYER:` with a block the model calls")  # fmt: skip
        chosen = [n for n in walk(ir.body) if isinstance(n, Layer) and n.name == rest[0]] if len(rest) == 1 else []
        select, classes, path = "block", (block,), rest[0]
        if not chosen and len(rest) == 1 and rest[0] in PRIMITIVES:
            chosen = [n for n in _layers(ir.body, blocks, set()) if n.hint == rest[0] and n.ctor.kind == "torch" and n.apply != "tensor"]
            select, path, inner = "block_kind", "", tuple(sorted({n.ctor.target for n in chosen}))
        if not chosen:
            what = f"no `{rest[0]}` layer" if len(rest) == 1 and rest[0] in PRIMITIVES else f"no layer named `{'.'.join(rest)}`"
            raise error("LG236", stmt.target_span, f"block `{block}` has {what}")
    if any(n.ctor.kind != "torch" or n.apply == "tensor" for n in chosen):
        raise error("LG237", stmt.target_span, f"`{target}` is not a layer of torch.nn: initialise the layers inside it",
                    hint=f"write `init {target}.LAYER: ...` or `init KIND: ...`")  # fmt: skip
    weight, bias = _calls(stmt, only, scope, defs)
    fans = tuple(f for f in FANS if any(f in _symbols(c) for c in (weight, bias) if c is not None))
    if fans and not all(n.ctor.target.startswith(_FANNED) for n in chosen):
        bare = ", ".join(sorted({n.ctor.target for n in chosen if not n.ctor.target.startswith(_FANNED)}))
        what = "`lecun_normal`" if weight is not None and weight.target == "lecun_normal" else f"`{fans[0]}`"
        raise error("LG438", stmt.span, f"{what} needs a weight with a fan-in and a fan-out (conv, linear, embedding); the `{target}` layers ({bare}) have none",
                    hint="use a scheme without `fan_in`/`fan_out` for them, or a narrower target")  # fmt: skip
    found = {}
    for tensor, call in (("weight", weight), ("bias", bias)):
        found[tensor] = {has_tensor(n, tensor) for n in chosen}
        if call is not None and found[tensor] == {False}:
            classes_text = ", ".join(sorted({n.ctor.target for n in chosen}))
            raise error("LG237", stmt.span, f"the `{target}` layers ({classes_text}) have no {tensor} for `init` to set",
                        hint=f"drop `{tensor}=`" if tensor == "bias" or weight is None else "init layers with a weight: conv, linear, bn, layernorm, embedding")  # fmt: skip
    cond = None
    if stmt.cond is not None:
        cond = condition(stmt.cond, scope, defs)
        require_construction_time(cond, stmt.cond.span, "an `init` line's condition")
    # torch types a convolution's bias `Tensor | None` even where it has one:
    # guarded too (`if m.bias is not None`, as torchvision's VGG), so that mypy accepts the call.
    bias_optional = found["bias"] != {True} or any(n.ctor.target.startswith("nn.Conv") for n in chosen)
    layer_class = chosen[0].ctor.target if select == "layer" and "." in path else ""
    return InitRule(select, classes, path, weight, bias, bias_optional, cond, stmt.span, weight_optional=found["weight"] != {True},
                    inner=inner, fans=fans, layer_class=layer_class)  # fmt: skip


def _symbols(call: Ctor) -> set[str]:
    """The names of the symbols in a call's arguments (`fan_in`)."""
    if call.target == "lecun_normal":
        return {"fan_in"}
    return {sym.code for v in (*call.args, *(v for _, v in call.kwargs)) if isinstance(v, sy.Expr) for sym in sy.free_symbols(v)}


def named_paths(body: tuple[Node, ...], prefix: str = "") -> dict[str, dict[str, Layer]]:
    """The named layers of a definition's body by name: each one's
    attribute path (`head`, or `heads.head` in the group `heads: < ... >`)
    and layer. Layers in a `repeat` are not listed."""
    out: dict[str, dict[str, Layer]] = {}
    for n in body:
        if isinstance(n, Layer) and n.name:
            out.setdefault(n.name, {})[prefix + n.name] = n
            continue
        if isinstance(n, Repeat):
            continue
        inner = prefix + n.name + "." if isinstance(n, Sequential) else prefix
        for b in bodies(n):
            for name, found in named_paths(b, inner).items():
                out.setdefault(name, {}).update(found)
    return out


def merge(rules: list[InitRule]) -> tuple[InitRule, ...]:
    """Consecutive rules on the same modules under the same condition, one
    setting the weight and the other the bias (`init fc: zeros` then `init
    fc.bias: normal std=1e-6`), as one rule: one branch in the loop."""
    out: list[InitRule] = []
    for rule in rules:
        last = out[-1] if out else None
        if (last is not None and (last.select, last.classes, last.path, last.inner, last.cond) == (rule.select, rule.classes, rule.path, rule.inner, rule.cond)
                and (last.weight is None or rule.weight is None) and (last.bias is None or rule.bias is None)):  # fmt: skip
            out[-1] = replace(last, weight=last.weight or rule.weight, bias=last.bias or rule.bias,
                              weight_optional=last.weight_optional if last.weight else rule.weight_optional,
                              bias_optional=last.bias_optional if last.bias else rule.bias_optional,
                              fans=tuple(f for f in FANS if f in last.fans or f in rule.fans))  # fmt: skip
        else:
            out.append(rule)
    return tuple(out)


def _calls(stmt: s.Init, only: str | None, scope: Scope, defs) -> tuple[Ctor | None, Ctor | None]:
    """The weight's and the bias's `nn.init` calls; `only` is the tensor
    the target names (`fc.bias`), whose call is the scheme."""
    keywords = list(stmt.keywords)
    weight = None
    if stmt.scheme is not None:
        weight, extra = _scheme(stmt.scheme, scope, defs)
        keywords += extra
    if only is not None:
        if keywords or weight is None:
            where = keywords[0].span if keywords else stmt.span
            raise error("LG439", where, f"`init {'.'.join(stmt.target)}:` sets only the {only}: it takes a scheme and no `weight=` or `bias=`",
                        hint=f"write `init {'.'.join(stmt.target)}: constant 0` or `zeros`, or name the layer for both tensors")  # fmt: skip
        return (weight, None) if only == "weight" else (None, weight)
    constants: dict[str, Ctor] = {}
    for k in keywords:
        if k.name not in ("weight", "bias"):
            raise error("LG237", k.span, f"`{k.name}=` is no argument of an `init` line without a scheme", hint="write `weight=V`, `bias=V` or a scheme")
        if k.name in constants or (k.name == "weight" and weight is not None):
            raise error("LG237", k.span, f"`{k.name}` is initialised twice in this line")
        constants[k.name] = Ctor("init", "constant_", (_number(k.value, scope, defs),))
    return constants.get("weight", weight), constants.get("bias")


def _number(expr: s.ExprNode, scope: Scope, defs) -> sy.Expr:
    value = number(expr, scope, defs)
    if isinstance(sy.value_of(value), (str, bool)):
        raise error("LG237", expr.span, f"expected a number, not {sy.value_of(value)!r}")
    return value


def _scheme(call: s.Call, scope: Scope, defs) -> tuple[Ctor, list[s.Keyword]]:
    """A scheme's call, and the `bias=`/`weight=` keywords written after it."""
    if call.name not in SCHEMES:
        guess = close_match(call.name, sorted(SCHEMES))
        raise error("LG235", call.name_span, f"unknown initialisation scheme `{call.name}`" + (f"; did you mean `{guess}`?" if guess else ""),
                    hint="schemes: " + ", ".join(SCHEMES))  # fmt: skip
    function, params = SCHEMES[call.name]
    if len(call.args) > len(params):
        raise error("LG237", call.args[len(params)].span, f"`{call.name}` takes at most {len(params)} positional arguments ({', '.join(p for p, _ in params) or 'none'})")
    given: dict[str, s.ExprNode] = {name: arg for (name, _), arg in zip(params, call.args)}
    extra = []
    for k in call.keywords:
        if k.name in ("weight", "bias"):
            extra.append(k)
            continue
        if k.name not in dict(params):
            raise error("LG237", k.span, f"`{call.name}` takes no argument `{k.name}`", hint=f"it takes {', '.join(p for p, _ in params) or 'none'}")
        if k.name in given:
            raise error("LG237", k.span, f"`{k.name}` is given twice")
        given[k.name] = k.value
    for name in _REQUIRED.get(call.name, ()):
        if name not in given:
            raise error("LG237", call.span, f"`{call.name}` needs `{name}`: `{call.name} 0.5`")
    # `fan_in` and `fan_out`: those of the weight being initialised (torch.nn.init's), written before the call
    fanned = Scope(scope.definition, {**scope.env, **{f: sy.Sym(f"init:{f}", f, f, 1) for f in FANS}}, scope.unusable)
    args = []
    for name, kind in params:
        if name not in given:
            continue
        expr = given[name]
        if kind == _NUMBER:
            args.append((name, _number(expr, fanned, defs)))
            continue
        word = expr.id if isinstance(expr, s.Name) else expr.value if isinstance(expr, s.Literal) else None
        if word not in kind:  # type: ignore[operator]
            raise error("LG237", expr.span, f"`{call.name}` takes {name}={' or '.join(kind)}, not `{word if isinstance(word, str) else '...'}`")  # type: ignore[arg-type]
        args.append((name, sy.Const(word)))
    if call.name in ("uniform", "constant") and len(args) == len(params):  # positional, as torchvision writes them: uniform_(w, -0.1, 0.1)
        return Ctor("init", function, tuple(v for _, v in args)), extra
    return Ctor("init", function, (), tuple(args)), extra
