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
loop starts where a class would be tested twice, so a later line overrides
an earlier one); a named layer's line is a statement on `self.NAME`.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Ctor, InitRule
from ..core.naming import py_ident
from .expressions import value_text


def init_lines(rules: tuple[InitRule, ...], names: dict[str, str], taken: set[str]) -> list[str]:
    """The lines (4-space indents relative to `__init__`'s body) that
    initialise a model's tensors; `names` maps block names to class names,
    `taken` holds the constructor's parameters, which the loop's variable
    (`m`, as torchvision's) must not hide from a later condition."""
    var = "m"
    while var in taken:
        var += "_"
    lines: list[str] = []
    groups: list[tuple[object, list[InitRule]]] = []
    for rule in rules:
        last = groups[-1] if groups else None
        loop = rule.select != "layer"
        if (last is not None and last[0] == (rule.cond, loop) and loop
                and not {c for r in last[1] for c in _classes(r, names)} & set(_classes(rule, names))):  # fmt: skip
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
                lines += [pad + line for line in _tensors(rule, f"self.{py_ident(rule.path)}")]
            continue
        lines.append(f"{pad}for {var} in self.modules():")
        for index, rule in enumerate(group):
            classes = _classes(rule, names)
            test = classes[0] if len(classes) == 1 else f"({', '.join(classes)})"
            lines.append(f"{pad}    {'if' if index == 0 else 'elif'} isinstance({var}, {test}):")
            module = var if rule.select == "kind" else f"{var}.{py_ident(rule.path)}"
            lines += [f"{pad}        {line}" for line in _tensors(rule, module)]
    return lines


def _classes(rule: InitRule, names: dict[str, str]) -> list[str]:
    return [names.get(c, c) for c in rule.classes] if rule.select == "block" else list(rule.classes)


def _tensors(rule: InitRule, module: str) -> list[str]:
    out = []
    for tensor, call, optional in (("weight", rule.weight, rule.weight_optional), ("bias", rule.bias, rule.bias_optional)):
        if call is None:
            continue
        if optional:
            out += [f"if {module}.{tensor} is not None:", "    " + _call(call, f"{module}.{tensor}")]
        else:
            out.append(_call(call, f"{module}.{tensor}"))
    return out


def _call(ctor: Ctor, tensor: str) -> str:
    args = [tensor] + [value_text(a) for a in ctor.args] + [f"{k}={value_text(v)}" for k, v in ctor.kwargs]  # type: ignore[arg-type]
    return f"nn.init.{ctor.target}({', '.join(args)})"
