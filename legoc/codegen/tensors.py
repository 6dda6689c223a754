"""The code of learned tensors (`name: param [sizes] init=...`): their
`nn.Parameter` constructors, and a class token's expansion over the batch
where a `cat` joins it with the graph's tokens, as torchvision writes it:

    self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
    ...
    n = x.shape[0]
    x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import symbolic as sy
from ..ir.nodes import Bind, Ctor, Value


def parameter_ctor(c: Ctor, value: Callable[[Value], str]) -> str:
    """`nn.Parameter(...)` for a learned tensor's Ctor (kind "tensor"; args
    its stored sizes, kwargs "init" and "std"): `torch.full((C, 1, 1),
    init)` for a number, `torch.zeros(...)`, `torch.empty(...).normal_(
    std=...)` (torchvision's pos_embedding) or `nn.init.trunc_normal_(
    torch.empty(...), std=...)` (timm's pos_embed). `value` writes a value."""
    dims = ", ".join(value(a) for a in c.args)  # type: ignore[arg-type]
    kwargs = dict(c.kwargs)
    init, std = kwargs["init"], kwargs.get("std")
    if init == sy.Const("zeros"):
        return f"nn.Parameter(torch.zeros({dims}))"
    if init == sy.Const("trunc_normal"):  # timm's pos_embed: trunc_normal_(std=.02), truncated at -2 and 2
        return f"nn.Parameter(nn.init.trunc_normal_(torch.empty({dims}){'' if std is None else f', std={value(std)}'}))"
    if init == sy.Const("normal"):
        return f"nn.Parameter(torch.empty({dims}).normal_({'' if std is None else f'std={value(std)}'}))"
    return f"nn.Parameter(torch.full(({dims}{',' if len(c.args) == 1 else ''}), {value(init)}))"


def expanded(node: Bind, fresh: Callable[[str], str], line: Callable[[str], None]) -> tuple[str, ...]:
    """The operands of a "cat" Bind whose learned tensors (`node.expand`:
    their rank with the batch axis, 0 for the graph's tensors) are
    expanded over the batch, `self.class_token.expand(n, -1, -1)`, after
    writing `n = x.shape[0]` with `line` (`fresh` names `n`); the
    operands as they are where nothing is expanded."""
    if not node.expand:
        return node.sources
    n = fresh("n")
    line(f"{n} = {next(s for s, k in zip(node.sources, node.expand) if not k)}.shape[0]")
    return tuple(f"{s}.expand({n}{', -1' * (k - 1)})" if k else s for s, k in zip(node.sources, node.expand))
