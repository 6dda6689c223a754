"""The primitive registry (legoc/analysis/primitives.py) is complete: what
inference needs to know about a primitive is in its entry or in the
keyword table every primitive shares, so a new primitive cannot be added
half-way."""

from __future__ import annotations

import pytest

from legoc.analysis.primitives import PRIMITIVES
from legoc.analysis.signature import AUTO, REQUIRED, argument_checks
from legoc.compiler import check_source
from legoc.ir import symbolic as sy

KEYWORDS = sorted({(p.name, key) for p in PRIMITIVES.values() for key, _ in p.params})


@pytest.mark.parametrize("prim, key", KEYWORDS)
def test_every_keyword_has_a_type(prim, key):
    # A keyword with no type in signature.py would take any value, and a
    # wrong one would reach torch: `argument_checks` gives no check for it.
    assert argument_checks(key, sy.Sym("p:v", "v", "v")), f"`{key}` of `{prim}` has no type in signature.py"


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_entries_are_named_by_their_key_with_defaults_of_their_type(name):
    prim = PRIMITIVES[name]
    assert prim.name == name
    for key, default in prim.params:
        if default is REQUIRED or default is AUTO:
            continue
        assert isinstance(default, sy.Const), (name, key, default)
        # A default passes its own keyword's checks.
        assert all(cond == sy.TRUE for cond, _ in argument_checks(key, default)), (name, key, default)


def _first_input_name(first_layer: str) -> str:
    """The name a block's rank-2 input's first size gets when `first_layer`
    reads it first."""
    spec = f"block b():\n    {first_layer}\n    flatten\n    linear 2\n\nmodel M():\n    input [4, 8]\n    b\n"
    (block,) = [c for c in check_source(spec, "x.lego").classes if c.name == "b"]
    return block.inputs[0].shape[0].label


@pytest.mark.parametrize(
    "layer, channels_first",
    [("conv 4", True), ("bn", True), ("groupnorm 2", True), ("maxpool 2", True), ("linear 4", False), ("layernorm", False), ("relu", False)],
)
def test_channels_first_names_a_blocks_input_sizes(layer, channels_first):
    assert PRIMITIVES[layer.split()[0]].channels_first is channels_first
    assert _first_input_name(layer) == ("in_channels" if channels_first else "T")
