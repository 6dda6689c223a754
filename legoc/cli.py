"""The `legoc` command line: one argparse parser, one subcommand per tool.

    legoc build FILE [-o OUT] [--check] [--diff]   compile (legoc/tools/build.py)
    legoc build [DIR] [--check] [--diff]           the build table, [tool.legoc.build]
                                                   (legoc/tools/buildrun.py)
    legoc FILE [-o OUT] [--check] [--diff]         the same: FILE is not a command
    legoc check PATH... [--format ...] [--output-file PATH] [--exit-zero] [-q]
                                                   lint specs (legoc/tools/check.py)
    legoc summary FILE [--input SIZES] ...         layers, parameters, mult-adds
                                                   (legoc/tools/summary.py)
    legoc graph FILE [--format mermaid|dot] ...    a diagram (legoc/tools/diagram.py)
    legoc state-dict FILE [--format text|json]     state_dict keys and shapes
                                                   (legoc/tools/statedict.py)
    legoc fmt PATH... [--check] [--diff] [-q]      lay specs out canonically
                                                   (legoc/tools/fmt.py)
    legoc lsp                                      the language server (legoc/tools/lsp/)
    legoc help [COMMAND]                           `legoc --help`, `legoc COMMAND --help`
    legoc --version

Every command takes `--color auto|always|never` and, except `help`,
`--config PYPROJECT` (legoc/tools/report.py, legoc/tools/config.py). Each
command's module adds its options to its subparser (`add_arguments(parser)`)
and runs it (`run(args) -> int`, raising argparse.ArgumentError for
arguments that do not go together); only the module of the command being
run is imported, so that `legoc check` and `legoc --version` start fast.

A first argument that is not a command is a spec to build when it is `-`,
an existing path, ends in `.lego` or holds a `/`; otherwise it is an
unknown command (exit 2, with a "did you mean"). A spec file named like a
command is given as `./check`.

Exit status: 0 on success, 1 when the spec has errors (or, with --check, OUT
is stale), 2 on a usage error, 3 on an internal error (a bug in legoc, reported
in one line; LEGOC_DEBUG=1 shows the traceback).
Ctrl-C ends any command with "legoc: interrupted" and exit status 130.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from contextlib import contextmanager
from collections.abc import Iterator

from .core.version import __version__

# The commands, in the order `legoc --help` lists them, with their line there.
COMMANDS = {
    "build": "compile a spec to a standalone PyTorch module (short: `legoc FILE -o OUT`), or every spec of [tool.legoc.build]",
    "check": "lint specs for CI: every error and lint warning, without torch",
    "summary": "print a model's layers, output shapes, parameters, mult-adds and memory",
    "graph": "draw a model as a Mermaid or Graphviz diagram",
    "state-dict": "print a model's state_dict keys and shapes, in torch's order",
    "fmt": "format specs in the one canonical layout, as black does Python (--check, --diff)",
    "lsp": "run the language server over standard input and output (needs pip install 'legoc[lsp]')",
    "help": "show this help, or a command's: `legoc help check`",
}

# Words a newcomer may try for a command, and the command they mean (a
# spelling mistake is found by its letters, `naming.close_match`).
SYNONYMS = {"compile": "build", "lint": "check", "format": "fmt", "black": "fmt", "diagram": "graph", "draw": "graph", "info": "summary", "statedict": "state-dict"}

USAGE = "legoc [-h] [--version] COMMAND [ARGS...]\n       legoc FILE [-o OUT] [--check] [--diff] [OPTIONS...]"
DESCRIPTION = "Compile .lego architecture specs to standalone PyTorch modules, and check, summarise and draw them."
EPILOG = """\
`legoc FILE [-o OUT] [--check] [--diff]` is short for `legoc build FILE ...`;
a spec file named like a command is given as ./check. `legoc help COMMAND`
shows a command's options.

