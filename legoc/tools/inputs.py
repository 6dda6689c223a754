"""A model's symbolic input sizes given values by `--input` shapes
(`legoc summary --input 3,256,256`), checked against the spec's fixed
sizes and its input-size rules. No torch.
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import ClassIR
from .instance import InstanceError


def bind_inputs(ir: ClassIR, given: list[tuple[str | None, tuple[int, ...]]]) -> dict[str, sy.Expr]:
    """Values for a model's symbolic input sizes from `--input` shapes.

    `given` holds (input name or None, shape without batch) pairs; unnamed
    ones go to the inputs in order. Every size must be positive, agree with
    the spec's fixed sizes, and meet the model's rules (`H` a multiple of 16).

    Raises:
        InstanceError: with a message naming the input and the axis.
    """
    chosen = assign_inputs(ir, given)
    mapping: dict[str, sy.Expr] = {}
    # A size the spec writes as a model parameter (`input x: [n_channels, H,
    # W]`) is that parameter's default, not a size --input may choose.
    defaults = {f"p:{p.name}": p.default for p in ir.params if isinstance(p.default, sy.Expr)}
    for port in ir.inputs:
        if port.name not in chosen:
            continue
        shape = chosen[port.name]
        declared = [sy.substitute(e, defaults) for e in port.shape]
        spec = "[" + ", ".join(sy.to_text(e) for e in declared) + "]"
        if len(shape) != len(declared):
            raise InstanceError(f"input `{port.name}` is {spec} in the spec ({len(declared)} sizes, no batch axis), but --input gives {len(shape)}")
        for axis, (size, expected) in enumerate(zip(shape, declared)):
            if size < 1:
                raise InstanceError(f"input `{port.name}`: size {size} on axis {axis + 1} is not positive")
            if isinstance(expected, sy.Sym):
                if mapping.setdefault(expected.key, sy.Const(size)) != sy.Const(size):
                    raise InstanceError(f"input `{port.name}`: {expected.label} is given two values")
            elif sy.value_of(expected) != size:
                raise InstanceError(f"input `{port.name}` is {spec} in the spec, so axis {axis + 1} must be {sy.to_text(expected)}, not {size}")
    for rule in ir.dim_rules:
        if rule.cond is not None:
            ok = sy.value_of(sy.substitute(rule.cond, mapping))
        else:
            value = sy.value_of(sy.substitute(rule.dim, mapping))
            ok = None if value is None else value % rule.multiple == 0 and value >= rule.minimum
        if ok is False:
            from ..analysis.constraints import describe

            raise InstanceError(f"input `{rule.port}`, axis {rule.axis + 1}: {describe(rule)}")
    return mapping


def assign_inputs(ir: ClassIR, given: list[tuple[str | None, tuple[int, ...]]]) -> dict[str, tuple[int, ...]]:
    """The `--input` shapes by input name: named ones to their input, the
    others to the remaining inputs in order.

    Raises:
        InstanceError: too many shapes, an unknown name, or a name twice.
    """
    ports = {p.name: p for p in ir.inputs}
    chosen: dict[str, tuple[int, ...]] = {}
    order = iter(ir.inputs)
    for name, shape in given:
        if name is None:
            port = next((p for p in order if p.name not in chosen), None)
            if port is None:
                raise InstanceError(f"{ir.name} has {len(ir.inputs)} input(s), but --input was given {len(given)} times")
        elif name in ports:
            port = ports[name]
            if port.name in chosen:
                raise InstanceError(f"--input gives input `{name}` twice")
        else:
            raise InstanceError(f"{ir.name} has no input `{name}`; its inputs are {', '.join(ports)}")
        chosen[port.name] = shape
    return chosen
