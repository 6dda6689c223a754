"""CI is deterministic, and runs what the README says (docs/reliability.md,
"Deterministic tests")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROFILE = (
    "import sys; sys.path.insert(0, sys.argv[1]); import conftest; from hypothesis import settings; "
    "d = settings.default; print(d.derandomize, d.database is None, d.print_blob)"
)


@pytest.mark.parametrize("ci, expected", [("true", "True True True"), ("1", "True True True"), (None, "False False False"), ("false", "False False False")])
def test_the_ci_variable_chooses_the_derandomized_profile(ci, expected):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run([sys.executable, "-c", PROFILE, str(ROOT / "tests")], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == expected.split()


def test_the_readme_test_command_is_the_one_ci_runs():
    readme = re.search(r"pip install '\.\[test\]' && \.venv/bin/(pytest.*)\n", (ROOT / "README.md").read_text())
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme is not None
    assert ci.rstrip().splitlines()[-1] == f'"$venv/bin/{readme.group(1).split()[0]}" {" ".join(readme.group(1).split()[1:])}'.rstrip()
    assert 'export CI="${CI:-true}"' in ci
