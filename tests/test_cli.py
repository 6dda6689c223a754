"""The command line, run as a user runs it: exit codes, diagnostics with
file:line:col, and an output file that an error never touches."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import EXAMPLES

LEGOC = [sys.executable, "-m", "legoc"]


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # Run outside the checkout, so that `-m legoc` imports the installed package.
    return subprocess.run([*LEGOC, *args], input=stdin, capture_output=True, text=True, cwd=cwd or tempfile.gettempdir())


def test_compiles_an_example_to_a_file(tmp_path):
    out = tmp_path / "resnet18.py"
    result = run(str(EXAMPLES / "resnet18.lego"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "class ResNet18(nn.Module):" in out.read_text()


def test_stdin_to_stdout():
    spec = "model Tiny():\n    input [4]\n    linear 2\n"
    result = run("-", stdin=spec)
    assert result.returncode == 0, result.stderr
    assert "nn.Linear(4, 2)" in result.stdout
    assert "from <stdin>" in result.stdout


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == "legoc 0.1.0"


@pytest.mark.parametrize("args", [[], ["a.lego", "--bogus"], ["a.lego", "b.lego"]])
def test_usage_errors_exit_2(args):
    assert run(*args).returncode == 2


def test_missing_file_exits_2(tmp_path):
    result = run(str(tmp_path / "nope.lego"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


RESIDUAL_WITHOUT_SHORTCUT = """\
block basic(c, stride=1):
    res add < conv3x3_bn_act c stride=stride; conv3x3_bn c >
    relu

model Net():
    input [3, 32, 32]
    conv 64
    basic 64
    basic 128 stride=2
"""

UNKNOWN_LAYER = """\
model Net():
    input [3, 32, 32]
    conv3x3_bn_akt 64
"""

WRONG_ARGUMENT = """\
model Net():
    input [3, 32, 32]
    conv 64 kernal_size=3
"""

SYNTAX_ERROR = """\
model Net():
    input [3, 32, 32]
    conv 64 stride=2 )
