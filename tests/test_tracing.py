"""Generated models under torch.fx and torch.export, and their input checks.

A generated `forward` checks its input as torchvision does, with
`torch._assert` (legoc/codegen/checks.py): the rank of each input first,
then the model's size rules (`H must be a multiple of 16`). For every example:

- `torch.fx.symbolic_trace` traces the model, the checks are nodes of the
  graph, and the traced module computes the eager output exactly;
- an input without its batch axis (a wrong rank) and, where the model has
  size rules, an input breaking each rule raise AssertionError with the
  message docs/language.md documents, in eager mode and in the traced
  module; torch.export refuses to export at such an input, with the same
  message (tests/test_compile_export.py checks that the exported program
  refuses them once exported at a good input).

torchvision's `create_feature_extractor` (an FX tracer) returns the
intermediate features of resnet50 and unet that forward hooks see.

Every model is built once (module-scoped fixture) and run on one small input
(SIDE for each symbolic size, batch 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import torch
import torch.fx
from torch import nn

from legoc.analysis.constraints import describe
from legoc.ir import symbolic as sy

from legoc.compiler import check_source

from conftest import EXAMPLES, build_example, example_names, load_module, torchvision_module

SIDE = 32  # every symbolic size: a multiple of every example's rule (UNet's 16)

pytestmark = [
    # torch's own: nn.LSTM's weight list under export
    pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights.*:UserWarning"),
]


@dataclass
class Example:
    """An example's model (default arguments, eval mode), its IR and a good input."""

    name: str
    model: nn.Module
    ir: object
    token_ids: tuple[bool, ...]
    inputs: tuple[torch.Tensor, ...]
    traced: torch.fx.GraphModule | None = None
    declared: object = None  # the model's class IR: its inputs as the spec writes them (`[in_chans, 224, 224]`)

    def make_inputs(self, side) -> tuple[torch.Tensor, ...]:
        """One item per input, `side(e)` for each symbolic size `e`."""
        data = []
        for port, ids in zip(self.ir.inputs, self.token_ids):
            shape = (1, *(side(e) if sy.value_of(e) is None else sy.value_of(e) for e in port.shape))
            data.append(torch.randint(0, 100, shape) if ids else torch.randn(shape))
        return tuple(data)


@pytest.fixture(scope="module", params=example_names())
def example(request) -> Example:
    name = request.param
    built = build_example(name, SIDE)
    torch.manual_seed(0)
    model = getattr(load_module(built.compiled.code, name), built.instance.class_name)().eval()
    example = Example(name, model, built.ir, built.token_ids, ())
    example.declared = next(c for c in built.compiled.analysis.classes if c.kind == "model" and c.name == built.ir.name)
    example.inputs = example.make_inputs(lambda e: SIDE)
    example.traced = torch.fx.symbolic_trace(model)
    return example


def _has_size_rules(name: str) -> bool:
    analysis = check_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    return any(c.dim_rules for c in analysis.classes if c.kind == "model")


def _rank_message(example: Example, index: int) -> str:
    """The documented message of a rank check: `UNet: input x must be [B, 3, H, W] (rank 4)`,
    the sizes as the spec writes them (`[B, in_chans, 224, 224]` where a parameter sets one)."""
    port = example.declared.inputs[index]
    shape = "[" + ", ".join(["B", *(str(d) for d in port.shape)]) + "]"
    return f"{type(example.model).__name__}: input {port.code} must be {shape} (rank {len(port.shape) + 1})"


def test_symbolic_trace_gives_the_eager_output(example):
    """symbolic_trace succeeds; every check is a torch._assert node; the
    traced module's output equals eager's."""
    traced = example.traced
    asserts = [n for n in traced.graph.nodes if n.op == "call_function" and n.target is torch._assert]
    assert len(asserts) >= len(example.ir.inputs) + len(example.ir.dim_rules)
    with torch.no_grad():
        expected = example.model(*example.inputs)
        got = traced(*example.inputs)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_a_wrong_rank_raises_the_documented_message(example):
    """An input without its batch axis: AssertionError naming the model, the
    input and the expected rank, eagerly and traced; export refuses it."""
    for index in range(len(example.inputs)):
        bad = list(example.inputs)
        bad[index] = bad[index][0]
        message = _rank_message(example, index)
        with pytest.raises(AssertionError) as eager:
            example.model(*bad)
        assert str(eager.value) == message
        with pytest.raises(AssertionError) as in_graph:
            example.traced(*bad)
        assert str(in_graph.value) == message
        with pytest.raises(Exception, match=re.escape(message)):
            torch.export.export(example.model, tuple(bad))


