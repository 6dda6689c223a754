"""The input checks at the start of a generated `forward`, written as
torchvision writes them: `torch._assert(condition, message)`.

`torch._assert` is an ordinary call, not an `if`, so `torch.fx.symbolic_trace`
(and torchvision's `create_feature_extractor`, which traces with FX) records
it as a node instead of failing on control flow over a traced size, and
`torch.export` turns it into a guard on the input's shape. A model checks
each input's rank first (`x.dim() == 4`; a 3-D image would otherwise reach
`x.shape[3]` and fail with an IndexError, or run as one unbatched image),
then each rule of analysis/constraints.py on its symbolic sizes. Every
message names the class, the input and the rule (`UNet: input x must be
[B, 3, H, W] (rank 4)`), a size's message the axis and the size given too
(`UNet: H must be a multiple of 16 (axis 2 of x), got 250`; under FX the
size reads `Proxy(getitem)`, as in torchvision's ViT).
"""

from __future__ import annotations

from typing import Callable

from ..analysis.constraints import describe
from ..core.naming import py_ident
from ..ir import symbolic as sy
from ..ir.expressions import Op
from ..ir.nodes import ClassIR, Port
from .expressions import renamed
from .text import shape_text


def input_checks(ir: ClassIR, class_name: str, kept: dict[str, str], sizes: dict[str, str], fresh: Callable[[str], str]) -> list[str]:
    """The lines that check `ir`'s inputs (statements of `forward`'s body,
    unindented).

    A model checks the rank of each input, then each size rule; a block
    checks only its rules. `kept` maps a constructor argument's code to the
    attribute `forward` reads it from (`n_positions` -> `self.n_positions`).
    A size a rule reads from an input is bound to a lowercase local, as
    pep8-naming (N806) asks of a function's variables: `h = x.shape[2]`
    for the spec's `H`; `fresh(base)` gives the first name from `base` that
    no other local of `forward` takes (`h_1` where a tensor is called `h`),
    and `sizes` records it by the symbol's code (`H` -> `h`) for the rest
    of `forward`. Messages keep the spec's name (`H must be a multiple of 16`).
    """
    lines: list[str] = []
    if ir.kind == "model":
        for port in ir.inputs:
            lines.append(_rank_check(port, class_name))
    names = {c: f"self.{a}" for c, a in kept.items()}
    for rule in ir.dim_rules:
        for sym in sorted(sy.free_symbols(rule.cond) if rule.cond is not None else {rule.dim}, key=lambda s: s.label):
            if sym.code in names or sym.key.startswith("p:"):  # bound already, or a parameter: an attribute
                continue
            port, axis = _where(ir, sym)
            names[sym.code] = sizes[sym.code] = fresh(py_ident(sym.code.lower()))
            lines.append(f"{names[sym.code]} = {port}.shape[{axis + 1}]")
        dim = names.get(rule.dim.code, rule.dim.code)
        if rule.cond is not None:
            cond = renamed(rule.cond, names)
            parts = cond.args if isinstance(cond, Op) and cond.name == "and" else (cond,)
            tests = [sy.to_text(part, code=True) for part in parts]
        else:
            tests = ([f"{dim} % {rule.multiple} == 0"] if rule.multiple > 1 else []) + (
                [f"{dim} >= {rule.minimum}"] if rule.minimum > 1 else []
            )
        message = f"{class_name}: {describe(rule)} (axis {rule.axis + 1} of {rule.port})"
        lines += [f'torch._assert({test}, f"{message}, got {{{dim}}}")' for test in tests]
    return lines


def _rank_check(port: Port, class_name: str) -> str:
    """`torch._assert(x.dim() == 4, "...")`: the batch axis and the port's.
    The message is a constant: FX would write a traced rank into it as
    `Proxy(dim_1)`."""
    rank = len(port.shape) + 1
    return f'torch._assert({port.code}.dim() == {rank}, "{class_name}: input {port.code} must be {shape_text(port.shape)} (rank {rank})")'


def _where(ir: ClassIR, sym) -> tuple[str, int]:
    for port in ir.inputs:
        for axis, dim in enumerate(port.shape):
            if dim == sym:
                return port.code, axis
    raise AssertionError(f"{sym} is not an input size")
