"""Every generated block class is right for every argument its constructor
takes, not only for the values the spec's models pass (issue 16).

For each block class of each example (and of a few specs below that repeat
a layer a number of times given by an argument), the class is built in torch
with several argument tuples: the spec's defaults, counts 0 to 3 for every
parameter used as a repeat count, more input channels than the block's
output (so that the first repetition of a repeat changes the channels), more
channels for the block's first parameter, and strides 1 and 2 where the
block has a `stride` parameter, in every combination. For each tuple,
legoc's own analysis of a call of the block with those values
(`instance.call_block`, `instance.instantiate_block`) says whether the call
is valid and, if it is, what the class builds; torch must agree:

- the leaf modules, by path and class (so the layer count), with each one's
  output shape on a small input;
- the parameter count (the analysis's and the summary's);
- the output shapes.

Where legoc rejects a tuple, the class built with it must not quietly give
what legoc promises for the block: it fails in torch, or its output differs
from the block's documented output with those values.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import pytest
import torch

from conftest import EXAMPLES, example_names, load_module
from legoc.ir import symbolic as sy
from legoc.compiler import check_source, compile_source
from legoc.core.diagnostics import SpecError
from legoc.tools.instance import InstanceError, call_block, instantiate_block
from legoc.ir.nodes import Layer, LayerRef, Repeat, walk
from legoc.tools.summary import summarize

# Specs whose blocks repeat a layer a number of times given by an argument,
# with the first repetition built differently (it changes the channels, or
# a block parameter keeps the shape only for some values).
EXTRA = {
    # The spec: `Stage(8, 16, 1, k=3)` built 2 convolutions.
    "stage_kernel": """
block stage(cout, n, k=3):
    conv cout
    repeat (n - 1) conv cout kernel_size=k

model M(k=3, n=2):
    input [3, 16, 16]
    stage 8 n k=k
""",
    # The first repetition changes the channels (in_channels -> c), in an
    # nn.Sequential class and as an attribute of an nn.Module class, for a
    # layer and for a group.
    "first_repetition_widens": """
block widen(c, n):
    repeat n conv c

block widen_group(c, n):
    repeat n < conv c bias=false; bn; relu >

block headed(c, n, stride=1):
    repeat n conv c
    tail: conv c stride=stride
    relu

model M(n=2):
    input [3, 16, 16]
    widen 8 n
    widen_group 8 n
    headed 4 n stride=2
