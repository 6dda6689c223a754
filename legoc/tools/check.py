"""`legoc check PATH...`: lint specs for CI, reporting every problem.

    legoc check [--format text|json|github|gitlab|junit|sarif] [--strict] [--select CODES]
                [--ignore CODES] [--config PYPROJECT] [--color auto|always|never]
                [--stdin-filename NAME] [--output-file PATH] [--exit-zero]
                [-q] PATH...

Directories are searched for `*.lego` files (hidden directories skipped,
only regular files read); `-` reads a spec from standard input, which
`--stdin-filename` names. A file that cannot be read (a dangling link, a
link loop, a FIFO given by name) is a diagnostic, LG106, and the others
are still checked.
The report goes to standard output, or with `--output-file PATH` to PATH
(files.write_output: atomically; never one of the specs checked).
Exit status: 0 when clean, 1 when any file has an error (or, with
--strict, a warning; 0 whatever the specs hold with --exit-zero), 2 on a
usage error. Nothing here imports torch, black
or jinja2 (a test checks `sys.modules`).
"""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from dataclasses import dataclass, replace

from ..core.version import __version__
from ..core.codes import CODES
from ..compiler import PRELUDE_NAME, analyze_partial, model_parameters, prelude_source, with_settings
from .config import Config, ConfigError, add_config_option, discover_for, keep
from .settings import add_set_option, settings_of
from ..core.diagnostics import Diagnostic, SourceFile, Span
from . import report
from .files import read_stdin
from .walk import NO_FILES, STDIN, lego_files
from ..syntax.parser import parse_recovering
from ..syntax.tree import Program
from ..ir.nodes import ClassIR


def check_text(text: str, name: str, config: Config | None = None, settings: dict[str, object] | None = None, seen: set[str] | None = None) -> list[Diagnostic]:
    """Every problem in one spec, in source order: syntax errors (parsing
    goes on after each), errors of every definition, and the warnings that
    `config` enables.

    Args:
        text: the .lego source.
        name: the file name diagnostics report.
        config: the lint settings (None: the defaults).
        settings: values for its models' parameters (`--set`), in place of
            their defaults; names that are not its models' parameters are
            left out.
        seen: where given, gets the names of its models' parameters.
    """
    return check_document(text, name, config, settings, seen).diagnostics


@dataclass(frozen=True)
class Checked:
    """What `check_document` finds in one spec: its diagnostics (as
    `check_text` returns them), the syntax tree that parsed (after error
    recovery), and the classes analysed (where the spec has errors, those
    shape inference did analyse), with the shape after every statement."""

    diagnostics: list[Diagnostic]
    program: Program
    classes: tuple[ClassIR, ...]


def check_document(text: str, name: str, config: Config | None = None, settings: dict[str, object] | None = None, seen: set[str] | None = None) -> Checked:
    """`check_text`, keeping the syntax tree and the analysed classes (for
    the language server: legoc/tools/lsp/); the same arguments."""
    config = config or Config()
    program, found, broken = parse_recovering(text, name, config.limits)
    if seen is not None:
        seen |= model_parameters(program)
    if settings:
        program = with_settings(program, settings, strict=False)
    _, diags, classes = analyze_partial(program, broken, config.limits)
    return Checked(reported(found + diags, name, text, config), program, classes)


def reported(diags, name: str, text: str, config: Config) -> list[Diagnostic]:
    """The diagnostics of the spec `name` (source `text`) that `config` and
    its `# legoc: ignore` comments keep, each once, in source order."""
    sources = {name: SourceFile(name, text)}
    unique: dict[tuple, Diagnostic] = {}
    for d in diags:
        if keep(d, config, sources):
            unique.setdefault((d.span.file, d.span.line, d.span.column, d.code, d.message), d)
    return sorted(unique.values(), key=lambda d: (d.span.line, d.span.column, d.code))


def read_spec(path: str) -> str | Diagnostic:
    """The text of the spec at `path`, or the diagnostic (LG105, LG106) that
    says why it cannot be checked: not UTF-8; a dangling link, a link loop,
    no permission; or not a regular file (a FIFO, a device, a directory),
    which is never opened for reading, so that it cannot block."""
    at = Span(path, 1, 1, 1, 1)
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return Diagnostic("error", at, f"the file cannot be read: {_why(path, exc)}", code="LG106")
    with os.fdopen(fd, "rb") as f:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            return Diagnostic("error", at, f"the file cannot be read: it is {kind}, not a regular file", code="LG106")
        try:
            data = f.read()
        except OSError as exc:
            return Diagnostic("error", at, f"the file cannot be read: {exc.strerror}", code="LG106")
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        return Diagnostic("error", at, f"the file is not UTF-8 text (byte {exc.start})", code="LG105")


