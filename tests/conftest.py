"""Shared helpers for legoc's tests.

Golden files live in tests/__snapshots__/ and are managed by syrupy;
regenerate them with `pytest tests/test_golden.py --snapshot-update`.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REFERENCE = Path(__file__).resolve().parent / "reference" / "architectures.md"


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.lego"))


def load_module(code: str, name: str = "generated") -> types.ModuleType:
    """Execute generated code as a fresh module."""
    module = types.ModuleType(name)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module


def reference_table() -> dict[str, dict[str, str]]:
    """Rows of the reference table, keyed by architecture name."""
    rows = {}
    for line in REFERENCE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[\d,]+", cells[4]):
            rows[cells[0]] = {"reference": cells[1], "input": cells[2], "output": cells[3], "parameters": cells[4]}
    return rows


class PythonSnapshot(SingleFileSnapshotExtension):
    """Golden files stored as plain .py files, one per test."""

    _write_mode = WriteMode.TEXT
    file_extension = "py"


@pytest.fixture
def golden(snapshot):
    return snapshot.use_extension(PythonSnapshot)
