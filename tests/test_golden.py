"""Golden files pin the generated code of every example.

Regenerate after an intended change with:

    pytest tests/test_golden.py --snapshot-update

and review the diff of tests/__snapshots__/ before committing.
"""

import black
import pytest

from conftest import EXAMPLES, example_names
from legoc.compiler import compile_source


@pytest.mark.parametrize("name", example_names())
def test_golden(name, golden):
    path = EXAMPLES / f"{name}.lego"
    code = compile_source(path.read_text(), f"{name}.lego").code
    assert code == golden
    assert black.format_str(code, mode=black.Mode()) == code
