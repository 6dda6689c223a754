"""Blocks that return several tensors, differential against torch:
`return y, skip` makes forward return a tuple, `(y, skip) = x -> down 8`
binds the results (`y, skip = self.down(x)`), each with the shape legoc
infers; the model computes what a hand-written torch module with the same
weights computes; `legoc summary` (against torchinfo), `legoc state-dict`
and `legoc graph` follow the results; misuse is a diagnostic (LG229,
LG435)."""

from __future__ import annotations

import pytest
import torch
import torchinfo
from torch import nn

from conftest import load_module
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.ir import symbolic as sy
from legoc.tools.diagram import to_dot
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.statedict import state_dict_layout
from legoc.tools.summary import summarize, to_json, to_text

BLOCKS = """\
# (3x3 convolution, batch norm, ReLU) twice.
block double_conv(c):
    conv c kernel_size=3 padding=1 bias=false
    bn
    relu
    conv c kernel_size=3 padding=1 bias=false
    bn
    relu

# A U-Net encoder stage: the pooled tensor, and the skip before pooling.
block down(c)(x):
    skip = x -> conv: double_conv c
    y = skip -> maxpool 2
    return y, skip

# A decoder stage: upsample, join the skip, convolve.
block up(c)(x, skip):
    x = x -> conv_transpose c kernel_size=2 stride=2
    return (skip, x) -> cat -> double_conv c
"""

UNET = BLOCKS + """
model UNet2(classes=2, width=8):
    input image: [3, H, W]
    (x, skip1) = image -> down1: down width
    (x, skip2) = x -> down2: down width * 2
    x = x -> double_conv width * 4
    x = (x, skip2) -> up width * 2
    x = (x, skip1) -> up width
    output logits = x -> conv classes kernel_size=1
"""


def _double(cin: int, c: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
        nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
    )


class _Down(nn.Module):
    """A U-Net encoder stage as one writes it by hand."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.conv = _double(cin, c)
        self.maxpool = nn.MaxPool2d(2)

    def forward(self, x):
        skip = self.conv(x)
        return self.maxpool(skip), skip


class _Up(nn.Module):
    def __init__(self, cin: int, cskip: int, c: int):
        super().__init__()
        self.conv_transpose = nn.ConvTranspose2d(cin, c, 2, stride=2)
        self.double_conv = _double(c + cskip, c)

    def forward(self, x, skip):
        return self.double_conv(torch.cat([skip, self.conv_transpose(x)], dim=1))


class _UNet2(nn.Module):
    def __init__(self, classes: int = 2, width: int = 8):
        super().__init__()
        self.down1 = _Down(3, width)
        self.down2 = _Down(width, width * 2)
        self.double_conv = _double(width * 2, width * 4)
        self.up1 = _Up(width * 4, width * 2, width * 2)
        self.up2 = _Up(width * 2, width, width)
        self.conv = nn.Conv2d(width, classes, 1)

    def forward(self, image):
        x, skip1 = self.down1(image)
        x, skip2 = self.down2(x)
        x = self.double_conv(x)
        x = self.up1(x, skip2)
        x = self.up2(x, skip1)
        return self.conv(x)


def _error(spec: str):
    with pytest.raises(SpecError) as info:
        check_source(spec, "t.lego")
    return info.value.diagnostics[0]


def _model(spec: str, name: str):
    compiled = compile_source(spec, "t.lego")
    return compiled, getattr(load_module(compiled.code), name)


# ------------------------------------------------------------ the code


def test_generated_code_returns_and_unpacks_a_tuple():
    compiled, _ = _model(UNET, "UNet2")
    code = compiled.code
    assert "        return y, skip\n" in code
    assert "x, skip1 = self.down1(image)  # [B, width, H // 2, W // 2], [B, width, H, W]\n" in code
    assert "        x, skip2 = self.down2(x)\n" in code
    assert "Returns a tuple of tensors: y [B, c, H // 2, W // 2], skip [B, c, H, W]." in code
    down = next(c for c in compiled.analysis.classes if c.name == "down")
    assert [(p.name, sy.to_text(p.shape[1])) for p in down.outputs] == [("y", "H // 2"), ("skip", "H")]


def test_unet_equals_a_hand_written_module_with_the_same_weights():
    compiled, cls = _model(UNET, "UNet2")
    ours, theirs = cls().eval(), _UNet2().eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)  # same keys, same shapes
    image = torch.randn(2, 3, 20, 12)
    with torch.no_grad():
        got, want = ours(image), theirs(image)
    assert torch.equal(got, want)
    ir = next(c for c in compiled.analysis.classes if c.name == "UNet2")
    instance = instantiate(compiled.analysis, "UNet2", bind_inputs(ir, [(None, (3, 20, 12))]))
    ((_, out),) = instance.outputs
    assert tuple(sy.value_of(e) for e in instance.tensors[out].shape) == tuple(got.shape[1:])


def test_each_result_has_its_own_shape():
    """The block alone: forward returns a tuple whose tensors have the shapes
    legoc infers for each result, equal to the hand-written stage's."""
    compiled, cls = _model(UNET, "UNet2")
    module = load_module(compiled.code)
    ours, theirs = module.Down(3, 8).eval(), _Down(3, 8).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 10, 14)
    with torch.no_grad():
        got, want = ours(x), theirs(x)
    assert isinstance(got, tuple) and len(got) == 2
    down = next(c for c in compiled.analysis.classes if c.name == "down")
    values = {"in:0:0": sy.Const(3), "in:0:1": sy.Const(10), "in:0:2": sy.Const(14), "p:c": sy.Const(8)}
    for port, tensor, expected in zip(down.outputs, got, want):
        assert torch.equal(tensor, expected)
        assert tuple(sy.value_of(sy.substitute(e, values)) for e in port.shape) == tuple(tensor.shape[1:]), port.name


