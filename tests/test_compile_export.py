"""Generated code under the PyTorch 2 compilers: for every example, the
generated model (eval mode) compiles with `torch.compile(fullgraph=True)` and
exports with `torch.export.export`, and both give the eager model's output.

- `torch.compile`: one graph, no graph break (fullgraph=True makes a break an
  error; dynamo's counters are checked as well). The backend is `aot_eager`
  (dynamo and AOTAutograd, no code generation); set
  LEGOC_COMPILE_BACKEND=inductor to run the real compiler (minutes on CPU,
  with a C++ compiler).
- `torch.export.export` at the example's input; for a model with symbolic
  input sizes (`H`, `W`, `T`), again with dynamic shapes: the batch axis and
  every symbolic size. A size with a rule (`H` a multiple of 16: forward
  fails its `torch._assert` otherwise) is declared as the rule says, `16 * Dim(...)`,
  and a size breaking the rule is refused by the exported program.

PyTorch's own limits, not anything legoc emits:
- dynamo refuses nn.RNN/GRU/LSTM unless `torch._dynamo.config.allow_rnn` is
  set, so models holding one compile with it set;
- torch.export unrolls `aten.lstm` over time, fixing the sequence length
  (pytorch/pytorch#115092): rnn_lm's `T` is exported static, and
  `test_lstm_sequence_length_is_static_in_export` records the limit;
- export specializes a size that may be 1, so the smallest dynamic size is
  MIN_SIDE, where no example's deepest feature map is 1 x 1 (UNet's is H / 16).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch._dynamo.utils import counters
from torch.export import Dim

from legoc.ir import symbolic as sy
from legoc.compiler import check_source
from legoc.ir.nodes import ClassIR

from conftest import EXAMPLES, build_example, example_names, load_module

BACKEND = os.environ.get("LEGOC_COMPILE_BACKEND", "aot_eager")
# Compiled and exported outputs against eager ones. Inductor on CPU differs
# by at most 2.5e-7 on these models (outputs up to 2.5 in magnitude).
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}

BATCH, SIDE = 2, 64  # the example input: every symbolic size is SIDE, a multiple of every rule
OTHER_BATCH, OTHER_SIDE = 3, 48  # another input the dynamic export must take
MIN_SIDE, MAX_SIDE = 32, 1024  # the range of a dynamic size

pytestmark = [
    # torch's own: nn.LSTM's weight list under export, TorchScript under inductor
    pytest.mark.filterwarnings("ignore:The tensor attributes .*_flat_weights.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
]

STATIC = {("rnn_lm", "T"): "nn.LSTM: torch.export unrolls aten.lstm over time (pytorch/pytorch#115092)"}
"""Symbolic sizes exported static, and why."""


@dataclass
class Example:
    """An example's model, with an input and its eager output."""

    name: str
    model: nn.Module
    ir: ClassIR
    embedded: tuple[bool, ...]  # per input: token ids for an embedding
    inputs: tuple[torch.Tensor, ...] = ()
    expected: object = None  # the eager output: a tensor, or a dict of them

    def make_inputs(self, batch: int, side) -> tuple[torch.Tensor, ...]:
        """Inputs of `batch` items, with `side(sym)` for each symbolic size."""
        data = []
        for port, ids in zip(self.ir.inputs, self.embedded):
            shape = (batch, *(side(e) if sy.value_of(e) is None else sy.value_of(e) for e in port.shape))
            data.append(torch.randint(0, 100, shape) if ids else torch.randn(shape))
        return tuple(data)

    def rule(self, sym):
        return next((r for r in self.ir.dim_rules if r.dim == sym), None)


def _eager(model, inputs):
    with torch.no_grad():
        return model(*inputs)


@pytest.fixture(scope="module", params=example_names())
def example(request) -> Example:
    """An example's generated model built with its defaults, in eval mode, an
    input of BATCH items (SIDE for every symbolic size) and its eager output.
    Module-scoped, so each model is built once for all the tests below."""
    name = request.param
    built = build_example(name, SIDE)
    torch.manual_seed(0)
    model = getattr(load_module(built.compiled.code, name), built.instance.class_name)().eval()
    example = Example(name, model, built.ir, built.token_ids)
    example.inputs = example.make_inputs(BATCH, lambda e: SIDE)
    example.expected = _eager(model, example.inputs)
    return example


@pytest.fixture
def fresh_dynamo():
    torch._dynamo.reset()
    counters.clear()
    yield
    torch._dynamo.reset()


