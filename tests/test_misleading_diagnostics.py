"""Diagnostics that used to mislead (issue 16, "Diagnostics that mislead"):
each case pins the code, the position, the message and the help line that
a user sees, so that a wrong guess or a follow-on error cannot creep back."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from legoc.tools.check import check_text
from legoc.compiler import compile_source

LEGOC = [sys.executable, "-m", "legoc"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*LEGOC, *args], capture_output=True, text=True, cwd=cwd)


def model(*lines: str, header: str = "model M():", shape: str = "[3, 8, 8]") -> str:
    return "\n".join([header, f"    input {shape}", *(f"    {line}" for line in lines)]) + "\n"


def only(text: str):
    """The one diagnostic `legoc check` reports for `text`."""
    found = check_text(text, "t.lego")
    assert len(found) == 1, [(d.code, d.span.line, d.span.column, d.message) for d in found]
    return found[0]


# ----------------------------------------------------- unknown layers and hints


@pytest.mark.parametrize("name", ["bmm", "mm"])
def test_a_tuple_into_an_unknown_layer_is_an_unknown_layer(name):
    spec = f"model M():\n    input x: [3, 8, 8]\n    output y = (x, x) -> {name}\n"
    d = only(spec)
    assert (d.code, d.span.line, d.span.column) == ("LG201", 3, 26)
    assert d.message == f"unknown layer `{name}`"
    assert d.hint is not None and "did you mean `matmul`?" in d.hint


def test_a_tuple_into_a_product_is_checked_as_one():
    # einsum and matmul were unknown layers before products of tensors
    # (tests/test_products.py); now their misuse has its own diagnostic.
    d = only("model M():\n    input x: [3, 8, 8]\n    output y = (x, x) -> einsum\n")
    assert (d.code, d.span.line, d.span.column, d.message) == ("LG424", 3, 26, "`einsum` takes a pattern string")
    assert d.hint is not None and 'einsum "c h w, d h w -> c d"' in d.hint
    assert check_text("model M():\n    input x: [3, 8, 8]\n    output y = (x, x) -> matmul\n", "t.lego") == []


def test_a_tuple_into_a_known_layer_still_needs_a_join():
    d = only("model M():\n    input x: [3, 8, 8]\n    output y = (x, x) -> relu\n")
    assert (d.code, d.span.line, d.span.column) == ("LG404", 3, 26)


@pytest.mark.parametrize(
    "name, hint",
    [
        ("concat", "did you mean `cat`?"),
        ("concatenate", "did you mean `cat`?"),
        ("transpose", "use `rearrange`"),
        ("Permute", "did you mean `permute`?"),  # permute is a layer: torchvision's Permute
        ("reshape", "use `rearrange`"),
        ("view", "use `rearrange`"),
        ("mean", "use `reduce`"),
        ("sum", "`reduce`"),
        ("MultiheadAttention", "did you mean `mha`?"),
        ("multihead_attention", "or `mhsa`, the prelude's"),
        ("transformer", "`(q, k, v) -> attention`"),
        ("Conv2d", "did you mean `conv`?"),
        ("BatchNorm2d", "did you mean `bn`?"),
        ("Linear", "did you mean `linear`?"),
        ("Dense", "did you mean `linear`?"),
        ("MaxPool2d", "did you mean `maxpool`?"),
        ("AdaptiveAvgPool2d", "`avgpool output_size=1`"),
        ("Dropout", "did you mean `dropout`?"),
        ("ReLU", "did you mean `relu`?"),
        ("LeakyReLU", "did you mean `leaky_relu`?"),
        ("ConvTranspose2d", "did you mean `conv_transpose`?"),
        ("Sequential", "`< conv 64; relu >`"),
        ("ModuleList", "`repeat n layer`"),
        ("bmm", "did you mean `matmul`?"),
        ("Conv_BN", "did you mean `conv_bn`?"),  # a prelude block, by case and underscores
        ("rleu", "did you mean `relu`?"),  # edit distance, when no table entry fits
    ],
)
def test_unknown_layer_hints(name, hint):
    d = only(model(name))
    assert (d.code, d.span.line, d.span.column, d.message) == ("LG201", 3, 5, f"unknown layer `{name}`")
    assert d.hint is not None and hint in d.hint, d.hint


@pytest.mark.parametrize("name", ["einsum", "matmul"])
def test_a_product_in_a_sequence_says_it_joins_a_tuple(name):
    d = only(model(name))
    assert (d.code, d.span.line, d.span.column) == ("LG424", 3, 5)
    assert d.message == f"`{name}` multiplies the tensors of a tuple, as the first stage after it"
    assert d.hint is not None and "-> " + name in d.hint


def test_attention_in_a_sequence_says_it_joins_a_tuple():
    # attention was an unknown layer ("no attention layer yet") before the primitive
    d = only(model("attention"))
    assert (d.code, d.span.line, d.span.column) == ("LG426", 3, 5)
    assert d.message == "`attention` joins a tuple (q, k, v) or (q, k, v, mask), as the first stage after it"
    assert d.hint is not None and "(q, k, v) -> attention" in d.hint


def test_no_hint_for_a_name_like_nothing():
    assert only(model("zzqx")).hint is None


# ------------------------------------- opt-in warnings on the error paths


ERROR_AFTER_LG509 = "model M():\n    input [64, 8, 8]\n    conv 100\n    linear 4 bias=3\n"


@pytest.mark.parametrize("command", [[], ["summary"], ["state-dict"]])
def test_opt_in_warnings_stay_off_on_error_paths(tmp_path, command):
    (tmp_path / "m.lego").write_text(ERROR_AFTER_LG509)
    result = run(*command, "m.lego", cwd=tmp_path)
    assert result.returncode == 1
    assert "[LG401]" in result.stderr
    assert "LG509" not in result.stderr
    # Selected, it is reported there too, as on success.
    (tmp_path / "pyproject.toml").write_text('[tool.legoc]\nselect = ["LG509"]\n')
    result = run(*command, "m.lego", cwd=tmp_path)
    assert result.returncode == 1
    assert "[LG401]" in result.stderr and "[LG509]" in result.stderr


# ------------------------------------------------------- no follow-on errors


def test_a_rearrange_in_a_named_group_in_a_residual_is_one_error():
    # Named groups are nn.Sequential and hold only layers and repeats
    # (docs/language.md, section 12), so LG204 is right; the emptied body
    # must not add "a residual body needs at least one layer".
    d = only(model('res add < g: < rearrange "c h w -> c w h" > >', shape="[3, 8, 8]"))
    assert (d.code, d.span.line, d.span.column) == ("LG204", 3, 20)
    assert d.message.startswith("the named group `g` becomes an nn.Sequential")


def test_an_unknown_layer_alone_in_a_residual_is_one_error():
    d = only(model("res add < rleu >"))
    assert (d.code, d.span.line, d.span.column, d.hint) == ("LG201", 3, 15, "did you mean `relu`?")


def test_a_rearrange_in_a_residual_outside_a_named_group_is_fine():
    assert check_text(model('res add < rearrange "c h w -> c w h" >', shape="[3, 8, 8]"), "t.lego") == []


# ------------------------------------------------------------- size limits


def test_an_element_count_over_int64_does_not_suggest_max_size():
    d = only(model("relu", shape="[2_000_000_000, 2_000_000_000, 2_000_000_000]"))
    assert (d.code, d.span.line, d.span.column) == ("LG606", 1, 7)
    assert d.message == (
        "the tensor's element count is 8,000,000,000,000,000,000,000,000,000, "
        "which cannot be represented in torch's int64 (at most 9,223,372,036,854,775,807)"
    )
    assert d.hint == "make the sizes smaller; `max-size` cannot raise this limit"


def test_a_parameter_count_over_int64_does_not_suggest_max_size():
    d = only(model(*["linear 2_000_000_000"] * 4, shape="[2_000_000_000]"))
    assert d.code == "LG606" and d.message.startswith("the parameter count is ")
    assert "cannot be represented in torch's int64" in d.message
    assert d.hint == "make the sizes smaller; `max-size` cannot raise this limit"


def test_a_size_over_max_size_still_suggests_raising_it():
    d = only(model("relu", shape="[3_000_000_000]"))
    assert d.code == "LG606" and d.hint == "raise `max-size` under [tool.legoc.limits]"


# ----------------------------------------------------------- float literals


@pytest.mark.parametrize(
    "written",
    ["1_0.0e-5", "1.0_0", "1e-1_0", "1_0.0_1e-0_5", "1_0e5", "0.000_1", "1_000.000_1E+0_2"],
)
def test_underscored_floats_are_read_as_python_reads_them(written):
    value = eval(written)  # Python's own reading of the literal  # noqa: S307
    code = compile_source(model(f"bn eps={written}"), "t.lego").code
    assert f"eps={value!r})" in code


@pytest.mark.parametrize(
    "written, column",
    [("1.0__0", 15), ("1.0_", 15), ("1e_5", 13), ("1_000_", 17)],
)
def test_a_misplaced_underscore_in_a_number_says_so(written, column):
    d = only(model(f"bn eps={written}"))
    assert (d.code, d.span.line, d.span.column) == ("LG101", 3, column)
    assert d.message == "a number runs into a name here: an underscore in a number goes between two digits"


@pytest.mark.parametrize(
    "written, message",
    [
        ("1e-400", "`1e-400` is too small for a float: it would be 0.0"),
        ("2.5e-4_00", "`2.5e-4_00` is too small for a float: it would be 0.0"),
        ("1e400", "`1e400` is too large for a float: it would be inf"),
    ],
)
def test_a_float_out_of_range_is_an_error(written, message):
    d = only(model(f"bn eps={written}"))
    assert (d.code, d.span.line, d.span.column, d.message) == ("LG107", 3, 12, message)


@pytest.mark.parametrize("written", ["0.0", "0e-999", "0.000e-400", "1e-310"])
def test_zero_and_subnormal_floats_are_kept(written):
    code = compile_source(model(f"bn eps={written}"), "t.lego").code
    assert f"eps={float(written)!r})" in code


# --------------------------------------------------------------- empty specs


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n# and another\n"])
def test_an_empty_spec_warns_on_compile_and_check(tmp_path, text):
    (tmp_path / "e.lego").write_text(text)
    message = "e.lego:1:1: warning: the spec defines no model or block, so the generated module is empty [LG511]"
    compiled = run("e.lego", cwd=tmp_path)
    assert compiled.returncode == 0 and "__all__ = []" in compiled.stdout.replace("\n", "")
    assert compiled.stderr.startswith(message)
    checked = run("check", "e.lego", cwd=tmp_path)
    assert checked.returncode == 0 and message in checked.stdout + checked.stderr


def test_a_spec_with_a_syntax_error_only_has_that_error():
    assert [d.code for d in check_text("garbage here\n", "t.lego")] == ["LG101"]


# ------------------------------------------------ summary --input and limits


SYMBOLIC = "model M():\n    input x: [3, H, W]\n    output y = x -> conv 8\n"


@pytest.mark.parametrize("command", ["summary", "graph"])
@pytest.mark.parametrize(
    "option, message",
    [
        (["--input", "3,\u0663\u0662,32"], "is not an input size"),  # Arabic-Indic 32
        (["--input", "3,\uff13\uff12,32"], "is not an input size"),  # fullwidth 32
        (["--input", "3,99999999999,2"], "--input size 99,999,999,999 is over the limit of 2,147,483,647 for a size"),
        (["--input", "3," + "9" * 5000 + ",2"], "has a size too large for any tensor"),
        (["--input", "3,2000000000,2000000000"], "which cannot be represented in torch's int64"),
    ],
)
def test_input_sizes_are_ascii_and_within_the_limits(tmp_path, command, option, message):
    (tmp_path / "m.lego").write_text(SYMBOLIC)
    result = run(command, "m.lego", *option, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_input_sizes_follow_a_raised_max_size(tmp_path):
    (tmp_path / "m.lego").write_text(SYMBOLIC)
    assert run("summary", "m.lego", "--input", "3,40,40", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.legoc.limits]\nmax-size = 32\n")
    result = run("summary", "m.lego", "--input", "3,40,40", cwd=tmp_path)
    assert result.returncode == 2
    assert "--input size 40 is over the limit of 32 for a size" in result.stderr


def test_a_layer_output_over_the_limit_is_named(tmp_path):
    (tmp_path / "m.lego").write_text("model M():\n    input x: [3, H, W]\n    output y = x -> upsample 8\n")
    (tmp_path / "pyproject.toml").write_text("[tool.legoc.limits]\nmax-size = 100\n")
    result = run("summary", "m.lego", "--input", "3,20,20", cwd=tmp_path)
    assert result.returncode == 2
    assert "the output of `upsample` (m.lego:3:21) has a size of 160, over the limit of 100 for a size" in result.stderr


@pytest.mark.parametrize(
    "option, message",
    [
        (["--batch", "\u0663"], "is not a whole number of at least 1"),
        (["--batch", "\u00b2"], "is not a whole number of at least 1"),  # superscript 2: isdigit(), but not int()
        (["--batch", "3000000000"], "--batch 3,000,000,000 is over the limit of 2,147,483,647"),
        (["--batch", "2000000000", "--input", "3,200000,200000"], "(batch 2,000,000,000), which cannot be represented in torch's int64"),
        (["--depth", "\u0663"], "is not a whole number of at least 1"),
    ],
)
def test_summary_numbers_are_ascii_and_within_the_limits(tmp_path, option, message):
    (tmp_path / "m.lego").write_text(SYMBOLIC)
    result = run("summary", "m.lego", *option, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------- a bool or a string as a number

LINEAR_BLOCK = "block b(c):\n    linear c\n\n"


@pytest.mark.parametrize(
    "text, where, message",
    [
        # The block's own check (LG509's `max(size_in, size_out)`) met the
        # bool first: the message named legoc's `max`, which the spec never
        # wrote. The argument's own check now comes first, at the value.
        (LINEAR_BLOCK + model("b true", shape="[16]"), (6, 7), "`out_features` must be an integer, not true"),
        (LINEAR_BLOCK + model("b c=false", shape="[16]"), (6, 9), "`out_features` must be an integer, not false"),
        (LINEAR_BLOCK + model('b "x"', shape="[16]"), (6, 7), '`out_features` must be an integer, not "x"'),
        # Through another block: at the value, in the outer call.
        (LINEAR_BLOCK + "block a(x):\n    b x\n\n" + model("a true", shape="[16]"), (9, 7), "`out_features` must be an integer, not true"),
        # A default: at the default.
        ("block b(c=true):\n    linear c\n\n" + model("b", shape="[16]"), (1, 11), "`out_features` must be an integer, not true"),
        (model("linear c", header="model M(c=true):", shape="[16]"), (1, 11), "`out_features` must be an integer, not true"),
        # Arithmetic on the value before it reaches the layer: the type error
        # of the arithmetic, named for the parameter, at the value.
        ("block b(c):\n    linear c * 2\n\n" + model("b true", shape="[16]"), (6, 7), "`c` has the wrong type: true (a boolean) where a number is expected"),
        # A block that computes with the value outside any layer argument.
        ("block b(c):\n    repeat c - 1 linear 16\n\n" + model("b true", shape="[16]"), (6, 7), "`c` has the wrong type: true (a boolean) where a number is expected"),
        # Arithmetic the spec writes names its operator.
        (model("linear true + 1", shape="[16]"), (3, 12), "`+` needs numbers, not true (a boolean)"),
    ],
    ids=["positional", "keyword", "string", "through-a-block", "block-default", "model-default", "arithmetic-in-block", "count", "arithmetic"],
)
def test_a_bool_where_a_number_goes_names_the_value(text, where, message):
    d = only(text)
    assert (d.span.line, d.span.column) == where
    assert d.message == message
    assert "`max`" not in d.message