def _breaking(example: Example, rule) -> int:
    """A size breaking `rule` (sizes from SIDE up, then down), with the
    model's defaults for its parameters."""
    defaults = {f"p:{p.name}": p.default for p in example.ir.params if isinstance(p.default, sy.Expr)}
    for n in [*range(SIDE, 4 * SIDE), *range(SIDE - 1, 0, -1), 1025]:
        if rule.cond is not None:
            holds = sy.value_of(sy.substitute(sy.substitute(rule.cond, defaults), {rule.dim.key: sy.Const(n)}))
        else:
            holds = n % rule.multiple == 0 and n >= rule.minimum
        if holds is False:
            return n
    raise AssertionError(f"{example.name}: no size breaks {describe(rule)}")


@pytest.mark.parametrize("example", [n for n in example_names() if _has_size_rules(n)], indirect=True)
def test_a_wrong_size_raises_the_documented_message(example):
    """For each size rule: an input breaking it raises AssertionError with
    `Class: H must be a multiple of 16 (axis 2 of x), got 33`, eagerly and
    traced (where FX keeps the message up to its value); export refuses it
    with the message."""
    assert example.ir.dim_rules
    for rule in example.ir.dim_rules:
        n = _breaking(example, rule)
        bad = example.make_inputs(lambda e: n if e == rule.dim else SIDE)
        place = f"{describe(rule)} (axis {rule.axis + 1} of {rule.port})"
        message = f"{type(example.model).__name__}: {place}, got {n}"
        with pytest.raises(AssertionError) as eager:
            example.model(*bad)
        assert str(eager.value) == message
        with pytest.raises(AssertionError) as in_graph:
            example.traced(*bad)
        assert str(in_graph.value).startswith(message.rsplit(", got", 1)[0])
        with pytest.raises(Exception) as exported:
            torch.export.export(example.model, bad)
        assert message in str(exported.value)


def test_the_unet_rule_in_words_for_the_docs():
    """The message docs/language.md shows, word for word."""
    built = build_example("unet", SIDE)
    model = getattr(load_module(built.compiled.code, "unet"), built.instance.class_name)().eval()
    with pytest.raises(AssertionError, match=r"^UNet: H must be a multiple of 16 \(axis 2 of x\), got 250$"):
        model(torch.randn(1, 3, 250, 256))
    with pytest.raises(AssertionError, match=r"^UNet: input x must be \[B, n_channels, H, W\] \(rank 4\)$"):
        model(torch.randn(3, 256, 256))


def _hooked(model: nn.Module, names: list[str], inputs) -> dict[str, torch.Tensor]:
    """The outputs of the submodules `names` in an eager forward."""
    seen: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    handles = [modules[n].register_forward_hook(lambda m, a, out, n=n: seen.__setitem__(n, out)) for n in names]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return seen


@pytest.mark.parametrize(
    ("name", "nodes", "size"),
    [
        ("resnet50", {"layer2": "c3", "layer3": "c4"}, 64),
        ("unet", {"down4": "bottom", "up2": "up2"}, SIDE),
    ],
)
def test_create_feature_extractor(name, nodes, size):
    """torchvision's create_feature_extractor traces the generated model and
    returns the chosen intermediate features, equal to what forward hooks
    see; the extractor still checks its input."""
    feature_extraction = torchvision_module("models.feature_extraction")
    built = build_example(name, SIDE)
    torch.manual_seed(0)
    model = getattr(load_module(built.compiled.code, name), built.instance.class_name)().eval()
    x = torch.randn(1, 3, size, size)
    extractor = feature_extraction.create_feature_extractor(model, return_nodes=nodes)
    with torch.no_grad():
        features = extractor(x)
    expected = _hooked(model, list(nodes), (x,))
    assert list(features) == list(nodes.values())
    for module_name, key in nodes.items():
        torch.testing.assert_close(features[key], expected[module_name], rtol=0, atol=0)
    with pytest.raises(AssertionError, match=f"^{type(model).__name__}: input x must be"):
        extractor(x[0])
    if name == "unet":
        with pytest.raises(AssertionError, match=r"^UNet: H must be a multiple of 16 \(axis 2 of x\)"):
            extractor(torch.randn(1, 3, size + 1, size))


def test_export_refuses_a_dynamic_size_that_ignores_the_rule():
    """The UNet's `torch._assert(H % 16 == 0, ...)` is a guard for
    torch.export: a dynamic H declared as any size is refused, with torch's
    fix `16 * Dim` (tests/test_compile_export.py exports it so)."""
    built = build_example("unet", SIDE)
    model = getattr(load_module(built.compiled.code, "unet"), built.instance.class_name)().eval()
    H = torch.export.Dim("H", min=SIDE, max=1024)
    with pytest.raises(torch._dynamo.exc.UserError, match=r"% 16"):
        torch.export.export(model, (torch.randn(1, 3, SIDE, SIDE),), dynamic_shapes=({2: H},))
