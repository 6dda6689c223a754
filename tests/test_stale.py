"""`legoc FILE -o OUT --check` and `--diff`: is vendored generated code up
to date? Neither flag ever creates, changes or touches OUT."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import EXAMPLES, ROOT

LEGOC = [sys.executable, "-m", "legoc"]
SPEC = str(EXAMPLES / "convnet.lego")


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # Run outside the checkout, so that `-m legoc` imports the installed package.
    return subprocess.run([*LEGOC, *args], input=stdin, capture_output=True, text=True, cwd=cwd or tempfile.gettempdir())


def generate(out: Path) -> tuple[bytes, int]:
    """Write OUT normally; its bytes and mtime."""
    result = run(SPEC, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == spec_warnings()
    return out.read_bytes(), out.stat().st_mtime_ns


@functools.cache
def spec_warnings() -> str:
    """What compiling SPEC prints to stderr anyway (lint warnings, if any);
    --check and --diff print them too."""
    result = run(SPEC)
    assert result.returncode == 0, result.stderr
    assert "would regenerate" not in result.stderr
    return result.stderr



def assert_untouched(out: Path, data: bytes, mtime_ns: int) -> None:
    assert out.read_bytes() == data
    assert out.stat().st_mtime_ns == mtime_ns
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary files left


def test_check_passes_silently_when_up_to_date(tmp_path):
    out = tmp_path / "model.py"
    data, mtime = generate(out)

    result = run(SPEC, "-o", str(out), "--check")

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == spec_warnings()
    assert_untouched(out, data, mtime)


def test_check_fails_with_a_diff_when_stale(tmp_path):
    out = tmp_path / "model.py"
    generate(out)
    with open(out, "a") as f:
        f.write("# edited by hand\n")
    data, mtime = out.read_bytes(), out.stat().st_mtime_ns

    result = run(SPEC, "-o", str(out), "--check")

    assert result.returncode == 1
    assert result.stderr == f"{spec_warnings()}would regenerate {out} (stale: it differs from what {SPEC} generates now)\n"
    lines = result.stdout.splitlines()
    assert lines[0] == f"--- {out}"
    assert lines[1] == f"+++ {out} (regenerated from {SPEC})"
    assert re.fullmatch(r"@@ -\d+,4 \+\d+,3 @@", lines[2])
    assert lines[-1] == "-# edited by hand"
    assert not any(line.startswith("+") for line in lines[2:])
    assert_untouched(out, data, mtime)


def test_check_fails_when_output_is_missing_and_creates_nothing(tmp_path):
    out = tmp_path / "model.py"

    result = run(SPEC, "-o", str(out), "--check")

    assert result.returncode == 1
    assert result.stderr == f"{spec_warnings()}would regenerate {out} (missing)\n"
    assert result.stdout.startswith(f"--- {out}\n+++ {out} (regenerated from {SPEC})\n@@ -0,0 +1,")
    assert "+class ConvNet(nn.Module):\n" in result.stdout
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_diff_alone_prints_the_diff_exits_0_and_writes_nothing(tmp_path):
    out = tmp_path / "model.py"
    fresh, _ = generate(out)
    out.write_bytes(fresh.replace(b"class ConvNet(", b"class OldNet(", 1))
    data, mtime = out.read_bytes(), out.stat().st_mtime_ns

    result = run(SPEC, "-o", str(out), "--diff")

    assert result.returncode == 0, result.stderr
    assert result.stderr == spec_warnings()  # --diff alone: no "would regenerate"
    assert "\n-class OldNet(nn.Module):\n+class ConvNet(nn.Module):\n" in result.stdout
    assert result.stdout.startswith(f"--- {out}\n")
    assert_untouched(out, data, mtime)

    # with --check as well, a difference fails, like black's --check --diff
    both = run(SPEC, "-o", str(out), "--check", "--diff")
    assert both.returncode == 1
    assert both.stdout == result.stdout
    assert_untouched(out, data, mtime)


def test_diff_of_an_up_to_date_output_is_empty(tmp_path):
    out = tmp_path / "model.py"
    data, mtime = generate(out)
    result = run(SPEC, "-o", str(out), "--diff")
    assert (result.returncode, result.stdout) == (0, "")
    assert_untouched(out, data, mtime)


def test_check_of_a_broken_spec_reports_it_and_leaves_output_alone(tmp_path):
    out = tmp_path / "model.py"
    out.write_text("# previous output\n")
    data, mtime = out.read_bytes(), out.stat().st_mtime_ns
    spec = "model Net():\n    input [3, 32, 32]\n    conv3x3_bn_akt 64\n"

    result = run("-", "-o", str(out), "--check", stdin=spec)

    assert result.returncode == 1
    assert result.stderr.startswith("<stdin>:3:5: error: "), result.stderr
    assert "unknown layer `conv3x3_bn_akt`" in result.stderr
    assert "would regenerate" not in result.stderr
    assert result.stdout == ""
    assert_untouched(out, data, mtime)


def test_check_and_diff_need_an_output_file():
    for args in (["--check"], ["--check", "-o", "-"], ["--diff"], ["--diff", "-o", "-"]):
        result = run(SPEC, *args)
        assert result.returncode == 2, args
        assert "needs -o OUT" in result.stderr
        assert result.stdout == ""


def test_pre_commit_hooks_manifest():
    hooks = _hook_list((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {hook["id"]: hook for hook in hooks}
    assert sorted(by_id) == ["legoc-build", "legoc-check", "legoc-fmt", "legoc-stale"]
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= hook.keys()
        assert hook["language"] == "python"
        assert re.search(hook["files"], "specs/model.lego")
    for lint in ("legoc-check", "legoc-fmt"):  # they take the specs changed
        assert not re.search(by_id[lint]["files"], "model.py")
        assert by_id[lint].get("pass_filenames", "true") == "true"
    assert by_id["legoc-check"]["entry"] == "legoc check"
    # The build table's hooks build the whole table, whatever changed: a
    # spec, a generated module edited by hand, the table itself.
    for table in ("legoc-build", "legoc-stale"):
        assert by_id[table]["pass_filenames"] == "false"
        assert all(re.search(by_id[table]["files"], f) for f in ("models/model.py", "pyproject.toml", "sub/pyproject.toml"))
        assert not re.search(by_id[table]["files"], "README.md")
    assert by_id["legoc-build"]["entry"] == "legoc build --exit-non-zero-on-write"
    assert by_id["legoc-stale"]["entry"] == "legoc build --check"


def _hook_list(text: str) -> list[dict[str, str]]:
    """The subset of YAML a hook manifest needs: a list of flat mappings of
    scalars (`- key: value`, then `  key: value`); comments skipped."""
    hooks: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.fullmatch(r"(- |  )([a-z_]+): *(.*?)", line)
        assert item, f".pre-commit-hooks.yaml:{number}: not `- key: value` or `  key: value`: {line!r}"
        start, key, value = item.groups()
        if start == "- ":
            hooks.append({})
        assert hooks, f".pre-commit-hooks.yaml:{number}: a key before the first `- `"
        assert key not in hooks[-1], f".pre-commit-hooks.yaml:{number}: {key} repeated"
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        hooks[-1][key] = value
    return hooks
