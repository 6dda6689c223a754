"""`legoc summary` against torchinfo: for every example, the generated module
summarised by torchinfo 1.8 (a forward pass through the real model) gives the
same totals, and the same rows, as legoc's static summary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch
import torchinfo
from torchinfo.enums import ColumnSettings

from legoc.ir import symbolic as sy
from legoc.compiler import compile_source
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import instantiate
from legoc.tools.summary import summarize
from legoc.tools.summary_columns import cells

from conftest import build_example, example_names, load_module

SIDE = 64  # the size given to every symbolic input axis (H, W, T): a multiple of every example's rule


def _build(name: str, batch: int):
    built = build_example(name, SIDE)
    summary = summarize(built.instance, batch)
    module = getattr(load_module(built.compiled.code, name), built.instance.class_name)()
    data = [torch.randint(0, 100, (batch, *shape)) if ids else torch.randn(batch, *shape) for shape, ids in zip(built.sizes, built.token_ids)]
    stats = torchinfo.summary(module, input_data=data, depth=100, verbose=0, mode="eval")
    return summary, module, stats


@pytest.fixture(scope="module", params=[1, 2], ids=["batch1", "batch2"])
def batch(request):
    return request.param


@pytest.mark.parametrize("name", example_names())
def test_totals_equal_torchinfo(name, batch):
    summary, module, stats = _build(name, batch)
    totals = summary.totals
    assert totals.params == stats.total_params
    assert totals.trainable == stats.trainable_params
    assert totals.mult_adds == stats.total_mult_adds
    assert totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    # torchinfo's "Params size" adds up the leaf modules' parameters only, so
    # it leaves out a learned tensor that a module holds itself (ConvNeXt's
    # layer_scale); legoc's is 4 bytes per parameter (docs/summary.md).
    held = sum(p.numel() * p.element_size() for m in module.modules() if list(m.children()) for p in m.parameters(recurse=False))
    # Nor does it count a module that forward never calls: Swin's attention
    # applies its qkv and proj layers' weights with F.linear, as torchvision's,
    # and nn.MultiheadAttention its out_proj's.
    called = {id(info.module) for info in stats.summary_list}
    held += sum(p.numel() * p.element_size() for m in module.modules() if id(m) not in called for p in m.parameters(recurse=False))
    assert totals.params_mb == pytest.approx((stats.total_param_bytes + held) / 1e6)
    # torchinfo sizes an input with sys.getsizeof of its storage, which adds
    # the Python object's own bytes (64 here) to the data legoc counts.
    overhead = stats.total_input - round(totals.input_mb * 1e6)
    assert 0 <= overhead <= 100 * len(summary.inputs)


@pytest.mark.parametrize("name", example_names())
def test_rows_equal_torchinfo(name, batch):
    """Every module call torchinfo sees is a row of legoc's summary, in the
    same order, with the same output shape, parameters and mult-adds."""
    summary, module, stats = _build(name, batch)
    paths = {id(m): path for path, m in module.named_modules()}
    theirs = [(paths[id(info.module)], info.class_name, info.output_size, info.num_params, info.macs, info.is_leaf_layer) for info in stats.summary_list if info.depth > 0]
    ours = [(row.path, row.kind, list(row.shape), row.params, row.mult_adds, row.leaf) for row in summary.rows if row.path is not None and row.kind != "Parameter"]
    # A learned tensor is a row of its own in legoc's summary, not a module call: its key and shape are the module's parameter's.
    parameters = dict(module.named_parameters())
    for row in summary.rows:
        if row.kind == "Parameter":
            assert list(parameters[row.path].shape) == list(row.shape) and row.params == parameters[row.path].numel(), row.path
    assert [r[:2] for r in ours] == [r[:2] for r in theirs]
    for mine, real in zip(ours, theirs):
        assert mine[2] == real[2], f"{mine[0]}: output shape"
        assert mine[3] == real[3], f"{mine[0]}: parameters"
        if real[5]:  # torchinfo counts mult-adds at the leaves only
            assert mine[4] == real[4], f"{mine[0]}: mult-adds"
    # `--columns input_size,kernel_size`: the first input and the kernel_size attribute, as torchinfo's
    inputs = [(list(r.input_shape), list(r.kernel) if isinstance(r.kernel, tuple) else r.kernel) for r in summary.rows if r.path is not None and r.kind != "Parameter"]
    assert inputs == [(info.input_size, info.kernel_size) for info in stats.summary_list if info.depth > 0]


# ------------------------------------------------------------ random specs


@st.composite
def _specs(draw):
    """A valid random model: convolutions, pools, residuals (add and cat, with
    and without projections), parallel branches, repeated groups, upsampling,
    then a head over channels or over positions."""
    side = draw(st.sampled_from([8, 12, 16]))
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        c = draw(st.integers(1, 6))
        kind = draw(st.sampled_from(["conv", "bn", "pool", "avgpool", "res", "rescat", "parallel", "repeat", "upsample", "block"]))
        if kind == "conv":
            stride = 2 if side >= 4 and draw(st.booleans()) else 1
            text = f"conv {c} kernel_size={draw(st.sampled_from([1, 3]))} stride={stride} bias={draw(st.sampled_from(['true', 'false']))}"
            side = (side - 1) // stride + 1
        elif kind == "bn":
            text = "bn"
        elif kind in ("pool", "avgpool") and side >= 4:
            text = f"{'maxpool' if kind == 'pool' else 'avgpool'} 2"
            side //= 2
        elif kind == "res":
            text = f"res add < conv3x3_bn_act {c}; conv3x3_bn {c} > shortcut conv1x1_bn"
        elif kind == "rescat":
            text = f"res cat < conv {c} kernel_size=3; relu > shortcut conv {draw(st.integers(1, 4))} kernel_size=1"
        elif kind == "parallel":
            text = f"cat < conv {c} kernel_size=1 | conv {c} kernel_size=3; bn | identity >"
        elif kind == "repeat":
            text = f"repeat {draw(st.integers(1, 3))} < conv {c} kernel_size=3; bn; relu >"
        elif kind == "upsample" and side <= 16:
            text = f"upsample 2 mode=\"{draw(st.sampled_from(['nearest', 'bilinear']))}\""
            side *= 2
        else:
            text = f"double {c}"
        lines.append(text)
    head = draw(st.sampled_from(["channels", "positions", "none"]))
    if head == "channels":
        lines += ["avgpool", "flatten", f"linear {draw(st.integers(1, 10))}"]
    elif head == "positions":
        lines += ['rearrange "c h w -> (h w) c"', "layernorm", f"linear {draw(st.integers(1, 10))}", "softmax"]
    body = "".join(f"    {line}\n" for line in lines)
    blocks = "block double(c):\n    conv3x3_bn_act c\n    conv3x3_bn_act c\n\n"
    return blocks + f"model Net():\n    input [{draw(st.integers(1, 4))}, {draw(st.sampled_from([8, 12, 16]))}, H]\n{body}", side


@settings(max_examples=40, deadline=None)
@given(_specs(), st.integers(1, 3), st.sampled_from([8, 12, 16]))
def test_random_specs_equal_torchinfo(case, batch, width):
    spec, _ = case
    compiled = compile_source(spec, "random.lego")
    (ir,) = [c for c in compiled.analysis.classes if c.kind == "model"]
    shape = tuple(width if sy.value_of(e) is None else sy.value_of(e) for e in ir.input)
    instance = instantiate(compiled.analysis, "Net", bind_inputs(ir, [(None, shape)]))
    summary = summarize(instance, batch)
    module = load_module(compiled.code).Net()
    stats = torchinfo.summary(module, input_data=[torch.randn(batch, *shape)], depth=100, verbose=0, mode="eval")
    assert (summary.totals.params, summary.totals.mult_adds) == (stats.total_params, stats.total_mult_adds)
    assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    paths = {id(m): path for path, m in module.named_modules()}
    theirs = [(paths[id(i.module)], i.class_name, i.output_size, i.num_params) for i in stats.summary_list if i.depth > 0]
    assert [(r.path, r.kind, list(r.shape), r.params) for r in summary.rows if r.path is not None] == theirs
    # torchinfo's columns (`legoc summary --columns`), cut from its printed rows, at several depths
    columns = ("input_size", "output_size", "num_params", "params_percent", "kernel_size", "mult_adds", "trainable")
    stats.formatting.col_names = tuple(ColumnSettings(c) for c in columns)
    fmt = stats.formatting
    for depth in (1, 2, 100):
        lines = [fmt.layer_info_to_row(i, i.depth == depth, stats.total_params).rstrip("\n")[fmt.layer_name_width + 1 :] for i in stats.summary_list if 0 < i.depth <= depth]
        real = [[line[k * (fmt.col_width + 1) : (k + 1) * (fmt.col_width + 1)].strip() for k in range(len(columns))] for line in lines]
        shown = [r for r in summary.rows if r.depth <= depth]
        mine = [c for r, c in zip(shown, cells(summary, columns, depth)) if r.path is not None]
        assert mine == real, depth
