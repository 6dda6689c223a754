"""Resource limits (legoc/limits.py): each is a diagnostic with its code at
the place that crosses it, each can be configured, and a spec right at a
default limit goes through every stage (compile, summary, graph) without
hitting Python's recursion limit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from legoc.compiler import check_source, compile_source
from legoc.config import ConfigError, load
from legoc.diagnostics import SpecError
from legoc.diagram import to_mermaid
from legoc.instance import MAX_OPS, InstanceError, instantiate
from legoc.limits import DEFAULT, Limits
from legoc.summary import summarize

HEAD = "model M():\n    input [8, 8, 8]\n"


def nested_residuals(n: int) -> str:
    return HEAD + "    " + "res add < " * n + "conv 8" + " >" * n + "\n"


def block_chain(n: int, inner: str = "conv c") -> str:
    text = f"block b0(c):\n    {inner}\n"
    for i in range(1, n):
        text += f"block b{i}(c):\n    b{i - 1} c\n"
    return text + HEAD + f"    b{n - 1} 8\n"


def codes(text: str, limits: Limits = DEFAULT) -> list[tuple[str, int, int]]:
    with pytest.raises(SpecError) as info:
        check_source(text, "spec.lego", limits)
    return [(d.code, d.span.line, d.span.column) for d in info.value.diagnostics if d.severity == "error"]


def test_every_stage_works_at_the_default_limits():
    """The deepest spec the defaults allow: 100 nested residuals in a model
    calling a chain of 50 blocks whose innermost holds 100 more."""
    inner = "res add < " * 100 + "conv c" + " >" * 100
    text = block_chain(DEFAULT.max_call_depth, inner).replace("    b49 8\n", "    " + "res add < " * 100 + "b49 8" + " >" * 100 + "\n")
    compiled = compile_source(text, "deep.lego")
    instance = instantiate(compiled.analysis, "M")
    assert summarize(instance).totals.params == 8 * 8 * 9 + 8  # one convolution, deep inside
    assert to_mermaid(instance).count("subgraph") == DEFAULT.max_call_depth


@pytest.mark.parametrize(
    "text, expected",
    [
        (nested_residuals(101), ("LG602", 3, 1005)),
        (HEAD + "    " + "< " * 101 + "conv 8" + " >" * 101 + "\n", ("LG602", 3, 205)),
        (HEAD + "    conv " + "+".join(["1"] * 102) + "\n", ("LG602", 3, 10)),
        (HEAD + "    conv " + "- " * 101 + "1\n", ("LG602", 3, 210)),
        (HEAD + "    " + "repeat 1 " * 101 + "conv 8\n", ("LG602", 3, 905)),
        (block_chain(DEFAULT.max_call_depth + 1), ("LG603", 4, 5)),
        (HEAD + "    repeat 10001 conv 8\n", ("LG605", 3, 12)),
        (HEAD + "    conv 2147483648\n", ("LG606", 3, 10)),
        (HEAD + "    conv 1" + "0" * 5000 + "\n", ("LG606", 3, 10)),
        (HEAD + "    dropout 1e400\n", ("LG107", 3, 13)),  # inf: no max-size holds it
        (HEAD + "    flatten\n    linear 2147483647\n    linear 2147483647\n    linear 2147483647\n", ("LG606", 1, 7)),
        ("model M():\n    input [2147483647, 2147483647, 2147483647]\n    relu\n", ("LG606", 1, 7)),
    ],
    ids=["residuals", "groups", "sum", "negation", "repeats", "block-calls", "repeat-count", "size", "huge-number", "huge-float", "parameters", "elements"],
)
def test_crossing_a_default_limit_is_a_diagnostic(text, expected):
    assert expected in codes(text)


def test_at_the_limit_is_fine():
    check_source(nested_residuals(100), "spec.lego")
    check_source(block_chain(DEFAULT.max_call_depth), "spec.lego")
    check_source(HEAD + "    repeat 10000 conv 8\n", "spec.lego")
    check_source(HEAD + "    conv 2147483647 kernel_size=1\n", "spec.lego")


@pytest.mark.parametrize(
    "limits, text, code",
    [
        (Limits(max_file_bytes=100), HEAD + "    conv 8\n" * 10, "LG601"),
        (Limits(max_nesting=3), nested_residuals(4), "LG602"),
        (Limits(max_call_depth=2), block_chain(3), "LG603"),
        (Limits(max_layers=5), HEAD + "    conv 8\n" * 6, "LG604"),
        (Limits(max_repeat=3), HEAD + "    repeat 4 conv 8\n", "LG605"),
        (Limits(max_size=100), HEAD + "    conv 101\n", "LG606"),
    ],
)
def test_each_limit_can_be_lowered(limits, text, code):
    assert code in [c for c, _, _ in codes(text, limits)]
    check_source(text, "spec.lego")  # fine under the defaults


def test_limits_come_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.legoc.limits]\nmax-nesting = 3\nmax-layers = 1000\n")
    assert load(tmp_path / "pyproject.toml").limits == Limits(max_nesting=3, max_layers=1000)
    (tmp_path / "deep.lego").write_text(nested_residuals(4))
    for command in (["check", "deep.lego"], ["deep.lego"], ["summary", "deep.lego"]):
        result = subprocess.run([sys.executable, "-m", "legoc", *command], capture_output=True, text=True, cwd=tmp_path)
        assert result.returncode == 1, command
        assert "[LG602]" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "table, message",
    [
        ("max-depth = 3", "has no limit `max-depth`"),
        ("max-nesting = 0", "must be a whole number of at least 1"),
        ("max-nesting = true", "must be a whole number of at least 1"),
        ('max-nesting = "3"', "must be a whole number of at least 1"),
    ],
)
def test_a_bad_limit_setting_is_a_config_error(tmp_path, table, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.legoc.limits]\n{table}\n")
    with pytest.raises(ConfigError, match=message):
        load(tmp_path / "pyproject.toml")


def test_legoc_check_reports_a_file_over_the_size_limit_once(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.legoc.limits]\nmax-file-bytes = 50\n")
    (tmp_path / "big.lego").write_text(HEAD + "    conv 8\n" * 20)
    result = subprocess.run([sys.executable, "-m", "legoc", "check", "big.lego"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.count("error:") == 1 and "big.lego:1:1: error: the file is 251 bytes, over the limit of 50 [LG601]" in result.stdout


def test_a_model_that_unrolls_too_far_is_refused_by_summary():
    text = "block inner(c):\n    repeat 10000 relu\n" + HEAD + "    repeat 10000 inner 8\n"
    analysis = check_source(text, "wide.lego")
    with pytest.raises(InstanceError, match=f"more than {MAX_OPS:,} module calls"):
        instantiate(analysis, "M")