Exit status: 0 on success, 1 when a spec has errors (or with --check OUT is
stale), 2 on a usage error, 3 on an internal error (a bug in legoc;
LEGOC_DEBUG=1 shows the traceback), 130 when interrupted."""


def _tool(command: str):
    """The module that implements `command` (imported now, and only it)."""
    if command == "build":
        from .tools import build as module
    elif command == "check":
        from .tools import check as module
    elif command == "summary":
        from .tools import summary as module
    elif command == "graph":
        from .tools import diagram as module
    elif command == "state-dict":
        from .tools import statedict as module
    elif command == "fmt":
        from .tools import fmt as module
    elif command == "lsp":
        from .tools import lsp as module
    else:
        raise ValueError(f"no module runs `{command}`")
    return module


def _add_help_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Show legoc's help, or a command's (the same as `legoc COMMAND --help`)."
    parser.add_argument("command", nargs="?", metavar="COMMAND", help=f"one of {', '.join(c for c in COMMANDS if c != 'help')}")


def parser(command: str | None = None, prog: str | None = None) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]:
    """The command line's parser, listing every command in its help, with
    the subparser of `command` (None: none) and its options; returns (the
    parser, that subparser). `prog` renames the subparser (the `legoc FILE`
    shorthand is `legoc`)."""
    width = max(map(len, COMMANDS)) + 2
    listing = "\n".join(f"  {name:<{width}}{line}" for name, line in COMMANDS.items())
    main = argparse.ArgumentParser(
        prog="legoc",
        usage=USAGE,
        description=f"{DESCRIPTION}\n\ncommands:\n{listing}",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    main.add_argument("--version", action="version", version=f"legoc {__version__}")
    # The commands are listed in the description above, one line each
    # (argparse's own listing would add a line for the group and wrap the
    # names); only the command being run gets its subparser, so that a run
    # builds two parsers, not seven.
    commands = main.add_subparsers(dest="command", prog="legoc", help=argparse.SUPPRESS)
    chosen = None
    if command is not None:
        chosen = commands.add_parser(command, help=COMMANDS[command], **({"prog": prog} if prog else {}))
        if command == "help":
            _add_help_arguments(chosen)
        else:
            _tool(command).add_arguments(chosen)
        if command == "build":  # `legoc FILE --version` printed the version before subcommands
            chosen.add_argument("--version", action="version", version=f"legoc {__version__}", help=argparse.SUPPRESS)
    return main, chosen


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (None: `sys.argv[1:]`); returns the
    exit status. `--help`, `--version` and a usage error raise SystemExit
    (0, 0 and 2), as argparse does."""
    try:
        with fewer_collections():
            return _main(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:  # Ctrl-C: one line, and the status a shell gives SIGINT
        print("legoc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `legoc state-dict x.lego | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug in legoc: say so in one line, not a traceback
        if os.environ.get("LEGOC_DEBUG"):
            raise
        print(
            f"legoc: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in legoc, not in your spec. Please report it with the spec; "
            "LEGOC_DEBUG=1 shows the traceback.",
            file=sys.stderr,
        )
        return 3


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector triggered far
    less often (the first generation at 50,000 allocations instead of 700,
    the second after 100 of those instead of 10), then restore its settings.

    Compiling allocates many objects and frees almost none until the end;
    with the default settings, the collector's full passes over that
    growing heap are a fifth of a 10,000-layer build (docs/performance.md).
    At 100,000 layers, second-generation passes every 20 first ones still
    took a tenth of a check (7.0 s against 6.3 s in-process).
    The command line runs inside this; `compiler.compile_source` itself
    leaves the collector alone, as a library should. (Here, not in
    compiler.py: `legoc --version` should not import the compiler.)
    """
    before = gc.get_threshold()
    gc.set_threshold(50_000, 100, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _main(argv: list[str]) -> int:
    command, argv, prog = _route(argv)
    if command is None:  # no command: `legoc`, `legoc --help`, `legoc --version`, or an unknown word
        main, _ = parser()
        if not argv:
            main.print_usage(sys.stderr)
            print("legoc: error: give a spec FILE to build, or a COMMAND (`legoc help` lists them)", file=sys.stderr)
            return 2
        main.parse_args(argv)  # prints the help or the version and exits, or exits on a usage error
        return 2
    main, sub = parser(command, prog)
    assert sub is not None
    args = main.parse_args(argv)
    if command == "help":
        return _help(args.command)
    try:
        return _tool(command).run(args)
    except argparse.ArgumentError as exc:  # arguments that do not go together
        sub.error(exc.message)  # the command's usage, and exit 2
        raise  # unreachable: error() exits


def _route(argv: list[str]) -> tuple[str | None, list[str], str | None]:
    """(the command to run or None, the arguments for the parser, the
    subparser's prog): `legoc FILE ...` becomes `legoc build FILE ...`
    under the name `legoc`; an unknown command is a usage error, raised as
    SystemExit(2) after saying so."""
    if not argv:
        return None, argv, None
    first = argv[0]
    if first in COMMANDS:
        return first, argv, None
    if first in ("-h", "--help", "--version"):
        return None, argv, None
    if first.startswith("-") or _names_a_spec(first):
        return "build", ["build", *argv], "legoc"
    _unknown_command(first)
    raise AssertionError("unreachable")  # pragma: no cover


def _names_a_spec(word: str) -> bool:
    """Whether a first argument that is not a command is a spec to build:
    "-" (standard input), an existing path, a name ending in .lego, or a
    path with a directory in it."""
    return word == "-" or word.endswith(".lego") or "/" in word or os.sep in word or os.path.lexists(word)


def _unknown_command(word: str) -> None:
    """Say that `word` is no command (with the command it most likely
    means) and exit with status 2."""
    from .core.naming import close_match

    guess = SYNONYMS.get(word.lower()) or close_match(word.lower(), COMMANDS)
    hint = f"; did you mean `{guess}`?" if guess else f" (the commands are {', '.join(COMMANDS)}; a spec file named so is given as ./{word})"
    print(f"usage: {USAGE}", file=sys.stderr)
    print(f"legoc: error: unknown command `{word}`{hint}", file=sys.stderr)
    raise SystemExit(2)


def _help(command: str | None) -> int:
    """`legoc help [COMMAND]`: print the help of legoc or of COMMAND."""
    if command is None:
        parser()[0].print_help()
        return 0
    if command not in COMMANDS:
        _unknown_command(command)
    _, sub = parser(command)
    assert sub is not None
    sub.print_help()
    return 0
