"""`legoc build FILE [-o OUT]`: compile a spec to one standalone PyTorch
module; `legoc FILE ...` is its shorthand. `legoc build [DIR]` builds the
build table of [tool.legoc.build] (legoc/tools/buildtable.py).

    legoc build FILE [-o OUT]      FILE "-": standard input; OUT "-" or absent: stdout
    legoc build FILE -o OUT --check [--diff]
                                   write nothing; exit 1, printing a unified diff,
                                   when OUT is missing or differs from what FILE
                                   generates now
    legoc build FILE -o OUT --diff write nothing; print that diff, and exit 0

    legoc build [DIR] [--check | --diff]
                                   every pair of the build table of the
                                   nearest pyproject.toml above DIR (default:
                                   the current directory) whose spec lies
                                   under DIR: regenerate the outputs that
                                   differ from what their spec generates now
                                   (an output already equal is not written,
                                   so its mtime stays); --check writes
                                   nothing and exits 1 listing every stale or
                                   missing output, with its diff on stdout

Diagnostics go to stderr. OUT is written only on success, with
files.write_output (atomically; an error never creates, truncates or
changes it), and OUT that is FILE itself is refused (exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys


DESCRIPTION = (
    "Compile a .lego architecture spec to one standalone, black-formatted PyTorch module. "
    "`legoc FILE [options]` is short for `legoc build FILE [options]`."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's description, FILE and options, on its subparser."""
    parser.description = DESCRIPTION
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help='the .lego spec; "-" reads standard input. A directory, or none: build the pairs of [tool.legoc.build] '
        "(of the nearest pyproject.toml above it) whose spec lies under it",
    )
    parser.add_argument("-o", "--output", metavar="OUT", default="-", help='where to write the module; "-" (the default) is standard output')
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 (with a diff) when OUT is missing or differs from what FILE generates now")
    parser.add_argument("--diff", action="store_true", help="write nothing; print the unified diff from OUT to what FILE generates now")
    parser.add_argument(
        "--exit-non-zero-on-write",
        action="store_true",
        help="build table: exit 1 when an output was written (as ruff's --exit-non-zero-on-fix; the legoc-build "
        "pre-commit hook uses it, so that a new module, which pre-commit does not see as modified, fails the hook too)",
    )
    from .config import add_config_option
    from .report import add_color_option

    add_config_option(parser)
    add_color_option(parser, "the diagnostics on stderr")


def run(args: argparse.Namespace) -> int:
    """Compile `args.file`; returns the exit status (0; 1: the spec has
    errors, or with --check OUT is stale; 2: a usage error, or FILE or OUT
    cannot be read or written).

    Raises:
        argparse.ArgumentError: --check or --diff without -o OUT (the
            command line prints it as a usage error).
    """
    if args.file is None or (args.file != "-" and os.path.isdir(args.file)):
        if args.output != "-":
            raise argparse.ArgumentError(None, "-o OUT builds one FILE; the build table ([tool.legoc.build]) names its outputs")
        from .buildrun import build_table

        return build_table(args.file or ".", args.config, args.color, check=args.check, diff=args.diff, fail_on_write=args.exit_non_zero_on_write)
    from ..compiler import compile_source
    from .files import stale_diff, write_output
    from .specfile import checked, refuses_input_as_output

    if (args.check or args.diff) and args.output == "-":
        raise argparse.ArgumentError(None, f"{'--check' if args.check else '--diff'} needs -o OUT, the generated file to compare with")
    if args.exit_non_zero_on_write:
        raise argparse.ArgumentError(None, "--exit-non-zero-on-write is for the build table (`legoc build [DIR]`)")
    if refuses_input_as_output(args.file, args.output, "legoc"):
        return 2
    def stage(text: str, name: str, limits):
        result = compile_source(text, name, limits)
        return result, result.warnings

    loaded = checked(args.file, args.config, args.color, "legoc", stage)
    if isinstance(loaded, int):
        return loaded
    spec, _, result = loaded
    if args.check or args.diff:
        try:
            stale = stale_diff(args.output, spec.name, result.code)
        except OSError as exc:
            print(f"legoc: error: cannot read {args.output}: {exc.strerror}", file=sys.stderr)
            return 2
        if stale is None:
            return 0
        why, diff = stale
        if args.check:
            print(f"would regenerate {args.output} ({why})", file=sys.stderr)
        sys.stdout.write(diff)
        return 1 if args.check else 0
    if args.output == "-":
        sys.stdout.write(result.code)
        return 0
    try:
        write_output(args.output, result.code)
    except OSError as exc:
        print(f"legoc: error: cannot write {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