"""

CASES = {
    "residual": (RESIDUAL_WITHOUT_SHORTCUT, 2, 5, "the residual body changes the shape from [64, 32, 32] to [128, 16, 16]"),
    "unknown": (UNKNOWN_LAYER, 3, 5, "unknown layer `conv3x3_bn_akt`"),
    "argument": (WRONG_ARGUMENT, 3, 13, "`conv` has no parameter `kernal_size`"),
    "syntax": (SYNTAX_ERROR, 3, 22, "unexpected `)`"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_spec_errors_point_at_line_and_column_and_leave_output_alone(case, tmp_path):
    text, line, column, message = CASES[case]
    spec = tmp_path / "net.lego"
    spec.write_text(text)
    out = tmp_path / "net.py"
    out.write_text("# previous output\n")
    before = out.stat()

    result = run("net.lego", "-o", "net.py", cwd=tmp_path)

    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"net.lego:{line}:{column}: error: "), result.stderr
    assert message in first
    assert "Traceback" not in result.stderr
    assert out.read_text() == "# previous output\n"
    assert out.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.lego", "net.py"]


def test_error_creates_no_output_file(tmp_path):
    spec = tmp_path / "net.lego"
    spec.write_text(UNKNOWN_LAYER)
    result = run(str(spec), "-o", str(tmp_path / "net.py"))
    assert result.returncode == 1
    assert not (tmp_path / "net.py").exists()


def test_residual_error_suggests_the_fix_and_names_the_call_site(tmp_path):
    spec = tmp_path / "net.lego"
    spec.write_text(RESIDUAL_WITHOUT_SHORTCUT)
    result = run(str(spec))
    assert f"{spec}:9:5: note: in this call of `basic`" in result.stderr
    assert "help: add `shortcut conv1x1_bn`" in result.stderr
    # the caret sits under the residual
    lines = result.stderr.splitlines()
    assert lines[1].strip().startswith("res add <")
    assert lines[2].index("^") == lines[1].index("res")


def test_not_utf8_is_a_spec_error(tmp_path):
    spec = tmp_path / "bad.lego"
    spec.write_bytes(b"model M():\n    input [3]\xff\n")
    result = run(str(spec))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_output_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    out = tmp_path / "model.py"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    assert run(str(EXAMPLES / "convnet.lego"), "-o", str(out)).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o640


# ------------------------------------------------------------- state-dict


def test_state_dict_text_lists_keys_shapes_and_buffers():
    result = run("state-dict", str(EXAMPLES / "resnet18.lego"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "# ResNet18 with its default arguments: 62 parameter tensors (11,689,512 values), 60 buffers"
    assert lines[1].split() == ["conv1.weight", "[64,", "3,", "7,", "7]"]
    assert lines[4].split() == ["bn1.running_mean", "[64]", "buffer"]
    assert lines[-1].split() == ["fc.bias", "[1000]"]
    assert len(lines) == 1 + 122


def test_state_dict_json_has_the_reference_files_form():
    import json

    result = run("state-dict", str(EXAMPLES / "vgg16.lego"), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    reference = json.loads((Path(__file__).parent / "reference" / "state_dicts" / "vgg16.json").read_text())
    assert doc["model"] == "VGG16"
    assert doc["entries"] == reference["entries"]
    assert doc["buffers"] == []


TWO_MODELS = "model A():\n    input [4]\n    linear 2\n\nmodel B():\n    input [4]\n    bn\n"


def test_state_dict_chooses_a_model_by_name():
    result = run("state-dict", "-", "--model", "B", stdin=TWO_MODELS)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == [
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]


@pytest.mark.parametrize("args", [[], ["--model", "C"]])
def test_state_dict_needs_one_model(args):
    result = run("state-dict", "-", *args, stdin=TWO_MODELS)
    assert result.returncode == 2
    assert "its models are A, B; choose one with --model" in result.stderr
    assert result.stdout == ""


def test_state_dict_of_a_broken_spec_is_a_diagnostic():
    result = run("state-dict", "-", stdin="model A():\n    input [4]\n    fc: linear 2\n    fc: relu\n")
    assert result.returncode == 1
    assert "<stdin>:4:5: error: two layers are named `fc`" in result.stderr
    assert result.stdout == ""


def test_the_command_line_restores_the_garbage_collector(tmp_path):
    """`fewer_collections` (which cli.main runs in) restores the collector's
    thresholds, also when the block raises."""
    import gc

    from legoc import cli
    from legoc.cli import fewer_collections

    before = gc.get_threshold()
    spec = tmp_path / "m.lego"
    spec.write_text("model M():\n    input [3, 8, 8]\n    conv 4\n")
    assert cli.main([str(spec), "-o", str(tmp_path / "m.py")]) == 0
    assert gc.get_threshold() == before
    with pytest.raises(ZeroDivisionError), fewer_collections():
        assert gc.get_threshold() != before
        1 / 0
    assert gc.get_threshold() == before


# Runs `legoc ARGS...` with the readers of standard input wrapped to say
# "reading" on stderr first, from inside legoc's `main`, so that the test
# knows when a SIGINT lands inside it (a Ctrl-C while legoc waits for input).
_ANNOUNCING = """
import sys
import legoc.tools.check, legoc.tools.specfile, legoc.cli

def announcing(read):
    def reading():
        sys.stderr.write("reading\\n")
        sys.stderr.flush()
        return read()
    return reading

