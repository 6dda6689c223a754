"""Reading specs and writing output files, for every legoc command.

Every command that writes `-o OUT` (`legoc FILE`, `legoc graph`) writes it
with `write_output`, and refuses an OUT that is its input file
(`is_input`); `legoc build --check` compares with `stale_diff`. What is guaranteed (docs/reliability.md, Output safety):

- OUT that is missing or a regular file is replaced atomically: the bytes
  go to a temporary file beside it, which gets OUT's permissions and is
  renamed over it. An error or a killed run leaves OUT as it was.
- OUT that is a symbolic link (to a regular file, or dangling) is written
  through: the file it points to is replaced as above, with the temporary
  file beside that file, and the link stays a link.
- OUT that exists and is not a regular file (a device such as /dev/null, a
  FIFO, /proc/self/fd/1) is opened and written in place, never replaced:
  renaming over it would put a regular file in its place.

Nothing here imports more than the standard library: `legoc check` uses it.
"""

from __future__ import annotations

import os
import stat
import sys


def read_stdin() -> str:
    """Standard input as UTF-8, decoded strictly (under a C or C.UTF-8
    locale Python's `sys.stdin` lets invalid bytes through as surrogates),
    with line ends translated as `open` translates them.

    Raises:
        UnicodeDecodeError: the bytes are not UTF-8.
        OSError: standard input cannot be read.
    """
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream that a caller put in place
        return sys.stdin.read()
    return buffer.read().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def is_input(output: str, input_file: str) -> bool:
    """Whether writing `output` would overwrite `input_file`: both name the
    same existing regular file (the same device and inode, so also through a
    symbolic link, a hard link or another spelling of the path). "-"
    (standard input or output) is never a file; nor is an input that is not
    a regular file, such as /dev/stdin, which may well be the terminal
    that output also goes to."""
    if output == "-" or input_file == "-":
        return False
    try:
        spec = os.stat(input_file)
        out = os.stat(output)
    except (OSError, ValueError):  # missing, a loop, a NUL in the name: not the input
        return False
    return stat.S_ISREG(spec.st_mode) and (spec.st_dev, spec.st_ino) == (out.st_dev, out.st_ino)


def write_output(path: str, data: str | bytes) -> None:
    """Write `data` (text is written as UTF-8, line ends as given) to `path`
    safely: atomically replacing a regular file or creating a new one, through
    a symbolic link to the file it points to, and in place into a device or
    FIFO (see the module's docstring).

    Raises:
        OSError: `path` cannot be written (its directory is missing or not
            writable, it is a directory, a link loop, the disk is full...);
            a regular file at `path` is then left as it was, and no
            temporary file remains.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        mode = os.stat(path).st_mode  # follows symbolic links
    except FileNotFoundError:  # nothing there, or a dangling link: create its target
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        _write_in_place(path, data)
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    if mode is None:
        umask = os.umask(0)
        os.umask(umask)
        permissions = 0o666 & ~umask
    else:
        permissions = stat.S_IMODE(mode) & 0o777
    import tempfile  # only when writing: a few milliseconds of a lint

    fd, tmp = tempfile.mkstemp(prefix=".legoc-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, permissions)
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def _write_in_place(path: str, data: bytes) -> None:
    """Write into an existing file that is not a regular file (a device, a
    FIFO: opening a FIFO waits for its reader, as the shell's `>` does)."""
    fd = os.open(path, os.O_WRONLY)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def stale_diff(out_path: str, name: str, new_text: str) -> tuple[str, str] | None:
    """None when `out_path` holds exactly the bytes legoc would write for
    `new_text`; otherwise (why, unified diff from `out_path` to `new_text`),
    `why` being "missing" or "stale: it differs from what NAME generates now".

    Raises:
        OSError: `out_path` exists but cannot be read (it is only read).
    """
    import difflib

    try:
        with open(out_path, "rb") as f:
            old = f.read()
    except FileNotFoundError:
        old, why = None, "missing"
    else:
        if old == new_text.encode("utf-8"):
            return None
        why = f"stale: it differs from what {name} generates now"
    old_lines = _lines((old or b"").decode("utf-8", errors="replace"))
    lines = difflib.unified_diff(old_lines, _lines(new_text), out_path, f"{out_path} (regenerated from {name})", n=3)
    # Like diff(1), mark a last line that has no newline.
    return why, "".join(line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines)


def _lines(text: str) -> list[str]:
    """Lines with their ends, split at "\\n" only (unlike str.splitlines)."""
    import io

    return io.StringIO(text, newline="\n").readlines()