def _why(path: str, exc: OSError) -> str:
    """Why `path` cannot be opened, in words: a link's trouble named as such."""
    if exc.errno == errno.ELOOP:
        return "its symbolic links form a loop"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"it is a symbolic link to `{os.readlink(path)}`, which does not exist"
    return exc.strerror or str(exc)


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is (None for a regular file)."""
    for test, kind in ((stat.S_ISREG, None), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


DESCRIPTION = (
    "Check .lego specs: syntax, names, shapes and lint rules, without torch. "
    "Exit status 0 when clean, 1 on errors (or warnings with --strict; 0 with --exit-zero), 2 on usage errors."
)


FORMATS = ("text", "json", "github", "gitlab", "junit", "sarif")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`legoc check`'s description and options, on its subparser."""
    p.description = DESCRIPTION
    p.add_argument("paths", nargs="*", metavar="PATH", help='spec files, directories to search for *.lego, or "-" for standard input')
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="output format (default: text): text; json (docs/diagnostics.schema.json); github (GitHub Actions "
        "annotations); gitlab (a GitLab Code Quality report); junit (JUnit XML, for test reports); sarif (SARIF 2.1.0, "
        "for GitHub code scanning)",
    )
    p.add_argument("--strict", action="store_true", default=None, help="warnings fail the check too")
    p.add_argument("--select", metavar="CODES", help="comma-separated lint codes or prefixes to enable (replaces the configured set)")
    p.add_argument("--ignore", metavar="CODES", help="comma-separated lint codes or prefixes to disable (adds to the configured set)")
    add_config_option(p)
    p.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="the file name of the spec read from standard input (-): the name diagnostics give, and the path "
        "per-file-ignores patterns are matched with (default: <stdin>); without other paths, standard input is checked",
    )
    p.add_argument(
        "--output-file",
        metavar="PATH",
        help='write the report to PATH instead of standard output ("-"), replacing it atomically; never one of the '
        "specs checked. It is coloured only with --color always",
    )
    add_set_option(p)
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when a spec has errors (usage errors still exit 2)")
    p.add_argument("-q", "--quiet", action="store_true", help="print the diagnostics, but not the closing summary line")
    report.add_color_option(p, "the text report")


def main(argv: list[str]) -> int:
    """Run `legoc check` with its arguments (without the word `check`), as
    the command line does; returns the exit status. A usage error prints
    the usage and raises SystemExit(2), as argparse does."""
    p = argparse.ArgumentParser(prog="legoc check")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except argparse.ArgumentError as exc:
        p.error(exc.message)


