"""ReLUs that overwrite their input (`nn.ReLU(inplace=True)`, as torchvision
writes them) only where nothing else reads that input: the generated model
computes the same outputs and gradients as with every ReLU out of place.
"""

import pytest
import torch

from conftest import EXAMPLES, example_names
from legoc.compiler import compile_source
from legoc.codegen.layout import class_names

TRICKY = """
block pre_act(c):
    res add < relu; conv c kernel_size=3 >

model M():
    input [4, 8, 8]
    pre_act 4
    conv 4 kernel_size=3
    bn
    relu
    res add < conv 4 kernel_size=3; bn >
    relu
    relu
    repeat 2 < conv 4 kernel_size=3; bn; relu >
    add < relu | conv 4 kernel_size=3 >
    linear 6
    relu

model G():
    input x: [4, 8, 8]
    a = x -> conv 4 kernel_size=3
    b = a -> relu
    c = a -> bn -> relu
    output y = (a, b, c) -> cat
"""


def _load(text: str, name: str):
    compiled = compile_source(text, name)
    namespace: dict = {}
    exec(compile(compiled.code, name, "exec"), namespace)
    classes = class_names(compiled.analysis.classes)
    models = [ir for ir in compiled.analysis.classes if ir.kind == "model"]
    return compiled.code, [(namespace[classes[ir.name]], [tuple(p.shape) for p in compiled.analysis.defaults[ir.name].inputs]) for ir in models]


def _out_of_place(model):
    for module in model.modules():
        if isinstance(module, (torch.nn.ReLU, torch.nn.Hardswish)):
            module.inplace = False


def _same_outputs_and_gradients(cls, shapes, size_of=lambda d: int(str(d))):
    torch.manual_seed(0)
    model = cls()
    reference = cls()
    reference.load_state_dict(model.state_dict())
    _out_of_place(reference)
    inputs = [torch.randn(2, *(size_of(d) for d in shape)) for shape in shapes]
    for train in (False, True):
        model.train(train), reference.train(train)
        xs = [x.clone().requires_grad_(train) for x in inputs]
        refs = [x.clone().requires_grad_(train) for x in inputs]
        torch.manual_seed(1)  # the same dropout masks for both
        out = model(*xs)
        torch.manual_seed(1)
        want = reference(*refs)
        out = out if isinstance(out, dict) else {"y": out}
        want = want if isinstance(want, dict) else {"y": want}
        for key in want:
            assert torch.equal(out[key], want[key]), key
        assert all(torch.equal(x, r) for x, r in zip(xs, refs)), "an input was overwritten"
        if train:
            sum(o.sum() for o in out.values()).backward()  # autograd accepts every in-place op
            sum(w.sum() for w in want.values()).backward()
            assert all(torch.equal(x.grad, r.grad) for x, r in zip(xs, refs))


def test_which_relus_work_in_place():
    code, models = _load(TRICKY, "tricky.lego")
    assert [line.strip() for line in code.splitlines() if "nn.ReLU(" in line] == [
        "self.relu = nn.ReLU()",  # PreAct: first in the residual body, whose input is the identity
        "self.relu1 = nn.ReLU(inplace=True)",  # M: after bn
        "self.relu2 = nn.ReLU(inplace=True)",  # after the residual join
        "self.relu3 = nn.ReLU()",  # after a relu (whose backward reads its output)
        "nn.ReLU(inplace=True),",  # in the repeat, after bn
        "self.relu4 = nn.ReLU()",  # first in a parallel branch, whose input the other branch reads
        "self.relu5 = nn.ReLU(inplace=True)",  # after linear
        "self.relu1 = nn.ReLU()",  # G: `b = a -> relu`, and `a` is read again
        "self.relu2 = nn.ReLU(inplace=True)",  # `c = a -> bn -> relu`: after bn
    ]
    for cls, shapes in models:
        _same_outputs_and_gradients(cls, shapes)


def test_hardswish_works_in_place_as_relu_does():
    # MobileNetV3's classifier: nn.Hardswish(inplace=True) after a Linear,
    # and out of place where its input is read again.
    spec = """
model M():
    input [4, 8, 8]
    hardswish
    conv 4 kernel_size=3
    bn
    hardswish
    flatten
    linear 6
    hardswish
    hardsigmoid
"""
    code, models = _load(spec, "hs.lego")
    assert [line.strip() for line in code.splitlines() if "nn.Hard" in line] == [
        "self.hardswish1 = nn.Hardswish()",  # first: its input is forward's argument
        "self.hardswish2 = nn.Hardswish(inplace=True)",  # after bn
        "self.hardswish3 = nn.Hardswish(inplace=True)",  # after linear
        "self.hardsigmoid = nn.Hardsigmoid()",  # not one of IN_PLACE
    ]
    for cls, shapes in models:
        _same_outputs_and_gradients(cls, shapes)


# (The EfficientNets have no ReLU, only SiLU, and ViT and GPT-2 only GELU: nothing works in place there.)
@pytest.mark.parametrize("name", [n for n in example_names() if n not in ("rnn_lm", "vgg16", "mixer_b16", "efficientnet_b0", "efficientnet_v2_s", "vit_b_16", "vit_base_patch16_224", "gpt2")])
def test_examples_compute_the_same_with_relus_out_of_place(name):
    _, models = _load((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    sizes = {"H": 32, "W": 32}
    for cls, shapes in models:
        _same_outputs_and_gradients(cls, shapes, lambda d: sizes.get(str(d), None) or int(str(d)))
