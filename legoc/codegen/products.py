"""The forward expressions of the products of tensors (analysis/products.py)
and of positions (analysis/positions.py):

    torch.einsum("bchw,bdhw->bcd", f, f)
    torch.matmul(a, b)
    torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.arange(T, device=idx.device)

Attention's dropout applies in training only, as timm's Attention writes
it: `dropout_p=self.attn_drop if self.training else 0.0` (a block's
parameter is kept as an attribute of the same name: generate.py).
"""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Bind

PRODUCT_JOINS = ("einsum", "matmul", "attention", "arange")
"""The joins that products.py writes."""


def product_call(node: Bind, attrs: dict[str, str], local: set[str]) -> list[str]:
    """The lines of a product's join for a `Bind` whose join is one of
    PRODUCT_JOINS: statements, then the joined expression. `attrs` maps a
    symbol's code to the attribute holding it in forward (`p` -> `self.p`);
    `local`: forward's local names (a length already read from the input,
    `T`, is used by its name, else read first: `T = idx.shape[1]`)."""
    if node.join == "arange":  # the positions of the source's first axis after the batch
        n, src, lines = node.joined[0], node.sources[0], []  # type: ignore[index]
        if isinstance(n, sy.Sym) and n.code not in local:
            lines.append(f"{n.code} = {src}.shape[1]")
            local.add(n.code)
        length = sy.to_text(n, code=True) if sy.is_const(n) or isinstance(n, sy.Sym) else f"{src}.shape[1]"
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
