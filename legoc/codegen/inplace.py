"""Which ReLUs (and Hardswishes) the generated code builds with `inplace=True`, as torchvision does."""

from __future__ import annotations

from ..ir import symbolic as sy
from ..ir.nodes import Ctor, Layer, Node, Residual, bodies, walk


# Modules whose output is a new tensor that only the next module sees, and
# whose backward pass does not need that output: a ReLU right after one may
# overwrite it, as torchvision's `nn.ReLU(inplace=True)` does, which saves
# writing a tensor of that size (several per cent of a forward pass).
FRESH = frozenset(
    {f"nn.{kind}{d}d" for kind in ("Conv", "ConvTranspose", "BatchNorm", "InstanceNorm") for d in (1, 2, 3)}
    | {"nn.Linear", "nn.GroupNorm", "nn.LayerNorm"}
)


# Activations that torchvision builds with `inplace=True` and whose backward
# pass does not need the input they overwrite (MobileNetV3's classifier has
# `nn.Hardswish(inplace=True)` after a Linear). nn.ReLU6 could be one too,
# but that would change the code generated for specs already written.
IN_PLACE = frozenset({"nn.ReLU", "nn.Hardswish"})


def is_relu(c) -> bool:
    """Whether `c` builds a plain `nn.ReLU()` or `nn.Hardswish()` (one of
    `IN_PLACE`, without arguments), an activation that may work in place."""
    return isinstance(c, Ctor) and c.kind == "torch" and c.target in IN_PLACE and not c.kwargs


def fresh_ctor(c) -> bool:
    """Whether `c` builds a module of `FRESH`."""
    return isinstance(c, Ctor) and c.kind == "torch" and c.target in FRESH


def inplace_relus(body: tuple[Node, ...]) -> set[int]:
    """The ReLU layers (by id) that may work in place: each right after, in
    the same sequence, a module of `FRESH` or a residual join (whose sum or
    concatenation is new too). The first node of a sequence never does: its
    input may be a tensor used elsewhere (a residual's identity, a branch's
    input, a named tensor, forward's argument)."""
    found: set[int] = set()
    for nodes in (body, *(inner for node in walk(body) for inner in bodies(node))):
        for prev, node in zip(nodes, nodes[1:]):
            # A residual whose skip is conditional (`shortcut none`) may
            # return its body's output as it is: not necessarily new.
            after_fresh = isinstance(prev, Residual) and prev.skip == sy.TRUE or isinstance(prev, Layer) and prev.apply == "call" and fresh_ctor(prev.ctor)
            if isinstance(node, Layer) and node.apply == "call" and is_relu(node.ctor) and after_fresh:
                found.add(id(node))
    return found