def test_compile_fullgraph(example, fresh_dynamo):
    """torch.compile(fullgraph=True) traces the whole forward as one graph and
    computes the eager output; an input size breaking the model's rule still
    fails, with legoc's message (the `torch._assert` of codegen/checks.py;
    dynamo reports the AssertionError as a failed fake-tensor call)."""
    rnn = any(isinstance(m, nn.RNNBase) for m in example.model.modules())
    with torch._dynamo.config.patch(allow_rnn=rnn):
        compiled = torch.compile(example.model, fullgraph=True, backend=BACKEND)
        got = _eager(compiled, example.inputs)
    assert not counters["graph_break"], dict(counters["graph_break"])
    assert counters["stats"]["unique_graphs"] == 1
    torch.testing.assert_close(got, example.expected, **TOLERANCE)
    for rule in example.ir.dim_rules:
        if rule.multiple > 1:
            bad = example.make_inputs(BATCH, lambda e: SIDE + 1 if e == rule.dim else SIDE)
            message = f"{rule.dim.label} must be a multiple of {rule.multiple}"
            with pytest.raises(AssertionError, match=message):
                _eager(example.model, bad)
            with pytest.raises(Exception, match=message):  # dynamo's TorchRuntimeError, naming the AssertionError
                _eager(compiled, bad)


def test_export(example):
    """torch.export at the example input; the exported program computes the
    eager output, and refuses an input without its batch axis (the rank
    that forward's `torch._assert` checks: torch's own input check, which
    does not keep legoc's message, refuses it first)."""
    program = torch.export.export(example.model, example.inputs)
    torch.testing.assert_close(_eager(program.module(), example.inputs), example.expected, **TOLERANCE)
    for index in range(len(example.inputs)):
        bad = list(example.inputs)
        bad[index] = bad[index][0]
        with pytest.raises(AssertionError, match="Guard failed"):  # torch 2.13: `Guard failed: x.size()[0] == 2`
            _eager(program.module(), bad)


def _dynamic_shapes(example: Example) -> tuple[dict[int, object], ...]:
    """torch.export dynamic shapes: the batch axis, and every symbolic size
    not in STATIC, as its rule says (a multiple of m: `m * Dim(...)`)."""
    batch = Dim("batch", min=1, max=64)
    dims: dict[object, object] = {}
    shapes = []
    for port in example.ir.inputs:
        spec: dict[int, object] = {0: batch}
        for axis, e in enumerate(port.shape):
            if sy.value_of(e) is not None or (example.name, e.label) in STATIC:
                continue
            if e not in dims:
                rule = example.rule(e)
                if rule is not None and rule.cond is not None:
                    # A rule over the model's parameters (GPT-2's T <= n_positions) that
                    # every size of the exported range meets needs no Dim of its own.
                    defaults = {f"p:{p.name}": p.default for p in example.ir.params if isinstance(p.default, sy.Expr)}
                    cond = sy.substitute(rule.cond, defaults)
                    if not all(sy.value_of(sy.substitute(cond, {e.key: sy.Const(n)})) is True for n in range(MIN_SIDE, MAX_SIDE + 1)):
                        raise NotImplementedError(f"{example.name}: no Dim for the rule on {e.label}")
                    rule = None
                multiple, minimum = (rule.multiple, rule.minimum) if rule else (1, 1)
                low = max(MIN_SIDE, minimum)
                if multiple > 1:
                    dims[e] = multiple * Dim(f"{e.label}_over_{multiple}", min=-(-low // multiple), max=MAX_SIDE // multiple)
                else:
                    dims[e] = Dim(e.label, min=low, max=MAX_SIDE)
            spec[axis + 1] = dims[e]
        shapes.append(spec)
    return tuple(shapes)


def _has_symbolic_sizes(name: str) -> bool:
    analysis = check_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    ir = next(c for c in analysis.classes if c.kind == "model")
    return any(sy.value_of(e) is None for port in ir.inputs for e in port.shape)


@pytest.mark.parametrize("example", [n for n in example_names() if _has_symbolic_sizes(n)], indirect=True)
def test_export_dynamic(example):
    """torch.export with a dynamic batch and dynamic symbolic sizes; the
    exported program takes another batch and size and computes the eager
    output, and refuses a size that breaks the model's rule."""
    program = torch.export.export(example.model, example.inputs, dynamic_shapes=_dynamic_shapes(example))
    static = {label for name, label in STATIC if name == example.name}

    def side(e):
        if e.label in static:
            return SIDE
        rule = example.rule(e)
        return OTHER_SIDE if rule is None else -(-OTHER_SIDE // rule.multiple) * rule.multiple

    other = example.make_inputs(OTHER_BATCH, side)
    torch.testing.assert_close(_eager(program.module(), other), _eager(example.model, other), **TOLERANCE)
    for rule in example.ir.dim_rules:
        if rule.multiple > 1:
            bad = example.make_inputs(OTHER_BATCH, lambda e: side(e) + 1 if e == rule.dim else side(e))
            with pytest.raises(AssertionError, match=f"% {rule.multiple} == 0"):
                _eager(program.module(), bad)


@pytest.mark.xfail(raises=torch._dynamo.exc.UserError, strict=True, reason=STATIC[("rnn_lm", "T")])
def test_lstm_sequence_length_is_static_in_export():
    """PyTorch's limit behind STATIC: an LSTM's sequence length cannot be
    exported dynamic. When this passes, drop the STATIC entry."""
    lstm = nn.LSTM(4, 5, batch_first=True).eval()
    torch.export.export(lstm, (torch.randn(2, 7, 4),), dynamic_shapes=({1: Dim("T", min=2, max=64)},))