""",
}

SPECS = sorted(example_names()) + sorted(EXTRA)

# Inputs and arguments to start from where every input size 8 and every
# required argument 8 do not make a valid call.
BASE = {
    "shuffle_add": ([(24, 8, 8)], {"c": 24}),
    "shuffle_concat": ([(24, 8, 8)], {"c": 24, "bottleneck": 6}),
    "up": ([(8, 4, 4), (8, 8, 8)], {}),
    # four halvings after a stride-4 stem; few, narrow layers
    "dense_features": ([(3, 64, 64)], {"growth": 4, "num_init_features": 8}),
    # ConvNeXt's drop probabilities are probabilities.
    "cn_block": ([(8, 8, 8)], {"stochastic_depth_prob": 0.1}),
    "cn_stage": ([(8, 8, 8)], {"first": 0, "total": 4, "stochastic_depth_prob": 0.1, "layer_scale": 1e-6}),
    # EfficientNet's blocks: a drop probability from 0 to 1, and a block
    # index within the total.
    **{name: ([(8, 8, 8)], {"stochastic_depth_prob": 0.2, "first": 1, "total": 16}) for name in ("fused_stage", "mbconv_stage")},
    **{name: ([(8, 8, 8)], {"stochastic_depth_prob": 0.2, "block_id": 1, "total": 16}) for name in ("mbconv", "fused_mbconv")},
    # ViT's patch embedding: a 16x16 convolution of stride 16
    "patch_embed": ([(3, 32, 32)], {}),
    # GPT-2's embeddings and blocks: token ids [T], T at most n_positions, heads dividing the width.
    "gpt2_model": ([(8,)], {"vocab_size": 16, "n_positions": 8, "n_embd": 8, "n_layer": 1, "n_head": 2, "pdrop": 0.1}),
    # Swin's blocks on channels-last [H, W, C] maps: heads dividing C, a shift inside the window.
    "swin_block": ([(8, 8, 8)], {"num_heads": 2, "window_size": 4, "shift_size": 2, "stochastic_depth_prob": 0.1}),
    "swin_stage": ([(8, 8, 8)], {"num_heads": 2, "window_size": 4, "first": 0, "total": 4, "stochastic_depth_prob": 0.1}),
}
# More (input shapes, arguments) tuples for blocks whose parameter must equal
# an input size, which the tuples above change one at a time: ViT's encoder
# adds a position embedding of `seq_length` tokens to its input's T.
MORE = {
    "encoder": [([(5, 8)], {"seq_length": 5}), ([(5, 12)], {"seq_length": 5, "num_heads": 3})],
}
COUNTS = (0, 1, 2, 3)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: threads only cost time (on CI's 2 cores, a lot)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@lru_cache(maxsize=None)
def compiled(spec: str):
    """(analysis, generated module) of an example or an EXTRA spec."""
    text = EXTRA[spec] if spec in EXTRA else (EXAMPLES / f"{spec}.lego").read_text()
    result = compile_source(text, f"{spec}.lego")
    return result.analysis, load_module(result.code, spec)


def block_cases() -> list[tuple[str, str]]:
    cases = []
    for spec in SPECS:
        analysis, _ = compiled(spec)
        cases += [(spec, ir.name) for ir in analysis.classes if ir.kind == "block"]
    return cases


def count_values(ir) -> dict[str, dict[int, int]]:
    """For each parameter used in a repeat count: the parameter's value
    that makes every count it decides 0, 1, 2 or 3, by that count."""
    found: dict[str, dict[int, int]] = {}
    for node in walk(ir.body):
        if not isinstance(node, Repeat):
            continue
        for p in ir.params:
            syms = [s for s in sy.free_symbols(node.count) if s.code == p.code]
            if not syms:
                continue
            for value in range(-2, 10):
                count = sy.value_of(sy.substitute(node.count, {s.key: sy.Const(value) for s in syms}))
                if count in COUNTS:
                    found.setdefault(p.name, {})[count] = value
    return found


def argument_tuples(ir) -> list[tuple[list[tuple[int, ...]], dict]]:
    """The (input shapes, arguments) tuples a block is built with."""
    shapes, values = BASE.get(ir.name, ([(8,) * len(port.shape) for port in ir.inputs], {}))
    values = {p.name: 8 for p in ir.params if p.default is None} | values
    counts = count_values(ir)
    sized = [p.name for p in ir.params if p.default is None and p.name not in counts]
    channels = [(shapes, {})]
    channels.append(([(2 * shapes[0][0], *shapes[0][1:]), *shapes[1:]], {}))  # in_channels != c
    if sized:
        channels.append((shapes, {sized[0]: 2 * values[sized[0]]}))
    # Every size twice as large: a residual block stays valid.
    channels.append(([tuple(2 * x for x in shape) for shape in shapes], {name: 2 * values[name] for name in sized}))
    axes = [channels]
    axes += [[(None, {name: value}) for value in by_count.values()] for name, by_count in counts.items()]
    if any(p.name == "stride" for p in ir.params):
        axes.append([(None, {"stride": 1}), (None, {"stride": 2})])
    # One more than its default for each other whole-number parameter
    # (`kernel_size=k`, `groups=g`, a hidden width), one at a time.
    others = {
        p.name: sy.value_of(p.default)
        for p in ir.params
        if p.name not in counts and p.name != "stride" and type(sy.value_of(p.default)) is int  # noqa: E721 - not a bool
    }
    axes.append([(None, {})] + [(None, {name: default + 1}) for name, default in others.items()])
    tuples = []
    for combination in itertools.product(*axes):
        chosen_shapes, chosen = shapes, dict(values)
        for s, v in combination:
            chosen_shapes = s if s is not None else chosen_shapes
            chosen |= v
        tuples.append((chosen_shapes, chosen))
    return tuples + [(more_shapes, values | more) for more_shapes, more in MORE.get(ir.name, [])]


def build(module, call):
    """The generated class built with `call.args`; a layer-valued argument
    (`nn.ReLU`) is looked up in the generated module's namespace."""
    args = [eval(a.code, vars(module)) if isinstance(a, LayerRef) else a for a in call.args]
    return getattr(module, call.class_name)(*args)


# Modules whose forward applies their children's weights itself (torchvision's
# Swin attention: F.linear with qkv's and proj's): leaves of the forward pass.
APPLIES_ITS_CHILDREN = ("ShiftedWindowAttention", "MultiheadAttention")


