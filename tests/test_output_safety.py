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


# -- what OUT is: the input, a symbolic link, a device, a FIFO -------------------

SPEC = "model Net():\n    input [3, 8, 8]\n    conv 4\n    relu\n"


def _legoc(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "legoc", *args], capture_output=True, text=True, cwd=cwd, timeout=120, **kwargs)


def _expected(tmp_path: Path, command: list[str], spec: Path) -> str:
    """What `command` writes for `spec` on standard output."""
    result = _legoc(*command, str(spec), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


COMMANDS = {"compile": [], "graph": ["graph"]}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("how", ["same name", "another spelling", "symbolic link to the spec", "hard link to the spec", "spec through a link"])
def test_out_that_is_the_input_is_refused(tmp_path, command, how):
    spec = tmp_path / "net.lego"
    spec.write_text(SPEC)
    given, out = "net.lego", "net.lego"
    if how == "another spelling":
        out = f"../{tmp_path.name}/./net.lego"
    elif how == "symbolic link to the spec":
        (tmp_path / "out.lego").symlink_to("net.lego")
        out = "out.lego"
    elif how == "hard link to the spec":
        os.link(spec, tmp_path / "out.lego")
        out = "out.lego"
    elif how == "spec through a link":
        (tmp_path / "link.lego").symlink_to("net.lego")
        given = "link.lego"
    before = spec.stat()
    result = _legoc(*COMMANDS[command], given, "-o", out, cwd=tmp_path)
    assert result.returncode == 2
    assert f"-o {out} is the input spec" in result.stderr and "nothing was written" in result.stderr
    assert spec.read_text() == SPEC and spec.stat().st_mtime_ns == before.st_mtime_ns
    assert not list(tmp_path.glob(".legoc-*"))


def test_out_named_like_the_input_but_another_file_is_written(tmp_path):
    # Same name in another directory: not the input.
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "net.lego").write_text(SPEC)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "net.lego").write_text("old")
    result = _legoc("a/net.lego", "-o", "b/net.lego", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "class Net(nn.Module)" in (tmp_path / "b" / "net.lego").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_out_that_is_a_symbolic_link_is_written_through_to_its_target(tmp_path, command):
    spec = tmp_path / "net.lego"
    spec.write_text(SPEC)
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / "net.out"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "links" / "net.out"
    link.symlink_to(os.path.join("..", "real", "net.out"))
    result = _legoc(*COMMANDS[command], "net.lego", "-o", str(link), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "net.out")
    assert target.read_text() == _expected(tmp_path, COMMANDS[command], spec)
    assert (target.stat().st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path / "real")) == ["net.out"] and sorted(os.listdir(tmp_path / "links")) == ["net.out"]


def test_a_dangling_link_as_out_creates_its_target(tmp_path):
    (tmp_path / "net.lego").write_text(SPEC)
    link = tmp_path / "model.py"
    link.symlink_to("generated.py")
    assert _legoc("net.lego", "-o", "model.py", cwd=tmp_path).returncode == 0
    assert link.is_symlink() and "class Net(nn.Module)" in (tmp_path / "generated.py").read_text()


def test_check_reads_through_the_link_that_the_write_goes_through(tmp_path):
    (tmp_path / "net.lego").write_text(SPEC)
    (tmp_path / "model.py").symlink_to("generated.py")
    assert _legoc("net.lego", "-o", "model.py", "--check", cwd=tmp_path).returncode == 1  # the target is missing
    assert _legoc("net.lego", "-o", "model.py", cwd=tmp_path).returncode == 0
    assert _legoc("net.lego", "-o", "model.py", "--check", cwd=tmp_path).returncode == 0  # what was written is what is checked
    (tmp_path / "generated.py").write_text("stale\n")
    stale = _legoc("net.lego", "-o", "model.py", "--check", cwd=tmp_path)
    assert stale.returncode == 1 and "-stale" in stale.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_run_killed_while_writing_through_a_link_leaves_the_target_and_the_link(tmp_path):
    # The temporary file is beside the target, and is renamed over the target.
    script = tmp_path / "dying.py"
    script.write_text(_DYING)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.py"
    target.write_bytes(OLD)
    link = tmp_path / "model.py"
    link.symlink_to(target)
    env = {**os.environ, "FAIL": "kill"}
    result = subprocess.run([sys.executable, str(script), str(EXAMPLES / "resnet50.lego"), "-o", str(link)], capture_output=True, env=env, cwd=tmp_path)
    assert result.returncode == -9
    assert link.is_symlink() and target.read_bytes() == OLD
    (partial,) = (tmp_path / "real").glob(".legoc-*.tmp")
    assert 0 < partial.stat().st_size
    assert not list(tmp_path.glob(".legoc-*"))


def _null_device(tmp_path: Path) -> str:
    """A character device to write to, which a broken legoc may destroy: as
    root (who could replace /dev/null itself, as legoc once did), a copy of
    /dev/null made in `tmp_path`; otherwise /dev/null, whose directory an
    ordinary user cannot write (so replacing it fails, exit 2)."""
    import stat

    if os.name != "posix" or not os.path.exists("/dev/null"):
        pytest.skip("needs /dev/null")
    if os.geteuid() != 0:
        return "/dev/null"
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.stat("/dev/null").st_rdev)
        os.close(os.open(device, os.O_WRONLY))
    except OSError as exc:  # no CAP_MKNOD, or a file system mounted nodev
        pytest.skip(f"cannot make a device node to write to: {exc}")
    return str(device)


@pytest.mark.parametrize("command", COMMANDS)
def test_out_that_is_a_device_is_written_in_place_not_replaced(tmp_path, command):
    import stat

    device = _null_device(tmp_path)
    (tmp_path / "net.lego").write_text(SPEC)
    (tmp_path / "link").symlink_to(device)
    for out in (device, "link"):
        result = _legoc(*COMMANDS[command], "net.lego", "-o", out, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert stat.S_ISCHR(os.stat(device).st_mode)
    assert (tmp_path / "link").is_symlink()
    assert not [n for n in os.listdir(os.path.dirname(os.path.abspath(device))) if n.startswith(".legoc-")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", COMMANDS)
def test_out_that_is_a_fifo_is_written_in_place_for_its_reader(tmp_path, command):
    import stat
    import threading

    spec = tmp_path / "net.lego"
    spec.write_text(SPEC)
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = _legoc(*COMMANDS[command], "net.lego", "-o", str(fifo), cwd=tmp_path)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received == [_expected(tmp_path, COMMANDS[command], spec).encode()]
    assert sorted(os.listdir(tmp_path)) == ["net.lego", "out.fifo"]


@pytest.mark.skipif(not os.path.exists("/proc/self/fd/1"), reason="needs /proc")
def test_out_that_is_proc_self_fd_1_writes_to_standard_output(tmp_path):
    spec = tmp_path / "net.lego"
    spec.write_text(SPEC)
    result = _legoc("net.lego", "-o", "/proc/self/fd/1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == _expected(tmp_path, [], spec)
