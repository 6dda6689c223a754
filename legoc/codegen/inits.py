"""A model's `init` lines (analysis/inits.py) as the end of its `__init__`,
written as torchvision writes ResNet's and VGG's:

    for m in self.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
    if zero_init_residual:
        for m in self.modules():
            if isinstance(m, Bottleneck):
                nn.init.constant_(m.bn3.weight, 0)

Consecutive kind and block lines under one condition share one loop (a new
loop starts where a class would be tested twice, or for a block's line
after a kind's, so a later line overrides an earlier one); a named layer's
line is a statement on `self.NAME` (tested with isinstance inside a group:
`if isinstance(self.heads.head, nn.Linear):`). A kind inside a block is a
loop over the instance's modules (`for layer in m.modules():`); the fans a
scheme uses come first (`fan_in = m.weight[0].numel()`), and timm's
`lecun_normal` is `nn.init.trunc_normal_` with std sqrt(1 / fan_in)
corrected for the truncation at two std.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Ctor, InitRule
from ..core.naming import py_ident
from .expressions import value_text


def init_lines(rules: tuple[InitRule, ...], names: dict[str, str], taken: set[str]) -> list[str]:
    """The lines (4-space indents relative to `__init__`'s body) that
    initialise a model's tensors; `names` maps block names to class names,
    `taken` holds the constructor's parameters, which the loop's variables
    (`m`, as torchvision's, and `layer` inside a block) must not hide from a
    later condition."""
    var, inner = _free("m", taken), _free("layer", taken)
    lines: list[str] = []
    groups: list[tuple[object, list[InitRule]]] = []
    for rule in rules:
        last = groups[-1] if groups else None
        loop = rule.select != "layer"
        # self.modules() visits a block before its layers: a block's line after a kind's starts a new loop, so that it applies later
        if (last is not None and last[0] == (rule.cond, loop) and loop
                and not {c for r in last[1] for c in _classes(r, names)} & set(_classes(rule, names))
                and not (rule.select != "kind" and any(r.select == "kind" for r in last[1]))):  # fmt: skip
            last[1].append(rule)
        else:
            groups.append(((rule.cond, loop), [rule]))
    for (cond, loop), group in groups:  # type: ignore[misc]
        pad = ""
        if cond is not None:
            lines.append(f"if {sy.to_text(cond, code=True)}:")
            pad = "    "
        if not loop:
            for rule in group:
                module = "self." + ".".join(py_ident(part) for part in rule.path.split("."))
                if rule.layer_class:  # a layer in a group: typed Module, so tested as torchvision tests `self.heads.head`
                    lines += [f"{pad}if isinstance({module}, {rule.layer_class}):"] + [f"{pad}    {line}" for line in _tensors(rule, module)]
                else:
                    lines += [pad + line for line in _tensors(rule, module)]
            continue
        lines.append(f"{pad}for {var} in self.modules():")
        branches: list[tuple[list[str], list[str]]] = []
        for rule in group:
            if rule.select == "block_kind":
                body = [f"for {inner} in {var}.modules():", f"    if isinstance({inner}, {_test(list(rule.inner))}):"]
                body += [f"        {line}" for line in _tensors(rule, inner)]
            else:
                body = _tensors(rule, var if rule.select == "kind" else f"{var}.{py_ident(rule.path)}")
            if branches and branches[-1][1] == body:  # the same statements: one test of both classes (ruff's SIM114)
                branches[-1][0].extend(_classes(rule, names))
            else:
                branches.append((_classes(rule, names), body))
        for index, (classes, body) in enumerate(branches):
            lines.append(f"{pad}    {'if' if index == 0 else 'elif'} isinstance({var}, {_test(classes)}):")
            lines += [f"{pad}        {line}" for line in body]
    return lines


def _free(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _test(classes: list[str]) -> str:
    return classes[0] if len(classes) == 1 else f"({', '.join(classes)})"


def _classes(rule: InitRule, names: dict[str, str]) -> list[str]:
    return [names.get(c, c) for c in rule.classes] if rule.select in ("block", "block_kind") else list(rule.classes)


# torch.nn.init's fans of a weight [out, in, *kernel] (also [in, out, *kernel] for a transposed convolution, as torch counts it)
_FANS = {"fan_in": "{w}[0].numel()", "fan_out": "{w}.shape[0] * {w}[0][0].numel()"}


def _tensors(rule: InitRule, module: str) -> list[str]:
    out = [f"{fan} = {_FANS[fan].format(w=module + '.weight')}" for fan in rule.fans]
    for tensor, call, optional in (("weight", rule.weight, rule.weight_optional), ("bias", rule.bias, rule.bias_optional)):
        if call is None:
            continue
        calls = _call(call, f"{module}.{tensor}")
        if optional:
            out += [f"if {module}.{tensor} is not None:"] + ["    " + line for line in calls]
        else:
            out += calls
    return out


def _call(ctor: Ctor, tensor: str) -> list[str]:
    # timm's lecun_normal_: std sqrt(1 / fan_in) after truncation at 2 std
    # (0.8796 is the std of a standard normal truncated at -2 and 2)
    if ctor.target == "lecun_normal":
        return [
            "std = (1 / fan_in) ** 0.5 / 0.87962566103423978",
            f"nn.init.trunc_normal_({tensor}, std=std, a=-2 * std, b=2 * std)",
        ]
    args = [tensor] + [value_text(a) for a in ctor.args] + [f"{k}={value_text(v)}" for k, v in ctor.kwargs]  # type: ignore[arg-type]
    return [f"nn.init.{ctor.target}({', '.join(args)})"]