def leaf_modules(model):
    """(path, module) of every torch layer inside `model`: the modules
    without children, but for an empty nn.Sequential (a repeat of count 0,
    which legoc's analysis unrolls to no call); a module that applies its
    children's weights itself is a leaf, its children are not."""
    inner = [name + "." for name, m in model.named_modules() if type(m).__name__ in APPLIES_ITS_CHILDREN]
    return [
        (name, m)
        for name, m in model.named_modules()
        if name and not name.startswith(tuple(inner))
        and (type(m).__name__ in APPLIES_ITS_CHILDREN or not list(m.children()) and not isinstance(m, torch.nn.Sequential))
    ]


def run(model, shapes, tokens: bool = False):
    """Forward pass in eval mode on a batch of 2; the output shapes (no batch
    axis) and each leaf module's output shape, by path. With `tokens`, the
    inputs are token ids (an embedding reads them)."""
    seen: dict[str, tuple[int, ...]] = {}
    hooks = [
        # (nn.MultiheadAttention returns the output and the attention weights, here None)
        m.register_forward_hook(lambda _m, _i, out, name=name: seen.__setitem__(name, tuple((out[0] if isinstance(out, tuple) else out).shape[1:])))
        for name, m in leaf_modules(model)
    ]
    model.eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        make = (lambda shape: torch.randint(0, 8, (2, *shape), generator=generator)) if tokens else (lambda shape: torch.randn(2, *shape, generator=generator))
        out = model(*(make(shape) for shape in shapes))
    for h in hooks:
        h.remove()
    outs = list(out.values()) if isinstance(out, dict) else [out]
    return [tuple(o.shape[1:]) for o in outs], seen


def ints(shape) -> tuple:
    return tuple(sy.value_of(e) for e in shape)


@pytest.mark.parametrize("spec, block", block_cases(), ids=[f"{s}-{b}" for s, b in block_cases()])
def test_block_class_matches_the_analysis_for_every_argument_tuple(spec, block):
    analysis, module = compiled(spec)
    ir = next(c for c in analysis.classes if c.name == block and c.kind == "block")
    accepted: list[dict] = []
    tokens = any(isinstance(n, Layer) and n.ctor.target == "nn.Embedding" for n in walk(ir.body))
    for shapes, values in argument_tuples(ir):
        where = f"{block} on {shapes} with {values}"
        call = call_block(analysis, block, shapes, values)
        if call.errors:
            try:
                outs, _ = run(build(module, call), shapes, tokens)
            except (RuntimeError, ValueError, TypeError, ZeroDivisionError, AssertionError, IndexError):
                continue  # torch rejects it too (nn.MultiheadAttention asserts its heads divide the width)
            assert outs != [ints(o) for o in call.outputs], f"{where}: legoc says {call.errors}, but torch builds and runs it as documented"
            continue
        accepted.append(values)
        instance = instantiate_block(analysis, block, shapes, values)
        # A learned tensor (`layer_scale: param [...]`) is a parameter of its
        # module, not a module: its shape is compared with the state_dict.
        leaves = [op for op in instance.ops if op.leaf and op.path is not None and op.kind != "Parameter"]
        tensors = {op.path: ints(op.shape) for op in instance.ops if op.kind == "Parameter"}
        model = build(module, call)
        assert {k: tuple(v.shape) for k, v in model.named_parameters() if k in tensors} == tensors, where
        modules = {name: type(m).__name__ for name, m in leaf_modules(model)}
        assert modules == {op.path: op.kind for op in leaves}, where
        assert len(modules) == len(leaves), where
        n_params = sum(p.numel() for p in model.parameters())
        assert n_params == sy.value_of(call.n_params) == summarize(instance).totals.params, where
        outs, seen = run(model, shapes, tokens)
        assert outs == [ints(o) for o in call.outputs], where
        assert outs == [ints(instance.tensors[t].shape) for _, t in instance.outputs], where
        # (positions have no batch axis: the hook's shape[1:] leaves out their first)
        assert seen == {op.path: ints(op.shape) if op.batched else ints(op.shape)[1:] for op in leaves}, where
    assert len(accepted) >= 3, f"only {len(accepted)} argument tuples of {block} are valid: choose others (BASE)"
    for name, by_count in count_values(ir).items():
        for count in (0, 1):
            if count in by_count:
                assert any(v[name] == by_count[count] for v in accepted), f"{block}: no valid tuple has a repeat count of {count}"


