"""The compiler never imports torch: compiling every example, and printing
its state_dict layout, leaves `torch` out of sys.modules."""

import subprocess
import sys

from conftest import EXAMPLES

SCRIPT = """
import sys
from pathlib import Path
from legoc.compiler import compile_source
from legoc.tools.statedict import state_dict_layout
for path in sorted(Path(sys.argv[1]).glob("*.lego")):
    result = compile_source(path.read_text(), str(path))
    for model in result.analysis.defaults:
        assert state_dict_layout(result.analysis, model)
leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print(len(list(Path(sys.argv[1]).glob("*.lego"))), leaked)
"""


def test_compiling_every_example_imports_no_torch(tmp_path):
    # Run outside the checkout, so that the installed package is imported.
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(EXAMPLES)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(" ", 1)
    assert int(count) >= 6
    assert leaked.strip() == "[]"
