"""The forward expressions of the products of tensors (analysis/products.py)
and of positions (analysis/positions.py):

    torch.einsum("bchw,bdhw->bcd", f, f)
    torch.matmul(a, b)
    torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.arange(t, device=idx.device)

Attention's dropout applies in training only, as timm's Attention writes
it: `dropout_p=self.attn_drop if self.training else 0.0` (a block's
parameter is kept as an attribute of the same name: generate.py).
"""

from __future__ import annotations

from typing import Callable

from ..core.naming import py_ident
from ..ir import symbolic as sy
from ..ir.nodes import Bind

PRODUCT_JOINS = ("einsum", "matmul", "attention", "arange")
"""The joins that products.py writes."""


def product_call(node: Bind, attrs: dict[str, str], sizes: dict[str, str], fresh: Callable[[str], str]) -> list[str]:
    """The lines of a product's join for a `Bind` whose join is one of
    PRODUCT_JOINS: statements, then the joined expression. `attrs` maps a
    symbol's code to the attribute holding it in forward (`p` -> `self.p`);
    `sizes` the input sizes forward has read into locals, by the symbol's
    code (`T` -> `t`): a length read already is used by its local, else
    read first into a new lowercase one (`t = idx.shape[1]`, pep8-naming's
    N806; `fresh(base)` gives a local name no other takes), added to
    `sizes`."""
    if node.join == "arange":  # the positions of the source's first axis after the batch
        n, src, lines = node.joined[0], node.sources[0], []  # type: ignore[index]
        if isinstance(n, sy.Sym):
            length = sizes.get(n.code)
            if length is None:
                length = sizes[n.code] = fresh(py_ident(n.code.lower()))
                lines.append(f"{length} = {src}.shape[1]")
        else:
            length = sy.to_text(n, code=True) if sy.is_const(n) else f"{src}.shape[1]"
        return [*lines, f"torch.arange({length}, device={src}.device)"]
    return [_call(node, attrs)]


def _call(node: Bind, attrs: dict[str, str]) -> str:
    sources = ", ".join(node.sources)
    if node.join == "einsum":
        return f"torch.einsum({node.equation!r}, {sources})"
    if node.join == "matmul":
        return f"torch.matmul({sources})"
    args = [*node.sources[:3]] + ([f"attn_mask={node.sources[3]}"] if len(node.sources) == 4 else [])
    for name, value in node.options:
        value = sy.substitute(value, {s.key: sy.Sym(s.key, s.label, attrs.get(s.code, s.code)) for s in sy.free_symbols(value)})
        text = sy.to_text(value, code=True)
        if name == "dropout" and sy.value_of(value) != 0:
            args.append(f"dropout_p={text} if self.training else 0.0")
        elif name == "causal" and sy.value_of(value) is not False:
            args.append(f"is_causal={text}")
        elif name == "scale":
            args.append(f"scale={text}")
    return f"torch.nn.functional.scaled_dot_product_attention({', '.join(args)})"
