"""Output safety: the output file is replaced atomically, so a run killed in
the middle of writing it, a run whose write fails, and a run that finds an
error all leave an existing OUT byte for byte as it was; and the output is
the same bytes whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import EXAMPLES, example_names

OLD = b"# the previous output, which must survive\n"

# Runs `legoc` with os.fdopen patched: the first write into the temporary
# file writes half its text, flushes, and then the process dies as it would
# under `kill -9` (or says the disk is full, with FAIL=enospc).
_DYING = textwrap.dedent(
    """
    import errno, os, signal, sys
    import legoc.cli

    real_fdopen = os.fdopen

    class Dying:
        def __init__(self, f):
            self.f = f
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.f.close()
            return False
        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            os.fsync(self.f.fileno())
            if os.environ["FAIL"] == "enospc":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            os.kill(os.getpid(), signal.SIGKILL)

    os.fdopen = lambda *args, **kwargs: Dying(real_fdopen(*args, **kwargs))
    sys.exit(legoc.cli.main(sys.argv[1:]))
    """
)


def _run_dying(tmp_path: Path, fail: str) -> subprocess.CompletedProcess:
    script = tmp_path / "dying.py"
    script.write_text(_DYING)
    out = tmp_path / "model.py"
    out.write_bytes(OLD)
    env = {**os.environ, "FAIL": fail}
    return subprocess.run(
        [sys.executable, str(script), str(EXAMPLES / "resnet50.lego"), "-o", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_run_killed_while_writing_leaves_the_old_output(tmp_path):
    result = _run_dying(tmp_path, "kill")
    assert result.returncode == -9  # it really died mid-write
    assert (tmp_path / "model.py").read_bytes() == OLD
    # What it was writing is a half-written temporary file beside OUT, never OUT itself.
    (partial,) = tmp_path.glob(".legoc-*.tmp")
    assert 0 < partial.stat().st_size


def test_a_run_whose_write_fails_leaves_the_old_output_and_no_temporary_file(tmp_path):
    result = _run_dying(tmp_path, "enospc")
    assert result.returncode == 2
    assert "cannot write" in result.stderr and "No space left on device" in result.stderr
    assert (tmp_path / "model.py").read_bytes() == OLD
    assert list(tmp_path.glob(".legoc-*")) == []


@pytest.mark.parametrize(
    "spec",
    ["model M():\n    input [3, 8, 8]\n    conv 8 kernel_size=9 padding=0\n", "model M(:\n", "\xff"],
    ids=["shape-error", "syntax-error", "not-utf8"],
)
def test_a_failing_run_leaves_the_old_output(tmp_path, spec):
    source = tmp_path / "bad.lego"
    source.write_bytes(spec.encode("latin-1"))
    out = tmp_path / "model.py"
    out.write_bytes(OLD)
    before = out.stat()
    result = subprocess.run([sys.executable, "-m", "legoc", str(source), "-o", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert out.read_bytes() == OLD and out.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.lego", "model.py"]


def _outputs(seed: str, tmp_path: Path) -> dict[str, bytes]:
    """Every example compiled, summarised and drawn, under PYTHONHASHSEED=seed."""
    out_dir = tmp_path / f"seed-{seed}"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": seed}
    code = textwrap.dedent(
        f"""
        import contextlib, io, sys
        from pathlib import Path
        from legoc.cli import main
        for spec in sorted(Path({str(EXAMPLES)!r}).glob("*.lego")):
            out = Path({str(out_dir)!r}) / spec.stem
            assert main([str(spec), "-o", f"{{out}}.py"]) == 0
            for command, suffix in ((["summary", "--depth", "all", "--format", "json"], "json"), (["graph", "--format", "dot"], "dot")):
                text = io.StringIO()
                with contextlib.redirect_stdout(text):
                    assert main([command[0], str(spec), *command[1:]]) == 0
                Path(f"{{out}}.{{suffix}}").write_text(text.getvalue())
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    return {p.name: p.read_bytes() for p in sorted(out_dir.iterdir())}


def test_output_is_the_same_bytes_under_any_hash_seed(tmp_path):
    first = _outputs("0", tmp_path)
    assert len(first) == 3 * len(example_names())
    for seed in ("1", "12345", "random"):
        assert _outputs(seed, tmp_path) == first, seed
