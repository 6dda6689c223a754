"""`legoc summary` against torchinfo: for every example, the generated module
summarised by torchinfo 1.8 (a forward pass through the real model) gives the
same totals, and the same rows, as legoc's static summary."""

from __future__ import annotations

import pytest
import torch
import torchinfo

from legoc import symbolic as sy
from legoc.compiler import compile_source
from legoc.instance import bind_inputs, instantiate, model_names
from legoc.summary import summarize

from conftest import EXAMPLES, example_names, load_module

SIDE = 64  # the size given to every symbolic input axis (H, W, T): a multiple of every example's rule


def _build(name: str, batch: int):
    compiled = compile_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    analysis = compiled.analysis
    (model,) = model_names(analysis)
    ir = next(c for c in analysis.classes if c.name == model)
    given = [(None, tuple(SIDE if sy.value_of(e) is None else sy.value_of(e) for e in port.shape)) for port in ir.inputs]
    instance = instantiate(analysis, model, bind_inputs(ir, given))
    summary = summarize(instance, batch)
    module = getattr(load_module(compiled.code, name), instance.class_name)()
    data = []
    for (_, shape), tensor in zip(given, instance.inputs):
        if any(op.kind == "Embedding" and tensor in op.inputs for op in instance.ops):
            data.append(torch.randint(0, 100, (batch, *shape)))
        else:
            data.append(torch.randn(batch, *shape))
    stats = torchinfo.summary(module, input_data=data, depth=100, verbose=0, mode="eval")
    return summary, module, stats


@pytest.fixture(scope="module", params=[1, 2], ids=["batch1", "batch2"])
def batch(request):
    return request.param


@pytest.mark.parametrize("name", example_names())
def test_totals_equal_torchinfo(name, batch):
    summary, _, stats = _build(name, batch)
    totals = summary.totals
    assert totals.params == stats.total_params
    assert totals.trainable == stats.trainable_params
    assert totals.mult_adds == stats.total_mult_adds
    assert totals.forward_backward_mb == pytest.approx(stats.total_output_bytes / 1e6)
    assert totals.params_mb == pytest.approx(stats.total_param_bytes / 1e6)
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
    ours = [(row.path, row.kind, list(row.shape), row.params, row.mult_adds, row.leaf) for row in summary.rows if row.path is not None]
    assert [r[:2] for r in ours] == [r[:2] for r in theirs]
    for mine, real in zip(ours, theirs):
        assert mine[2] == real[2], f"{mine[0]}: output shape"
        assert mine[3] == real[3], f"{mine[0]}: parameters"
        if real[5]:  # torchinfo counts mult-adds at the leaves only
            assert mine[4] == real[4], f"{mine[0]}: mult-adds"
