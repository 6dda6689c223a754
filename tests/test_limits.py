"""Resource limits (legoc/core/limits.py): each is a diagnostic with its code at
the place that crosses it, each can be configured, and a spec right at a
default limit goes through every stage (compile, summary, graph) without
hitting Python's recursion limit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from legoc.compiler import check_source, compile_source
from legoc.tools.config import ConfigError, load
from legoc.core.diagnostics import SpecError
from legoc.tools.diagram import to_mermaid
from legoc.tools.instance import MAX_OPS, InstanceError, instantiate
from legoc.core.limits import DEFAULT, Limits
from legoc.tools.summary import summarize

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


# ------------------------------------------------- what legoc can hold (caps)

from legoc import cli  # noqa: E402
from legoc.tools.config import discover  # noqa: E402
from legoc.tools.diagram import to_dot  # noqa: E402
from legoc.tools.instance import unrolls_too_far  # noqa: E402
from legoc.core.limits import RECURSION_LIMIT, capped, frames_needed  # noqa: E402
from legoc.tools.statedict import state_dict_layout  # noqa: E402

NESTING_CAP = capped(Limits(max_nesting=10**9))[0].max_nesting
CALL_CAP = capped(Limits(max_call_depth=10**9))[0].max_call_depth
COMMANDS = {"compile": [], "check": ["check"], "summary": ["summary"], "state-dict": ["state-dict"], "graph": ["graph"]}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """The command line in this process (an exception that escapes is exit 3)."""
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_a_chain_of_800_blocks_is_an_error_not_a_crash():
    """`infer._first_layer` (now `Definitions._first_layer`, legoc/analysis/definitions.py) followed the chain recursively before LG603 was
    checked: a RecursionError."""
    assert "LG603" in [c for c, _, _ in codes(block_chain(800))]
    # The analysis itself, outside `limits.deep`, at Python's default
    # recursion limit: LG603 stops the calls at 50 deep, so only a walk
    # that follows the whole chain (as `_first_layer` did) can overflow.
    from legoc.compiler import prelude
    from legoc.analysis.infer import analyze
    from legoc.syntax.parser import parse

    assert sys.getrecursionlimit() <= 1_000
    with pytest.raises(SpecError) as info:
        analyze(parse(block_chain(800), "chain.lego"), prelude())
    assert "LG603" in [d.code for d in info.value.diagnostics]


def test_the_caps_fit_the_recursion_limit_and_the_defaults():
    assert frames_needed(DEFAULT.max_nesting, DEFAULT.max_call_depth) <= RECURSION_LIMIT
    assert capped(DEFAULT) == (DEFAULT, [])
    assert NESTING_CAP > DEFAULT.max_nesting and CALL_CAP > DEFAULT.max_call_depth
    both, notes = capped(Limits(max_nesting=10**9, max_call_depth=10**9))
    assert frames_needed(both.max_nesting, both.max_call_depth) <= RECURSION_LIMIT and len(notes) == 2
    assert capped(Limits(max_size=2**80))[0].max_size == 2**63 - 1


def test_a_limit_over_its_cap_is_lowered_with_a_warning(tmp_path, monkeypatch, capsys):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.legoc.limits]\nmax-nesting = 3000\nmax-size = 100000000000000000000000\n")
    config = load(pyproject)
    assert config.limits == Limits(max_nesting=NESTING_CAP, max_size=2**63 - 1)
    assert any(f"{pyproject}: [tool.legoc.limits] max-nesting = 3000 is more than legoc can hold (at most {NESTING_CAP} " in w for w in config.warnings)
    assert any(f"{pyproject}: [tool.legoc.limits] max-size = " in w and "9,223,372,036,854,775,807" in w for w in config.warnings)
    (tmp_path / "a.lego").write_text(nested_residuals(NESTING_CAP + 1))
    monkeypatch.chdir(tmp_path)
    for name, command in COMMANDS.items():
        status, out, err = run_cli([*command, "a.lego"], capsys)
        assert status == 1 and "[LG602]" in out + err, name  # the cap, not 3000, is the limit
        assert f"warning: {pyproject}: [tool.legoc.limits] max-nesting = 3000" in err, name


def _nest(kind: str, n: int) -> str:
    return {
        "residuals": "res add < " * n + "conv 8" + " >" * n,
        "groups": "< " * n + "conv 8" + " >" * n,
        "parallels": "add < " * n + "relu" + " | relu >" * n,
        "negations": "conv 8 stride=" + "- " * (n - n % 2) + "1",
        "sums": "conv 8" + " + 0" * n,
        "nested-sums": "conv " + "(0 + " * n + "8" + ")" * n,
        "max": "conv " + "max(" * n + "8" + ")" * n,
    }[kind]


@pytest.mark.parametrize("kind", ["residuals", "groups", "parallels", "negations", "sums", "nested-sums", "max", "block-chain"])
def test_every_command_holds_a_spec_at_the_caps(kind, tmp_path, monkeypatch, capsys):
    """Each kind of nesting right at the nesting cap (in a model and inside a
    block), or a chain of blocks right at the call cap, through every command."""
    if kind == "block-chain":
        (tmp_path / "pyproject.toml").write_text(f"[tool.legoc.limits]\nmax-call-depth = {CALL_CAP}\n")
        text = block_chain(CALL_CAP)
    else:
        (tmp_path / "pyproject.toml").write_text(f"[tool.legoc.limits]\nmax-nesting = {NESTING_CAP}\n")
        inner = _nest(kind, NESTING_CAP).replace("conv 8", "conv c").replace("8)", "c)")
        text = f"block b(c):\n    {inner}\n" + HEAD + f"    {_nest(kind, NESTING_CAP)}\n    b 8\n"
    (tmp_path / "cap.lego").write_text(text)
    monkeypatch.chdir(tmp_path)
    for name, command in COMMANDS.items():
        status, out, err = run_cli([*command, "cap.lego"], capsys)
        assert status == 0 and "error" not in err, (name, err[-500:])


def test_both_limits_at_their_caps_at_once():
    """Block calls and nesting multiply: a chain of blocks at the call depth
    the nesting cap allows, each nesting to the cap (shape inference, code
    generation, unrolling, state_dict and a diagram, from one analysis)."""
    limits = Limits(max_nesting=NESTING_CAP)
    deep = "res add < " * NESTING_CAP + "{call}" + " >" * NESTING_CAP
    text = "block b0(c):\n    conv c\n"
    for i in range(1, limits.max_call_depth):
        text += f"block b{i}(c):\n    " + deep.format(call=f"b{i - 1} c") + "\n"
    text += HEAD + "    " + deep.format(call=f"b{limits.max_call_depth - 1} 8") + "\n"
    compiled = compile_source(text, "deep.lego", limits)
    instance = instantiate(compiled.analysis, "M")
    assert summarize(instance).totals.params == 8 * 8 * 9 + 8
    assert to_dot(instance).count("subgraph") == limits.max_call_depth
    assert len(state_dict_layout(compiled.analysis, "M")) == 2


def test_state_dict_refuses_a_model_that_unrolls_too_far(tmp_path, monkeypatch, capsys):
    """Three nested `repeat 10000` in 119 bytes: state-dict ran for minutes;
    now it stops as summary and graph do, with their message and status."""
    (tmp_path / "wide.lego").write_text("block a(c):\n    repeat 10000 relu\nblock b(c):\n    repeat 10000 a c\n" + HEAD + "    repeat 10000 b 8\n")
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(["state-dict", "wide.lego"], capsys)
    assert status == 2 and out == ""
    assert err.endswith(f"legoc state-dict: error: {unrolls_too_far()}\n")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_pyproject_that_is_not_toml_is_an_error(command, tmp_path, monkeypatch, capsys):
    """Issue 22: as ruff, a pyproject.toml that may configure legoc and is
    not valid TOML is an error naming the file, for every command (it was a
    warning, and the defaults were used)."""
    (tmp_path / "pyproject.toml").write_text("[tool.legoc\nselect = [\n")
    (tmp_path / "a.lego").write_text(HEAD + "    conv 8\n")
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli([*COMMANDS[command], "a.lego"], capsys)
    assert status == 2 and out == ""
    assert f"error: {tmp_path / 'pyproject.toml'}: not valid TOML (" in err
    with pytest.raises(ConfigError, match="not valid TOML"):
        discover(tmp_path)
