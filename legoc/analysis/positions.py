"""Positions: an index tensor over a sequence's length, for learned
position embeddings (GPT-2's `wpe`, nanoGPT's `pos = torch.arange(t)`).

    pos = idx -> arange                            torch.arange(t, device=idx.device): [T]
    p = pos -> wpe: embedding n_positions n_embd   self.wpe(pos): [T, n_embd]
    x = (tok, p) -> add                            tok + p: broadcast over the batch

`arange` gives the positions 0 .. n - 1 of its source's first axis (after
the batch axis) as a tensor without a batch axis: every sample has the same
positions. Such a tensor flows through layers (an embedding, a linear
layer) and joins the batch's tensors in `add`, `sub`, `mul` or `div`,
which broadcast it over the batch, as a learned tensor does.

Where positions index an embedding, the length must not exceed the
embedding's rows: a check (LG322) that the length is at most
`num_embeddings`, decided now where both are known, else an input-size
rule that forward checks (`if not T <= 1024: raise ValueError`).

Diagnostics: LG322 a length longer than the embedding it indexes, LG427
`arange` misused (arguments, a tuple, a source without axes, positions
that are returned, split or joined other than elementwise).
"""

from __future__ import annotations

from ..core.diagnostics import Span, error
from ..ir import symbolic as sy
from ..ir.nodes import Check, Layer, Node, Shape
from ..ir.symbolic import Expr
from ..syntax import tree as s
from .signature import show_shape

ARANGE = "arange"


def is_arange(stage, scope, defs) -> bool:
    """Whether a pipeline stage is the `arange` stage (not a block or a
    layer-valued parameter of that name)."""
    return isinstance(stage, s.Call) and stage.name == ARANGE and stage.name not in defs and stage.name not in scope.env


def arange(stage: s.Call, shapes: list[Shape]) -> Shape:
    """The shape of `x -> arange`: [n], n the first axis of x (after the batch).

    Raises:
        SpecError: LG427 for arguments, a tuple, or a source without axes.
    """
    if stage.args or stage.keywords:
        where = stage.args[0].span if stage.args else stage.keywords[0].span
        raise error("LG427", where, "`arange` takes no arguments: it counts the positions of its tensor's first axis", hint="write `pos = idx -> arange`")
    if len(shapes) != 1:
        raise error("LG427", stage.name_span, f"`arange` counts the positions of one tensor, but the tuple has {len(shapes)}", hint="write `pos = idx -> arange`")
    if not shapes[0]:
        raise error("LG427", stage.name_span, f"`arange` counts the positions of its tensor's first axis, but the tensor {show_shape(shapes[0])} has only the batch axis",
                    hint="give it a sequence: `input idx: [T]`")
    return (shapes[0][0],)


def embedding_bound(count: Expr, nodes: tuple[Node, ...], span: Span) -> Check | None:
    """Where `count` positions flow first into an embedding, the check that
    it has that many rows (LG322); None where they do not."""
    first = nodes[0] if nodes else None
    if not (isinstance(first, Layer) and first.ctor.target == "nn.Embedding"):
        return None
    rows = first.ctor.args[0]
    return Check(sy.compare("<=", count, rows), span, ("the positions of a sequence of length ", count, " index an embedding of ", rows, " rows: the length must be at most ", rows),
                 hint="give the position embedding as many rows as the longest sequence (GPT-2's n_positions)", code="LG322")


def misused(what: str, span: Span):
    """The error (LG427) for positions used where a tensor of the batch is needed."""
    return error("LG427", span, f"positions from `arange` have no batch axis, so they cannot be {what}",
                 hint="add them to a tensor of the batch first: `x = (tok, p) -> add`")
