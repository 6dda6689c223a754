"""The generated code's style where pep8 and pep8-naming have a say:
lowercase locals for the input sizes the checks read (N806), and the
meaning those checks keep under their new names."""

from __future__ import annotations

import pytest
import torch

from conftest import load_module
from legoc.compiler import compile_source

# Two tensors called `h` and `w`: the sizes H and W need other locals.
TAKEN = """
model M():
    input x: [3, H, W]
    h = x -> maxpool 2
    w = x -> maxpool 2
    output y = (h, w) -> add
"""


def test_input_sizes_are_read_into_lowercase_locals_that_no_tensor_takes():
    code = compile_source(TAKEN, "taken.lego").code
    assert "h_1 = x.shape[2]" in code and "w_1 = x.shape[3]" in code
    assert 'f"M: H must be at least 2 (axis 2 of x), got {h_1}"' in code  # the spec's name in the message
    assert "H = " not in code and "W = " not in code
    model = load_module(code).M()
    assert model(torch.zeros(1, 3, 4, 6)).shape == (1, 3, 2, 3)
    with pytest.raises(AssertionError, match=r"H must be at least 2 \(axis 2 of x\), got 1"):
        model(torch.zeros(1, 3, 1, 6))