def run(args: argparse.Namespace) -> int:
    """Run `legoc check` with its parsed arguments; returns the exit status
    (0: clean, or --exit-zero; 1: a spec has an error, or with --strict a
    warning; 2: a usage error, a bad configuration, or --output-file cannot
    be written).

    Raises:
        argparse.ArgumentError: the paths given do not go together (none,
            "-" twice, --stdin-filename without "-"); the command line
            prints it as a usage error.
    """
    if not args.paths and args.stdin_filename is not None:
        args.paths = [STDIN]  # as ruff does: a name for standard input implies reading it
    if not args.paths:
        raise argparse.ArgumentError(None, "the following arguments are required: PATH")
    if args.paths.count(STDIN) > 1:
        raise argparse.ArgumentError(None, "standard input (-) can be checked once")
    if args.stdin_filename is not None and STDIN not in args.paths:
        raise argparse.ArgumentError(None, "--stdin-filename names standard input; give - among the paths to check it")
    try:
        config = discover_for(args.paths, args.config, args.stdin_filename)
        for warning in config.warnings:
            print(f"legoc check: warning: {warning}", file=sys.stderr)
        config = _with_options(config, args)
        files = lego_files(args.paths, config)
    except ConfigError as exc:
        print(f"legoc check: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"legoc check: error: {exc.args[0]}: no such file or directory", file=sys.stderr)
        return 2
    if not files:  # as ruff: a warning, and exit 0
        print(f"legoc check: warning: {NO_FILES}", file=sys.stderr)
    if not _to_stdout(args):
        from .specfile import refuses_input_as_output

        if any(refuses_input_as_output(f, args.output_file, "legoc check", "--output-file") for f in files):
            return 2
    sources: dict[str, SourceFile] = {PRELUDE_NAME: prelude_source()}
    diags: list[Diagnostic] = []
    settings, seen = settings_of(args), set()
    for path in files:
        if path == STDIN:
            name = args.stdin_filename or "<stdin>"
            text = _read_stdin(name)
        else:
            name, text = path, read_spec(path)
        if isinstance(text, Diagnostic):
            diags.append(text)
            continue
        sources[name] = SourceFile(name, text)
        diags += check_text(text, name, config, settings, seen)
    unknown = [k for k in settings if k not in seen]
    if unknown:
        from ..core.naming import close_match

        close = close_match(unknown[0], seen)
        print(f"legoc check: error: --set {unknown[0]}: no model of the specs checked has a parameter `{unknown[0]}`" + (f"; did you mean `{close}`?" if close else ""), file=sys.stderr)
        return 2
    report_text = _report(diags, sources, args, len(files))
    if _to_stdout(args):
        sys.stdout.write(report_text)
    else:
        from .files import write_output

        try:
            write_output(args.output_file, report_text)
        except OSError as exc:
            print(f"legoc check: error: cannot write {args.output_file}: {exc.strerror}", file=sys.stderr)
            return 2
    errors = sum(d.severity == "error" for d in diags)
    failed = errors or (config.strict and diags)
    return 1 if failed and not args.exit_zero else 0


def _read_stdin(name: str) -> str | Diagnostic:
    """Standard input's text, or the diagnostic that says why it cannot be
    checked (LG105, LG106), reported under `name`."""
    at = Span(name, 1, 1, 1, 1)
    try:
        return read_stdin()
    except UnicodeDecodeError as exc:
        return Diagnostic("error", at, f"the file is not UTF-8 text (byte {exc.start})", code="LG105")
    except OSError as exc:
        return Diagnostic("error", at, f"the file cannot be read: {exc.strerror}", code="LG106")


def _with_options(config: Config, args: argparse.Namespace) -> Config:
    split = lambda text: tuple(c.strip() for c in text.split(",") if c.strip())  # noqa: E731
    for option in (args.select, args.ignore):
        for code in split(option or ""):
            if not code.startswith("LG") or not any(known.startswith(code) for known in CODES):
                raise ConfigError(f"`{code}` is not a legoc code or code prefix")
    if args.select is not None:
        config = replace(config, select=split(args.select))
    if args.ignore is not None:
        config = replace(config, ignore=config.ignore + split(args.ignore))
    if args.strict:
        config = replace(config, strict=True)
    return config


def _to_stdout(args: argparse.Namespace) -> bool:
    """Whether the report goes to standard output (no --output-file, or `-`)."""
    return args.output_file in (None, STDIN)


def _report(diags: list[Diagnostic], sources: dict[str, SourceFile], args: argparse.Namespace, n_files: int) -> str:
    """The report in `args.format`, ending in a newline unless it is empty:
    text is the diagnostics and, unless --quiet, the summary line."""
    if args.format == "json":
        return report.format_json(diags) + "\n"
    if args.format == "github":
        text = report.format_github(diags)
        return f"{text}\n" if text else ""
    if args.format == "sarif":
        return report.format_sarif(diags, __version__) + "\n"
    if args.format in ("gitlab", "junit"):
        from . import cireports

        if args.format == "gitlab":
            return cireports.format_gitlab(diags) + "\n"
        checked = [name for name in sources if name != PRELUDE_NAME]
        return cireports.format_junit(diags, checked) + "\n"
    if _to_stdout(args):
        color = report.color_enabled(args.color, sys.stdout)
    else:  # only when asked for by name: FORCE_COLOR, set for CI logs, should not put escape codes in a report file
        color = args.color == "always"
    lines = [report.format_text(diags, sources, color)] if diags else []
    if not args.quiet:
        errors = sum(d.severity == "error" for d in diags)
        lines.append(report.summary_line(errors, len(diags) - errors, n_files))
    return "".join(f"{line}\n" for line in lines)
