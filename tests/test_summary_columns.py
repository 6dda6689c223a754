"""`legoc summary --columns` and `--dtype` against torchinfo 1.8: the cells of
torchinfo's own printed table (`col_names`, `depth`) for the generated module
equal legoc's, row by row, and the memory estimates equal torchinfo's for the
module converted with `.to(dtype)`."""

from __future__ import annotations

import dataclasses
import functools

import pytest
import torch
import torchinfo

from legoc.tools.summary import summarize, to_text
from legoc.tools.summary_columns import COLUMNS, cells

from conftest import EXAMPLES, build_example, load_module

TORCHINFO = ("input_size", "output_size", "num_params", "params_percent", "kernel_size", "mult_adds", "trainable")
SIDE = 32


@functools.cache
def _module(name: str, **settings):
    """The example's instance and its generated module, built with its
    defaults or with `settings` (a smaller ViT)."""
    built = build_example(name, SIDE)
    if settings:
        from legoc.compiler import check_source
        from legoc.tools.inputs import bind_inputs
        from legoc.tools.instance import instantiate

        analysis = check_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego", settings=settings)
        model = built.instance.model
        ir = analysis.defaults[model]
        built = dataclasses.replace(built, instance=instantiate(analysis, model, bind_inputs(ir, [(None, s) for s in built.sizes])))
    module = getattr(load_module(built.compiled.code, name), built.instance.class_name)(**settings)
    return built, module


def _data(built, batch: int, dtype=torch.float32):
    return [torch.randint(0, 100, (batch, *shape)) if ids else torch.randn(batch, *shape, dtype=dtype) for shape, ids in zip(built.sizes, built.token_ids)]


def _their_cells(stats, depth: int) -> list[list[str]]:
    """The cells of torchinfo's printed rows, cut at its column widths."""
    fmt = stats.formatting
    out = []
    for info in stats.summary_list:
        if info.depth == 0 or info.depth > depth:
            continue
        line = fmt.layer_info_to_row(info, info.depth == depth, stats.total_params).rstrip("\n")
        rest = line[fmt.layer_name_width + 1 :]
        out.append([rest[i * (fmt.col_width + 1) : (i + 1) * (fmt.col_width + 1)].strip() for i in range(len(fmt.col_names))])
    return out


SMALL_VIT = (("num_layers", 1), ("num_heads", 2), ("hidden_dim", 32), ("mlp_dim", 32), ("num_classes", 10))
SMALL_SWIN = (("embed_dim", 24), ("classes", 10))
CASES = [("resnet18", 1, ()), ("resnet18", 2, ()), ("resnet18", 3, ()), ("resnet18", 4, ()), ("unet", 2, ()), ("rnn_lm", 2, ()),
         ("convnext_tiny", 3, ()), ("vit_b_16", 3, SMALL_VIT), ("vit_b_16", 4, SMALL_VIT), ("swin_t", 4, SMALL_SWIN), ("swin_t", 5, SMALL_SWIN)]


@pytest.mark.parametrize("name,depth,settings", CASES, ids=[f"{n}-depth{d}" for n, d, _ in CASES])
def test_columns_equal_torchinfo(name, depth, settings):
    """Every module row: torchinfo's input and output shapes, its parameter
    count and share (the whole count at the deepest row shown, a module's
    own parameters above), kernel shape, mult-adds and trainable flag."""
    built, module = _module(name, **dict(settings))
    batch = 2
    stats = torchinfo.summary(module, input_data=_data(built, batch), depth=depth, col_names=TORCHINFO, verbose=0, mode="eval")
    summary = summarize(built.instance, batch)
    shown = [r for r in summary.rows if r.depth <= depth]
    ours = [c for r, c in zip(shown, cells(summary, TORCHINFO, depth)) if r.path is not None and r.kind != "Parameter"]
    theirs = _their_cells(stats, depth)
    assert len(ours) == len(theirs)
    paths = [r.path for r in shown if r.path is not None and r.kind != "Parameter"]
    for path, mine, real in zip(paths, ours, theirs):
        assert dict(zip(TORCHINFO, mine)) == dict(zip(TORCHINFO, real)), path


def test_headers_are_torchinfos():
    from torchinfo.formatting import HEADER_TITLES
    from torchinfo.enums import ColumnSettings

    assert {c: COLUMNS[c] for c in TORCHINFO} == {c: HEADER_TITLES[ColumnSettings(c)] for c in TORCHINFO}
    built, _ = _module("convnet")
    text = to_text(summarize(built.instance), 3, TORCHINFO)
    assert text.splitlines()[2].split() == ["Layer", "(path)", "Kind", "Input", "Shape", "Output", "Shape", "Param", "#", "Param", "%", "Kernel", "Shape", "Mult-Adds", "Trainable"]
    assert "* Other ops:" not in text


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("name", ["convnet", "rnn_lm"])
def test_dtype_memory_equals_torchinfo(name, dtype):
    """--dtype: torchinfo's memory figures for the module converted with
    .to(dtype) and inputs of that dtype (token ids stay int64)."""
    built, module = _module(name)
    kind = getattr(torch, dtype)
    converted = module.to(kind)
    try:
        stats = torchinfo.summary(converted, input_data=_data(built, 2, kind), depth=100, verbose=0, mode="eval")
    finally:
        module.to(torch.float32)
    totals = summarize(built.instance, 2, dtype).totals
    assert totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    assert totals.params_mb == pytest.approx(stats.total_param_bytes / 1e6)
    overhead = stats.total_input - round(totals.input_mb * 1e6)  # sys.getsizeof's object header (docs/summary.md)
    assert 0 <= overhead <= 100 * len(built.sizes)
    assert totals.total_mb == pytest.approx((stats.total_input - overhead + stats.total_output_bytes + stats.total_param_bytes) / 1e6)


@pytest.mark.parametrize("name,shape", [("resnet18", (3, 96, 128)), ("style_transfer", (3, 48, 80))])
def test_input_in_place_of_a_fixed_size_equals_torchinfo(name, shape):
    """`--input` in place of the spec's fixed size: the spec checked again at
    that size describes the generated module (built for the spec's size)
    run at it, row by row and in the totals."""
    from legoc.compiler import check_source
    from legoc.tools.inputs import bind_inputs
    from legoc.tools.instance import instantiate
    from legoc.tools.resize import check_same_layers, resized_source

    built, module = _module(name)
    model = built.instance.model
    text = (EXAMPLES / f"{name}.lego").read_text()
    new_text, note = resized_source(text, f"{name}.lego", built.compiled.analysis, model, [(None, shape)])
    assert note.endswith(f"as [{', '.join(map(str, shape))}] (--input) in place of the spec's [{', '.join(map(str, built.sizes[0]))}]")
    analysis = check_source(new_text, f"{name}.lego")
    instance = instantiate(analysis, model, bind_inputs(analysis.defaults[model], [(None, shape)]))
    check_same_layers(built.instance, instance)
    summary = summarize(instance, 2)
    stats = torchinfo.summary(module, input_data=[torch.randn(2, *shape)], depth=100, verbose=0, mode="eval")
    assert (summary.totals.params, summary.totals.mult_adds) == (stats.total_params, stats.total_mult_adds)
    assert summary.totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    rows = [(r.path, list(r.shape)) for r in summary.rows if r.path is not None and r.kind != "Parameter"]
    paths = {id(m): path for path, m in module.named_modules()}
    assert rows == [(paths[id(i.module)], i.output_size) for i in stats.summary_list if i.depth > 0]
