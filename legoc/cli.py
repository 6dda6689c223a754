"""The `legoc` command line.

    legoc FILE [-o OUT]     compile FILE ("-": stdin) to OUT ("-" or absent: stdout)
    legoc FILE -o OUT --check [--diff]
                            write nothing; exit 1, printing a unified diff, when
                            OUT is missing or differs from what FILE generates now
    legoc FILE -o OUT --diff
                            write nothing; print the diff from OUT to what FILE
                            generates now, and exit 0
    legoc state-dict FILE [--model NAME] [--format text|json]
                            print the model's state_dict keys and shapes
    legoc graph FILE [--format mermaid|dot] [--depth N] [-o OUT]
                            draw the model as a Mermaid or Graphviz diagram
                            (legoc/tools/diagram.py; .svg/.png/.pdf OUT runs `dot`)
    legoc summary FILE [--input SIZES] [--batch N] [--depth N] [--format text|json]
                            print the model's layers, shapes, parameters and
                            mult-adds, and a memory estimate (legoc/tools/summary.py)
    legoc check PATH... [--format text|json|github|sarif] [--strict] ...
                            lint specs for CI (legoc/tools/check.py; PATH "-" reads
                            standard input, named by --stdin-filename)
    legoc --version

A subcommand's name comes first; a spec file with such a name is given as
`./check`, `./state-dict`, `./summary` or `./graph`.

Exit status: 0 on success, 1 when the spec has errors (or, with --check, OUT
is stale), 2 on a usage error, 3 on an internal error (a bug in legoc, reported
in one line; LEGOC_DEBUG=1 shows the traceback).
Ctrl-C ends any command with "legoc: interrupted" and exit status 130.
Diagnostics go to stderr as `FILE:LINE:COL: error: message`. OUT is written
only on success (legoc/tools/files.py): a regular file atomically, through a
symbolic link to its target, a device or FIFO in place; an error never
creates, truncates or changes it, and OUT that is FILE itself is refused
(exit 2).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from contextlib import contextmanager
from collections.abc import Iterator

from .core.version import __version__
from .core.diagnostics import SourceFile, SpecError, render
from .tools.files import is_input, read_stdin, write_output


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="legoc",
        description="Compile a .lego architecture spec to a standalone PyTorch module.",
    )
    parser.add_argument("file", metavar="FILE", help='the .lego spec; "-" reads standard input')
    parser.add_argument("-o", "--output", metavar="OUT", default="-", help='where to write the module; "-" (the default) is standard output')
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 (with a diff) when OUT is missing or differs from what FILE generates now")
    parser.add_argument("--diff", action="store_true", help="write nothing; print the unified diff from OUT to what FILE generates now")
    parser.add_argument("--version", action="version", version=f"legoc {__version__}")
    return parser


def _state_dict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="legoc state-dict",
        description="Print the state_dict keys and shapes of a spec's model, built with its default arguments, "
        "in the order torch's state_dict() gives them. Buffers (batch norm statistics) are marked.",
    )
    parser.add_argument("file", metavar="FILE", help='the .lego spec; "-" reads standard input')
    parser.add_argument("--model", metavar="NAME", help="the model to describe, when the spec has several")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (the default): aligned columns; json: {model, entries: [[key, shape], ...], buffers: [key, ...]}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
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
    if argv[:1] == ["check"]:
        from .tools.check import main as check_main

        return check_main(argv[1:])
    if argv[:1] == ["graph"]:
        from .tools.diagram import main as graph_main

        return graph_main(argv[1:])
    if argv[:1] == ["summary"]:
        from .tools.summary import main as summary_main

        return summary_main(argv[1:])
    if argv[:1] == ["state-dict"]:
        return _state_dict(_state_dict_parser().parse_args(argv[1:]))
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.check or args.diff) and args.output == "-":
        parser.error(f"{'--check' if args.check else '--diff'} needs -o OUT, the generated file to compare with")
    if refuses_input_as_output(args.file, args.output, "legoc"):
        return 2
    from .compiler import compile_source

    loaded = _load(args.file)
    if isinstance(loaded, int):
        return loaded
    name, text, sources = loaded
    config = _config()
    try:
        result = compile_source(text, name, config.limits)
    except SpecError as exc:
        return _report(exc, sources, config)
    for diag in _enabled(result.warnings, sources, config):
        print(render(diag, sources), file=sys.stderr)
    if args.check or args.diff:
        try:
            stale = _stale(args.output, name, result.code)
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


def refuses_input_as_output(file: str, output: str, prog: str) -> bool:
    """Whether `-o OUTPUT` is the spec FILE itself (the same file, also
    through a link), after saying so: writing it would replace the spec."""
    if not is_input(output, file):
        return False
    same = "" if output == file else f" (the same file as {file})"
    print(f"{prog}: error: -o {output} is the input spec{same}; writing it would replace the spec, so nothing was written", file=sys.stderr)
    return True


def _state_dict(args: argparse.Namespace) -> int:
    from .tools.instance import InstanceError
    from .tools.modelcli import load_model
    from .tools.statedict import state_dict_layout

    loaded = load_model(args.file, args.model, "legoc state-dict")
    if isinstance(loaded, int):
        return loaded
    analysis, model = loaded
    try:
        entries = state_dict_layout(analysis, model)
    except InstanceError as exc:  # as `legoc summary` and `legoc graph` say it
        print(f"legoc state-dict: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        doc = {
            "model": model,
            "entries": [[e.key, list(e.shape)] for e in entries],
            "buffers": [e.key for e in entries if e.buffer],
        }
        import json

        print(json.dumps(doc, indent=1))
        return 0
    params = [e for e in entries if not e.buffer]
    total = sum(_numel(e.shape) for e in params)
    print(f"# {model} with its default arguments: {len(params)} parameter tensors ({total:,} values), {len(entries) - len(params)} buffers")
    width = max((len(e.key) for e in entries), default=0)
    for e in entries:
        line = f"{e.key:<{width}}  [{', '.join(map(str, e.shape))}]"
        print(f"{line}  buffer" if e.buffer else line)
    return 0


def _config():
    """The settings under `[tool.legoc]` in the nearest pyproject.toml: lint
    rules and resource limits (the defaults, with a warning, when that table
    is not valid)."""
    from pathlib import Path

    from .tools.config import Config, ConfigError, discover

    try:
        config = discover(Path.cwd())
    except ConfigError as exc:
        print(f"legoc: warning: {exc}; using the default settings", file=sys.stderr)
        return Config()
    for warning in config.warnings:
        print(f"legoc: warning: {warning}", file=sys.stderr)
    return config


def _enabled(warnings, sources: dict[str, SourceFile], config) -> list:
    """The warnings that the lint settings (`config`, and `# legoc: ignore[...]`
    comments) let through."""
    from .tools.config import keep

    return [d for d in warnings if keep(d, config, sources)]


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for size in shape:
        n *= size
    return n


def _load(file: str) -> tuple[str, str, dict[str, SourceFile]] | int:
    """Read a spec: (name, text, sources for rendering: the spec and the
    prelude, which notes may point into), or an exit status after printing
    why it cannot be read."""
    from .compiler import PRELUDE_NAME, prelude_source

    name = "<stdin>" if file == "-" else file
    try:
        text = read_stdin() if file == "-" else _read(file)
    except OSError as exc:
        print(f"legoc: error: cannot read {file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"legoc: error: {name} is not UTF-8 text (byte {exc.start})", file=sys.stderr)
        return 1
    return name, text, {PRELUDE_NAME: prelude_source(), name: SourceFile(name, text)}


def _report(exc: SpecError, sources: dict[str, SourceFile], config) -> int:
    """Print a spec's errors, and the warnings found before them that the
    lint settings let through (as on success: `_enabled`)."""
    for diag in _enabled(exc.diagnostics, sources, config):
        print(render(diag, sources), file=sys.stderr)
    return 1


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _stale(out_path: str, name: str, new_text: str) -> tuple[str, str] | None:
    """None when `out_path` holds exactly the bytes legoc would write for
    `new_text`; otherwise (why, unified diff from `out_path` to `new_text`).
    Reads `out_path` only (OSError other than a missing file propagates)."""
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