SEVERAL = """\
block pair(c)(a, b):
    s = (a, b) -> add
    d = (a, b) -> sub
    return s, d, a

block down(c)(x):
    skip = x -> conv c kernel_size=3 padding=1
    y = skip -> maxpool 2
    return y, skip

model M():
    input x: [3, H, W]
    (y, skip) = x -> conv 4 kernel_size=1 -> enc: down 6
    (s, d, a) = (skip, skip) -> pair 1
    output y
    output total = (s, d) -> mul
    output a
"""


def test_stages_before_a_named_call_and_a_block_that_joins_a_tuple():
    compiled, cls = _model(SEVERAL, "M")
    assert "y, skip = self.enc(parts)  # [B, 6, H // 2, W // 2], [B, 6, H, W]" in compiled.code
    assert "s, d, a = self.pair(skip, skip)" in compiled.code
    model = cls().eval()
    x = torch.randn(2, 3, 8, 6)
    with torch.no_grad():
        got = model(x)
        skip = model.enc.conv(model.conv(x))
    assert torch.equal(got["y"], nn.functional.max_pool2d(skip, 2))
    assert torch.equal(got["total"], (skip + skip) * (skip - skip))
    assert torch.equal(got["a"], skip)
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    mapping = bind_inputs(ir, [(None, (3, 8, 6))])
    for port in ir.outputs:
        assert tuple(sy.value_of(sy.substitute(e, mapping)) for e in port.shape) == tuple(got[port.name].shape[1:]), port.name


NESTED = """\
block down(c)(x):
    skip = x -> conv c kernel_size=3 padding=1
    y = skip -> maxpool 2
    return y, skip

block enc(c)(x):
    (y, s1) = x -> down c
    (y, s2) = y -> down c * 2
    return y, s1, s2

model M():
    input x: [3, H, W]
    (y, a, b) = x -> enc 4
    output y
    output a
    output b
"""


def test_a_block_returns_the_results_of_the_blocks_it_calls():
    compiled, cls = _model(NESTED, "M")
    assert "        y, s1 = self.down1(x)  # [B, c, H // 2, W // 2], [B, c, H, W]\n" in compiled.code
    assert "        return y, s1, s2\n" in compiled.code
    model = cls().eval()
    x = torch.randn(2, 3, 16, 12)
    with torch.no_grad():
        got = model(x)
        s1 = model.enc.down1.conv(x)
        s2 = model.enc.down2.conv(nn.functional.max_pool2d(s1, 2))
    for name, want in (("y", nn.functional.max_pool2d(s2, 2)), ("a", s1), ("b", s2)):
        assert torch.equal(got[name], want), name
    ir = next(c for c in compiled.analysis.classes if c.name == "M")
    mapping = bind_inputs(ir, [(None, (3, 16, 12))])
    assert {p.name: tuple(sy.value_of(sy.substitute(e, mapping)) for e in p.shape) for p in ir.outputs} == {k: tuple(v.shape[1:]) for k, v in got.items()}
    summary = summarize(instantiate(compiled.analysis, "M", mapping), 1)
    assert next(r for r in summary.rows if r.path == "enc").results == ((1, 8, 4, 3), (1, 4, 16, 12), (1, 8, 8, 6))