legoc.tools.specfile.read_stdin = announcing(legoc.tools.specfile.read_stdin)
legoc.tools.check.read_stdin = announcing(legoc.tools.check.read_stdin)
sys.exit(legoc.cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
@pytest.mark.parametrize("command", [[], ["check"], ["summary"], ["graph"], ["state-dict"]], ids=lambda c: " ".join(c) or "compile")
def test_ctrl_c_is_one_line_and_exit_130(command):
    import signal

    child = subprocess.Popen(
        [sys.executable, "-c", _ANNOUNCING, *command, "-"],
        stdin=subprocess.PIPE,  # stays open: legoc waits for the spec
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),
        # A test run started in the background (`cmd &` without job
        # control) inherits SIGINT ignored, and Python then keeps ignoring
        # it, as it should; the child gets the disposition a terminal gives.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert child.stderr.readline() == "reading\n"
        child.send_signal(signal.SIGINT)
        status = child.wait(timeout=60)
        err, out = child.stderr.read(), child.stdout.read()
    finally:
        child.kill()
        child.stdin.close()
        child.wait()
    assert status == 130
    assert err == "legoc: interrupted\n"
    assert out == ""


# ------------------------------------------------------------- one parser

COMMAND_NAMES = ["build", "check", "summary", "graph", "state-dict", "fmt", "lsp", "help"]


def test_help_lists_every_command_with_a_line_each():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    listed = {}
    for line in result.stdout.splitlines():
        words = line.split(maxsplit=1)
        if line.startswith("  ") and len(words) == 2 and words[0] in COMMAND_NAMES:
            listed[words[0]] = words[1]
    assert list(listed) == COMMAND_NAMES, result.stdout
    assert "`legoc FILE -o OUT`" in listed["build"]


def test_help_command_is_the_help():
    assert run("help").stdout == run("--help").stdout == run("-h").stdout
    assert run("help").returncode == 0


@pytest.mark.parametrize("command", COMMAND_NAMES)
def test_every_command_has_its_help(command):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: legoc {command} [-h]"), result.stdout[:200]
    assert result.stderr == ""
    if command != "help":
        assert run("help", command).stdout == result.stdout


@pytest.mark.parametrize("command", ["build", "check", "summary", "graph", "state-dict", "fmt"])
def test_every_command_takes_color_and_config(command):
    text = run(command, "--help").stdout
    assert "--color {auto,always,never}" in text and "--config PYPROJECT" in text


def test_the_shorthand_help_is_builds():
    shorthand = run("x.lego", "--help")
    assert shorthand.returncode == 0
    assert shorthand.stdout.startswith("usage: legoc [-h] [-o OUT] [--check] [--diff]")
    assert shorthand.stdout.split("\n", 3)[3] == run("build", "--help").stdout.split("\n", 3)[3]


@pytest.mark.parametrize(
    "args, guess",
    [(["chek", "x.lego"], "check"), (["sumary", "x.lego"], "summary"), (["state_dict", "x.lego"], "state-dict"), (["compile", "x.lego"], "build"), (["help", "grph"], "graph")],
)
def test_an_unknown_command_suggests_one(args, guess, tmp_path):
    (tmp_path / "x.lego").write_text("model M():\n    input [4]\n    linear 2\n")
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert f"legoc: error: unknown command `{args[0] if args[0] != 'help' else args[1]}`; did you mean `{guess}`?" in result.stderr
    assert result.stderr.startswith("usage: legoc ")
    assert result.stdout == ""


def test_an_unknown_word_lists_the_commands(tmp_path):
    result = run("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown command `frobnicate` (the commands are build, check, summary, graph, state-dict, fmt, lsp, help;" in result.stderr


def test_no_arguments_is_a_usage_error():
    result = run()
    assert result.returncode == 2
    assert "legoc: error: give a spec FILE to build, or a COMMAND" in result.stderr


def test_a_spec_named_like_a_command_is_given_with_a_path(tmp_path):
    (tmp_path / "graph").write_text("model M():\n    input [4]\n    linear 2\n")
    for args in (["./graph"], ["build", "graph"], ["graph", "graph"]):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)
    assert "nn.Linear(4, 2)" in run("./graph", cwd=tmp_path).stdout
    assert run("graph", "graph", cwd=tmp_path).stdout.startswith("flowchart TD")


@pytest.mark.parametrize("name", ["model", "net.txt"])
def test_an_existing_file_that_is_no_command_is_built(name, tmp_path):
    (tmp_path / name).write_text("model M():\n    input [4]\n    linear 2\n")
    result = run(name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nn.Linear(4, 2)" in result.stdout


def test_build_is_the_shorthand(tmp_path):
    spec = str(EXAMPLES / "convnet.lego")
    assert run("build", spec, "-o", str(tmp_path / "a.py")).returncode == 0
    assert run(spec, "-o", str(tmp_path / "b.py")).returncode == 0
    assert run("-o", str(tmp_path / "c.py"), spec).returncode == 0  # options first, as before subcommands
    assert (tmp_path / "a.py").read_bytes() == (tmp_path / "b.py").read_bytes() == (tmp_path / "c.py").read_bytes()
    assert run("build", spec, "-o", str(tmp_path / "a.py"), "--check").returncode == 0
    assert run(spec, "--version").stdout == "legoc 0.1.0\n"


@pytest.mark.parametrize("prefix", [[], ["build"]])
def test_check_without_output_is_a_usage_error_of_build(prefix):
    result = run(*prefix, str(EXAMPLES / "convnet.lego"), "--check")
    assert result.returncode == 2
    prog = "legoc build" if prefix else "legoc"
    assert result.stderr.startswith(f"usage: {prog} [-h]")
    assert f"{prog}: error: --check needs -o OUT" in result.stderr


# ------------------------------------------------------------- colour

ANSI = "\x1b["
BROKEN = "model Net():\n    input [3, 32, 32]\n    conv 8\n    rleu\n"


def run_env(*args: str, env: dict, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | env
    return subprocess.run([*LEGOC, *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=environment)


@pytest.mark.parametrize("command", [[], ["build"], ["summary"], ["graph"], ["state-dict"]], ids=lambda c: " ".join(c) or "shorthand")
@pytest.mark.parametrize(
    "option, env, coloured",
    [
        ([], {}, False),  # a pipe
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "0"}, True),  # any value but "" (force-color.org)
        ([], {"FORCE_COLOR": ""}, False),
        ([], {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR first
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),  # the option beats both
        (["--color", "always"], {"NO_COLOR": "1"}, True),
    ],
)
def test_diagnostics_on_stderr_follow_color_no_color_and_force_color(command, option, env, coloured, tmp_path):
    import click

    (tmp_path / "bad.lego").write_text(BROKEN)
    result = run_env(*command, "bad.lego", *option, env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert (ANSI in result.stderr) is coloured, result.stderr
    assert click.unstyle(result.stderr).startswith("bad.lego:4:5: error: unknown layer `rleu`")
    assert ANSI not in result.stdout


# ------------------------------------------------------------- --config

MANY_LAYERS = "model M():\n    input [4]\n    linear 4\n    relu\n    linear 2\n"
FEW_LAYERS = "[tool.legoc.limits]\nmax-layers = 2\n"


@pytest.mark.parametrize("command", [[], ["build"], ["summary"], ["graph"], ["state-dict"], ["check"]], ids=lambda c: " ".join(c) or "shorthand")
def test_config_option_reads_the_limits_of_the_file_given(command, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "limits.toml").write_text(FEW_LAYERS)
    (tmp_path / "m.lego").write_text(MANY_LAYERS)
    plain = run_env(*command, "m.lego", env={}, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr  # no pyproject.toml here: the default limits
    limited = run_env(*command, "m.lego", "--config", "elsewhere/limits.toml", env={}, cwd=tmp_path)
    assert limited.returncode == 1
    assert "[LG604]" in limited.stdout + limited.stderr
    (tmp_path / "pyproject.toml").write_text(FEW_LAYERS.replace("2", "1000"))  # --config wins over the nearest
    assert run_env(*command, "m.lego", "--config", "elsewhere/limits.toml", env={}, cwd=tmp_path).returncode == 1


@pytest.mark.parametrize("command", ["build", "summary", "graph", "state-dict"])
def test_config_option_naming_a_missing_or_bad_file_is_a_usage_error(command, tmp_path):
    (tmp_path / "m.lego").write_text(MANY_LAYERS)
    (tmp_path / "bad.toml").write_text("[tool.legoc]\nbogus = 1\n")
    missing = run_env(command, "m.lego", "--config", "missing.toml", env={}, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stdout == ""
    prog = "legoc" if command == "build" else f"legoc {command}"
    assert missing.stderr.startswith(f"{prog}: error: missing.toml:"), missing.stderr
    bad = run_env(command, "m.lego", "--config", "bad.toml", env={}, cwd=tmp_path)
    assert bad.returncode == 2 and "has no setting `bogus`" in bad.stderr
