"""The generated code's style where pep8 and pep8-naming have a say:
lowercase locals for the input sizes the checks read (N806), and the
meaning those checks keep under their new names; docstring and comment
lines wrapped to 88 columns (E501, W505) without losing a word."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, load_module
from legoc.codegen.wrapping import HANGING, wrap, wrap_comment
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


def test_a_docstring_line_breaks_between_shapes_with_a_hanging_indent():
    text = "Returns a dict of tensors: 'label' [B, classes], 'mask' [B, segments, (H + 7) // 8 * 8, (W + 7) // 8 * 8]."
    assert wrap(text, 84, 81) == [
        "Returns a dict of tensors: 'label' [B, classes],",
        "    'mask' [B, segments, (H + 7) // 8 * 8, (W + 7) // 8 * 8].",
    ]


def test_a_shape_too_long_for_a_line_breaks_between_its_sizes_then_at_operators():
    line = " " * 12 + "# [B, c, (H - (kernel_size + 1) % 2 - 1) // stride + 1, (W - (kernel_size + 1) % 2 - 1) // stride + 1]"
    assert wrap_comment(line, 88) == [
        " " * 12 + "# [B, c, (H - (kernel_size + 1) % 2 - 1) // stride + 1,",
        " " * 12 + "#     (W - (kernel_size + 1) % 2 - 1) // stride + 1]",
    ]
    size = "(H - (kernel + 1) % 2 - 1) // stride + 1 if make_divisible(expand_ratio * in_channels, 8) != in_channels else H"
    assert wrap(f"[B, {size}]", 60) == [  # not inside make_divisible(...)
        "[B, (H - (kernel + 1) % 2 - 1) // stride + 1 if",
        "    make_divisible(expand_ratio * in_channels, 8) !=",
        "    in_channels else H]",
    ]


def test_text_that_fits_is_left_as_it_is():
    assert wrap("a,  b  c", 8) == ["a,  b  c"]
    assert wrap_comment("    # [B, 3, H, W]", 88) == ["    # [B, 3, H, W]"]


_TEXT = st.lists(st.sampled_from(["a", "bb", "ccc,", "(", ")", "[d,", "e]", "x" * 30, " "]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_TEXT, st.integers(min_value=8, max_value=60))
def test_wrapping_loses_nothing_and_fits_where_it_can_break(text, width):
    lines = wrap(text, width, max(width - 3, 1))
    assert "\n".join(lines).replace("\n" + HANGING, " ") == text  # only single spaces became breaks
    for i, line in enumerate(lines):
        limit = width if i else max(width - 3, 1)
        body = line[len(HANGING) :] if i else line
        # a line too long is one word: no single space between two words in it
        assert len(line) <= limit or not any(
            body[j] == " " and body[j - 1] != " " and body[j + 1] != " " for j in range(1, len(body) - 1)
        )


def test_every_generated_docstring_and_comment_fits_in_88_columns():
    for name in ("efficientnet_v2_s", "multitask", "densenet121"):
        path = EXAMPLES / f"{name}.lego"
        code = compile_source(path.read_text(), str(path)).code
        long = [line for line in code.split("\n") if len(line) > 88]
        assert not long, long


def test_merging_back_the_heads_a_rearrange_split_gives_the_width():
    # `b t (h d) -> b h t d` with h=n_head checks that n_head divides the
    # width (LG304), so `b h t d -> b t (h d)` gives in_features back, not
    # `in_features // n_head * n_head` (symbolic.exact_floordiv).
    path = EXAMPLES / "gpt2.lego"
    code = compile_source(path.read_text(), str(path)).code
    assert "self.c_proj = nn.Linear(in_features, in_features)" in code
    assert "out = a.permute(0, 2, 1, 3).flatten(2, 3)  # [B, T, in_features]" in code
    assert "// n_head * n_head" not in code


def test_a_long_module_docstring_is_wrapped_as_black_leaves_it():
    import black

    spec = "".join(f"model AVeryLongModelNameNumber{i}():\n    input [3, 8, 8]\n    relu\n\n" for i in range(6))
    code = compile_source(spec, "m.lego").code
    assert code.split("\n")[2:6] == [
        '"""PyTorch modules for AVeryLongModelNameNumber0, AVeryLongModelNameNumber1,',
        "AVeryLongModelNameNumber2, AVeryLongModelNameNumber3, AVeryLongModelNameNumber4,",
        "AVeryLongModelNameNumber5.",
        '"""',
    ]
    assert black.format_str(code, mode=black.Mode()) == code


EMBED = """
model Embed(vocab=100, n_positions=1024, dim=64)(idx):
    input idx: [T]
    tok = idx -> wte: embedding vocab dim
    p = idx -> arange -> wpe: embedding n_positions dim
    output x = (tok, p) -> add
"""


def test_positions_use_the_length_the_checks_read_and_name_it_in_lowercase():
    code = compile_source(EMBED, "embed.lego").code
    assert code.count(".shape[1]") == 1 and "        t = idx.shape[1]\n" in code  # read once, by the check
    assert "p = torch.arange(t, device=idx.device)  # [T]" in code
    model = load_module(code).Embed()
    assert model(torch.zeros(2, 5, dtype=torch.long)).shape == (2, 5, 64)