def test_results_are_checked_downstream_with_symbolic_sizes():
    d = _error(BLOCKS + "\nmodel M():\n    input x: [3, H, W]\n    (y, skip) = x -> down 8\n    output z = (y, skip) -> cat\n")
    assert d.code == "LG305"
    assert "[8, H // 2, W // 2] and [8, H, W]" in d.message


# ------------------------------------------------------------ the tools


def _unet_instance(side: int = 32):
    compiled = compile_source(UNET, "t.lego")
    ir = next(c for c in compiled.analysis.classes if c.name == "UNet2")
    return compiled, instantiate(compiled.analysis, "UNet2", bind_inputs(ir, [(None, (3, side, side))]))


@pytest.mark.parametrize("batch", [1, 2])
def test_summary_equals_torchinfo(batch):
    compiled, instance = _unet_instance()
    summary = summarize(instance, batch)
    module = getattr(load_module(compiled.code), "UNet2")()
    stats = torchinfo.summary(module, input_data=[torch.randn(batch, 3, 32, 32)], depth=100, verbose=0, mode="eval")
    assert (summary.totals.params, summary.totals.mult_adds) == (stats.total_params, stats.total_mult_adds)
    assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    paths = {id(m): path for path, m in module.named_modules()}
    theirs = [(paths[id(i.module)], i.class_name, i.output_size, i.num_params) for i in stats.summary_list if i.depth > 0]
    assert [(r.path, r.kind, list(r.shape), r.params) for r in summary.rows if r.path is not None] == theirs


def test_summary_lists_every_result():
    _, instance = _unet_instance()
    summary = summarize(instance, 1)
    row = next(r for r in summary.rows if r.path == "down1")
    assert row.results == ((1, 8, 16, 16), (1, 8, 32, 32))
    assert any(line.split() == ["down1", "Down", "[1,", "8,", "16,", "16],", "[1,", "8,", "32,", "32]", "824", "811,040", "24,576"] for line in to_text(summary).splitlines())
    data = next(r for r in to_json(summary)["rows"] if r["path"] == "down1")
    assert data["output_shape"] == [1, 8, 16, 16] and data["output_shapes"] == [[1, 8, 16, 16], [1, 8, 32, 32]]
    assert "output_shapes" not in next(r for r in to_json(summary)["rows"] if r["path"] == "conv")
    # No op splits the block's output: its results are the tensors its body computes.
    assert not any(op.kind in ("chunk", "split", "unbind") for op in instance.ops)


def test_state_dict_equals_torchs():
    compiled, _ = _unet_instance()
    module = getattr(load_module(compiled.code), "UNet2")()
    entries = state_dict_layout(compiled.analysis, "UNet2")
    assert [(e.key, e.shape) for e in entries] == [(k, tuple(v.shape)) for k, v in module.state_dict().items()]


def test_graph_draws_each_result_to_its_reader():
    """The skip reaches the decoder's `cat` from the encoder's last ReLU,
    the pooled tensor the next stage from the max pool."""
    _, instance = _unet_instance()
    producer = {op.path: op.output for op in instance.ops if op.path}
    cat = next(op for op in instance.ops if op.kind == "cat" and op.path is None and op.parent == next(o.id for o in instance.ops if o.path == "up2"))
    assert cat.inputs[0] == producer["down1.conv.5"]
    down2 = next(op for op in instance.ops if op.path == "down2")
    assert down2.inputs == (producer["down1.maxpool"],)
    assert down2.results == (producer["down2.maxpool"], producer["down2.conv.5"])
    dot = to_dot(instance, depth=1)  # blocks folded into one node each
    ids = {line.split(" [", 1)[0].strip(): line for line in dot.splitlines() if "[label=" in line and "->" not in line}
    node = {name: next(n for n, line in ids.items() if f'"{name}: ' in line) for name in ("down1", "down2", "up2")}
    assert f'{node["down1"]} -> {node["down2"]} [label="[8, 16, 16]"];' in dot  # the pooled tensor
    assert f'{node["down1"]} -> {node["up2"]} [label="[8, 32, 32]"];' in dot  # the skip, at full size


# ------------------------------------------------------------ diagnostics

DOWN = "block down(c)(x):\n    skip = x -> conv c kernel_size=1\n    y = skip -> maxpool 2\n    return y, skip\n\n"


