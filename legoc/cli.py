"""The `legoc` command line.

    legoc FILE [-o OUT]     compile FILE ("-": stdin) to OUT ("-" or absent: stdout)
    legoc --version

Exit status: 0 on success, 1 when the spec has errors, 2 on a usage error.
Diagnostics go to stderr as `FILE:LINE:COL: error: message`. OUT is written
atomically and only on success: an error never creates, truncates or
changes it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from . import __version__
from .diagnostics import SourceFile, SpecError, render


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="legoc",
        description="Compile a .lego architecture spec to a standalone PyTorch module.",
    )
    parser.add_argument("file", metavar="FILE", help='the .lego spec; "-" reads standard input')
    parser.add_argument("-o", "--output", metavar="OUT", default="-", help='where to write the module; "-" (the default) is standard output')
    parser.add_argument("--version", action="version", version=f"legoc {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    from .compiler import PRELUDE_NAME, compile_source

    name = "<stdin>" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else _read(args.file)
    except OSError as exc:
        print(f"legoc: error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"legoc: error: {args.file} is not UTF-8 text (byte {exc.start})", file=sys.stderr)
        return 1
    sources = {name: SourceFile(name, text)}
    try:
        result = compile_source(text, name)
    except SpecError as exc:
        from .resources import read_text

        sources[PRELUDE_NAME] = SourceFile(PRELUDE_NAME, read_text("grammar", "prelude.lego"))
        for diag in exc.diagnostics:
            print(render(diag, sources), file=sys.stderr)
        return 1
    for diag in result.warnings:
        print(render(diag, sources), file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(result.code)
        return 0
    try:
        _write_atomically(args.output, result.code)
    except OSError as exc:
        print(f"legoc: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _write_atomically(path: str, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".legoc-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
