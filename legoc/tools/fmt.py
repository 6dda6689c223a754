"""`legoc fmt PATH...`: lay specs out in the canonical layout, as black does Python.

    legoc fmt [--check] [--diff] [-q] [--stdin-filename NAME] [--config PYPROJECT]
              [--color auto|always|never] PATH...

Directories are searched for `*.lego` as `legoc check` searches them
(walk.lego_files: excludes and .gitignore); `-` reads a spec from standard input and writes the
formatted spec to standard output. The layout is legoc/tools/formatter.py's
(docs/fmt.md). A file is rewritten only when its layout
changes, atomically (files.write_output); with `--check` or `--diff`
nothing is written: `--check` says which files would change, `--diff`
prints the changes as a unified diff.

A spec that does not parse is reported with its diagnostic, as `legoc
check` prints it, and left as it is. Exit status, as black's: 0 when
nothing changed or was to change, 1 with --check when a file would be
reformatted, 123 when a file could not be formatted (it does not parse,
cannot be read, or the formatter failed its own checks), 2 on a usage
error. The messages go to standard error, as black's: `reformatted X`
(`would reformat X` with --check or --diff), then unless -q a summary such
as "2 files would be reformatted, 30 files would be left unchanged." after
"All done!" (or "Oh no!" when the exit status is not 0).
"""

from __future__ import annotations

import argparse
import sys

from . import report
from .check import read_spec
from .config import ConfigError, add_config_option, discover_for
from .walk import STDIN, lego_files
from .files import read_stdin, write_output

DESCRIPTION = (
    "Format .lego specs in legoc's one canonical layout (docs/fmt.md). "
    "Exit status 0 when nothing changes (or would change), 1 with --check when a file would be reformatted, "
    "123 when a file cannot be formatted (a syntax error), 2 on usage errors."
)

ERROR = 123
"""The exit status when a file could not be formatted (black's)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`legoc fmt`'s description and options, on its subparser."""
    p.description = DESCRIPTION
    p.add_argument("paths", nargs="+", metavar="PATH", help='spec files, directories to search for *.lego, or "-" to format standard input to standard output')
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file would be reformatted")
    p.add_argument("--diff", action="store_true", help="write nothing; print the changes as a unified diff")
    p.add_argument("--stdin-filename", metavar="NAME", help="the file name of the spec read from standard input (-), which its diagnostics give (default: <stdin>)")
    p.add_argument("-q", "--quiet", action="store_true", help="say nothing but errors")
    add_config_option(p)
    report.add_color_option(p, "the diagnostics of specs that do not parse")


def _plural(n: int, word: str = "file") -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run(args: argparse.Namespace) -> int:
    """Run `legoc fmt` with its parsed arguments; returns the exit status
    (0, 1, 123 or 2: the module's docstring).

    Raises:
        argparse.ArgumentError: "-" given twice.
    """
    from ..core.diagnostics import Diagnostic, SourceFile, SpecError
    from ..syntax.parser import parse_recovering
    from .formatter import FormatError, format_text

    if args.paths.count(STDIN) > 1:
        raise argparse.ArgumentError(None, "standard input (-) can be formatted once")
    if args.stdin_filename is not None and STDIN not in args.paths:
        raise argparse.ArgumentError(None, "--stdin-filename names standard input; give - among the paths to format it")
    try:
        config = discover_for(args.paths, args.config, args.stdin_filename)
        files = lego_files(args.paths, config)
    except ConfigError as exc:
        print(f"legoc fmt: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"legoc fmt: error: {exc.args[0]}: no such file or directory", file=sys.stderr)
        return 2
    if not files:
        if not args.quiet:
            print("No .lego files are present to be formatted. Nothing to do.", file=sys.stderr)
        return 0
    quiet = args.quiet
    dry = args.check or args.diff
    color = report.color_enabled(args.color, sys.stderr)
    changed = same = failed = 0
    for path in files:
        name = (args.stdin_filename or "<stdin>") if path == STDIN else path
        try:
            text: str | Diagnostic = read_stdin() if path == STDIN else read_spec(path)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"error: cannot format {name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        if isinstance(text, Diagnostic):
            print(report.format_text([text], {}, color), file=sys.stderr)
            print(f"error: cannot format {name}: {text.message}", file=sys.stderr)
            failed += 1
            continue
        try:
            formatted = format_text(text, name, config.limits)
        except SpecError as exc:
            # Every syntax error, as `legoc check` reports them.
            found = parse_recovering(text, name, config.limits)[1] or exc.diagnostics
            print(report.format_text(list(found), {name: SourceFile(name, text)}, color), file=sys.stderr)
            print(f"error: cannot format {name}: it does not parse", file=sys.stderr)
            failed += 1
            continue
        except Exception as exc:  # FormatError, or another bug in legoc: black's status 123, not a traceback
            why = str(exc) if isinstance(exc, FormatError) else f"{type(exc).__name__}: {exc}"
            print(f"error: cannot format {name}: INTERNAL ERROR: {why} (a bug in legoc: please report it with the spec)", file=sys.stderr)
            failed += 1
            continue
        if formatted == text:
            same += 1
            if path == STDIN and not dry:
                sys.stdout.write(formatted)
            continue
        changed += 1
        if args.diff:
            sys.stdout.write(unified_diff(text, formatted, name))
        if path == STDIN and not dry:
            sys.stdout.write(formatted)
        elif not dry:
            try:
                write_output(path, formatted)
            except OSError as exc:
                print(f"error: cannot format {name}: cannot write it: {exc.strerror}", file=sys.stderr)
                changed, failed = changed - 1, failed + 1
                continue
        if not quiet:
            print(f"{'would reformat' if dry else 'reformatted'} {name}", file=sys.stderr)
    status = ERROR if failed else 1 if args.check and changed else 0
    if not quiet:
        print("Oh no!" if status else "All done!", file=sys.stderr)
        would = "would be " if dry else ""
        parts = []
        if changed:
            parts.append(f"{_plural(changed)} {would}reformatted")
        if same:
            parts.append(f"{_plural(same)} {would}left unchanged")
        if failed:
            parts.append(f"{_plural(failed)} {'would fail' if dry else 'failed'} to reformat")
        print(", ".join(parts) + ".", file=sys.stderr)
    return status


def unified_diff(before: str, after: str, name: str) -> str:
    """The changes from `before` to `after` (texts of the file `name`) as a
    unified diff, black's way: `--- NAME (original)`, `+++ NAME (formatted)`."""
    import difflib

    lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"{name}\t(original)", f"{name}\t(formatted)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