@pytest.mark.parametrize(
    "line, column",
    [
        ("    y = x -> down 4 -> relu\n", 14),  # a stage with more stages after it
        ("    y = x -> down 4\n", 14),  # the result of `y = ...`
        ("    y = x -> res add < down 3 >\n", 24),  # a residual's body
        ("    y = x -> repeat 2 down 3\n", 23),  # a repeat
        ("    y = x -> cat < down 3 | conv 3 >\n", 20),  # a parallel branch
    ],
)
def test_several_results_where_one_tensor_is_expected(line, column):
    d = _error(DOWN + "model M():\n    input x: [3, 16, 16]\n" + line + "    output z = y -> relu\n")
    assert (d.code, d.span.line, d.span.column) == ("LG435", 8, column)
    assert d.message == "block `down` returns 2 tensors (y, skip), but one tensor is expected here"
    assert d.hint == "bind its results by name, with `down` as the last stage of a pipeline: `(y, skip) = x -> down ...`"


def test_several_results_in_a_sequence():
    d = _error(DOWN + "block seq(c):\n    conv c kernel_size=1\n    down c\n\nmodel M():\n    input [3, 16, 16]\n    seq 4\n")
    assert (d.code, d.span.line, d.span.column) == ("LG435", 8, 5)
    assert [n.message for n in d.notes] == ["in this call of `seq`"]


def test_a_hint_with_names_that_can_bind():
    d = _error("block twice()(x):\n    return x, x\n\nmodel M():\n    input x: [3, 4, 4]\n    output y = x -> twice\n")
    assert d.message == "block `twice` returns 2 tensors (x, x), but one tensor is expected here"
    assert d.hint == "bind its results by name, with `twice` as the last stage of a pipeline: `(y1, y2) = x -> twice ...`"


def test_names_and_results_disagree():
    d = _error(DOWN + "model M():\n    input x: [3, 16, 16]\n    (a, b, c) = x -> down 4\n    output a\n")
    assert (d.code, d.span.line, d.span.column) == ("LG229", 8, 22)
    assert d.message == "block `down` returns 2 tensors, but 3 names receive them: (a, b, c)"
    one = "block one(c)(x):\n    return x -> conv c kernel_size=1\n\n"
    d = _error(one + "model M():\n    input x: [3, 16, 16]\n    (a, b) = x -> one 4\n    output a\n")
    assert (d.code, d.span.line, d.span.column) == ("LG229", 6, 19)
    assert d.message == "block `one` returns one tensor, but 2 names receive them: (a, b)"
    assert d.hint == "write `y = ... -> one ...`, or split its result with `chunk` or `split`"


def test_a_bare_tuple_in_return_suggests_several_results():
    d = _error("block b()(x, y):\n    return (x, y)\n\nmodel M():\n    input x: [3, 4, 4]\n    output z = (x, x) -> b\n")
    assert d.code == "LG404" and d.hint == "to return the tensors, write `return x, y`"


def test_return_of_several_tensors_in_the_wrong_place():
    d = _error("model M():\n    input x: [3, 4, 4]\n    y = x -> relu\n    return x, y\n")
    assert (d.code, d.message) == ("LG404", "a model gives its results with `output name = ...`, not `return`")
    d = _error("block b()(x):\n    return x, nope\n\nmodel M():\n    input x: [3, 4, 4]\n    (a, c) = x -> b\n    output a\n    output c\n")
    assert (d.code, d.message) == ("LG207", "tensor `nope` is not defined")
    d = _error("block b()(x):\n    s: param [3, 1, 1] init=0.0\n    return x, s\n\nmodel M():\n    input x: [3, 4, 4]\n    (a, c) = x -> b\n    output a\n")
    assert d.code == "LG404" and "learned tensor `s`" in d.message


def test_unet_exports_with_dynamic_sizes():
    """torch.export traces the tuple a block returns and its unpacking, with
    a dynamic batch and input sizes (multiples of 4, as the docstring says)."""
    _, cls = _model(UNET, "UNet2")
    model = cls().eval()
    batch, h, w = torch.export.Dim("B", min=2, max=8), torch.export.Dim("h", min=2, max=16), torch.export.Dim("w", min=2, max=16)
    program = torch.export.export(model, (torch.randn(2, 3, 16, 20),), dynamic_shapes=({0: batch, 2: 4 * h, 3: 4 * w},))
    image = torch.randn(3, 3, 12, 24)
    with torch.no_grad():
        assert torch.allclose(program.module()(image), model(image), atol=1e-6)