def test_every_spec_has_a_block_with_a_repeat_count_argument_where_expected():
    """The tuples reach what the issue is about: blocks whose repeat count
    is an argument, in ResNet's stages and in the EXTRA specs."""
    with_counts = {(spec, block) for spec, block in block_cases() if count_values(next(c for c in compiled(spec)[0].classes if c.name == block))}
    assert {("resnet18", "stage"), ("resnet34", "stage"), ("resnet50", "stage"), ("stage_kernel", "stage")} <= with_counts
    assert {("first_repetition_widens", b) for b in ("widen", "widen_group", "headed")} <= with_counts


# ------------------------------------------------------- the reports


def test_a_stage_built_with_one_repetition_holds_one_convolution():
    """`conv cout; repeat (n - 1) conv cout kernel_size=k` with n = 1: the
    repeat is empty. The generated class built 2 convolutions (the first
    repetition split out, then `range(n - 2)`)."""
    _, module = compiled("stage_kernel")
    for n in range(4):
        stage = module.Stage(8, 16, n, k=3)
        assert len(stage) == max(n, 1), n
        assert [m.in_channels for m in stage] == [8] + [16] * (n - 1)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_a_repeat_whose_first_repetition_widens_builds_n_repetitions(n):
    _, module = compiled("first_repetition_widens")
    widen = module.Widen(3, 8, n)
    assert [(m.in_channels, m.out_channels) for m in widen] == ([(3, 8)] + [(8, 8)] * (n - 1) if n else [])
    group = module.WidenGroup(3, 8, n)
    assert len(group) == n and all(len(g) == 3 for g in group)
    headed = module.Headed(3, 4, n)
    assert [m.in_channels for m in headed.conv_blocks] == ([3] + [4] * (n - 1) if n else [])


def test_a_count_of_zero_is_accepted_where_the_repetition_keeps_the_shape():
    spec = EXTRA["stage_kernel"].replace("model M(k=3, n=2)", "model M(k=3, n=1)")
    check_source(spec, "t.lego")  # no LG308: a 3x3 convolution on `cout` channels keeps the shape
    with pytest.raises(SpecError) as info:
        check_source(spec.replace("k=3, n=1", "k=4, n=1"), "t.lego")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("LG308", 4, 13)
    assert d.message == "this repeat changes the shape from [8, 16, 16] to [8, 15, 15], so it needs a count of at least 1, not 0"


def test_a_negative_count_is_one_error():
    with pytest.raises(SpecError) as info:
        check_source("model Net(n=0):\n    input [3, 32, 32]\n    repeat n - 1 conv 8\n", "t.lego")
    assert [d.code for d in info.value.diagnostics] == ["LG401"]


def test_call_block_reports_what_a_caller_would_be_told():
    analysis, _ = compiled("stage_kernel")
    assert call_block(analysis, "stage", [(8, 8, 8)], {"cout": 8, "n": 1}).errors == ()
    assert call_block(analysis, "stage", [(8, 8, 8)], {"cout": 8, "n": 1, "k": 4}).errors == (
        "LG308: this repeat changes the shape from [8, 8, 8] to [8, 7, 7], so it needs a count of at least 1, not 0",
    )
    assert call_block(analysis, "stage", [(8, 8, 8)], {"cout": 8, "n": 0}).errors == ("LG401: the repeat count must not be negative, not -1",)
    call = call_block(analysis, "stage", [(4, 8, 8)], {"cout": 8, "n": 3})
    assert call.args == (4, 8, 3, 3) and call.class_name == "Stage"
    assert [ints(o) for o in call.outputs] == [(8, 8, 8)] and sy.value_of(call.n_params) == 4 * 8 * 9 + 8 + 2 * (8 * 8 * 9 + 8)
    for shapes, values, message in [
        ([(8, 8)], {"cout": 8, "n": 1}, "takes 1 input"),
        ([(8, 8, 8)], {"n": 1}, "needs a value for `cout`"),
        ([(8, 8, 8)], {"cout": 8, "n": 1, "m": 2}, "has no parameter `m`"),
    ]:
        with pytest.raises(InstanceError, match=message):
            call_block(analysis, "stage", shapes, values)
    with pytest.raises(InstanceError, match="legoc rejects `stage`"):
        instantiate_block(analysis, "stage", [(8, 8, 8)], {"cout": 8, "n": 0})
