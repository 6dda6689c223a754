"""Every example's generated module is clean under the checkers a team
runs on vendored code: ruff with its default rules, and with line lengths
(E501, W505 at 88 columns) and pep8-naming (N) besides, and mypy with
`--check-untyped-defs` (torch's own type hints, no stubs of ours). black is
checked by tests/test_examples.py.

ruff and mypy are test dependencies (pyproject.toml), pinned: a new
release's default rules could otherwise change what this test asks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import EXAMPLES, example_names
from legoc.compiler import compile_source


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    for name in example_names():
        path = EXAMPLES / f"{name}.lego"
        (folder / f"{name}.py").write_text(compile_source(path.read_text(), str(path)).code)
    return folder


def _run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_default_rules_find_nothing(generated):
    pytest.importorskip("ruff")
    done = _run("ruff", "check", "--no-cache", "--isolated", ".", cwd=generated)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_line_length_and_pep8_naming_find_nothing(generated):
    # Black's and ruff's 88 columns for every line (E501), docstrings and
    # comments too (W505, which needs max-doc-length to check anything),
    # and pep8-naming (N): lowercase locals (N806), CapWords classes (N801).
    pytest.importorskip("ruff")
    select = ("--extend-select", "E501,W505,N", "--line-length", "88", "--config", "lint.pycodestyle.max-doc-length = 88")
    done = _run("ruff", "check", "--no-cache", "--isolated", *select, ".", cwd=generated)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_check_untyped_defs_finds_nothing(generated):
    pytest.importorskip("mypy")
    files = sorted(p.name for p in generated.glob("*.py"))
    done = _run("mypy", "--check-untyped-defs", "--no-incremental", "--cache-dir", "/dev/null", *files, cwd=generated)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"no issues found in {len(files)} source files" in done.stdout
