"""Reading one spec for a command that compiles or describes it (`legoc
build`, `summary`, `graph`, `state-dict`): its text, the `[tool.legoc]`
settings it is checked under, printing its diagnostics, and refusing an
`-o OUT` that is the spec itself.

Every function prints what went wrong to stderr and returns an exit status
instead of raising, so that a command can `return` it. (`legoc check`
reads many files, and reports an unreadable one as a diagnostic:
legoc/tools/check.py.)
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NamedTuple

from ..core.diagnostics import Diagnostic, SourceFile, SpecError, render
from .files import is_input, read_stdin

if TYPE_CHECKING:  # pragma: no cover
    from .config import Config


class Spec(NamedTuple):
    """A spec read for a command: the name diagnostics give it ("<stdin>"
    for "-"), its text, and the sources diagnostics are rendered from (the
    spec and the prelude, which notes may point into)."""

    name: str
    text: str
    sources: dict[str, SourceFile]


def read_spec_file(file: str) -> Spec | int:
    """Read the spec at `file` ("-": standard input, decoded as UTF-8);
    or return an exit status after printing why it cannot be read (2: it
    cannot be opened or read; 1: it is not UTF-8, a mistake in the spec)."""
    from ..compiler import PRELUDE_NAME, prelude_source

    name = "<stdin>" if file == "-" else file
    try:
        text = read_stdin() if file == "-" else _read(file)
    except OSError as exc:
        print(f"legoc: error: cannot read {file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"legoc: error: {name} is not UTF-8 text (byte {exc.start})", file=sys.stderr)
        return 1
    return Spec(name, text, {PRELUDE_NAME: prelude_source(), name: SourceFile(name, text)})


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_config(path: str | None, prog: str, file: str = "-") -> Config | int:
    """The settings under `[tool.legoc]` (lint rules, resource limits) that
    a command runs with, after printing their warnings (a limit lowered).

    Args:
        path: `--config PYPROJECT`; None reads the nearest pyproject.toml
            with a [tool.legoc] table from `file`'s directory up to the
            repository root (config.discover_for).
        prog: the command's name, for the message when the settings cannot
            be used.
        file: the spec the command runs on ("-": standard input, whose
            settings are found from the current directory).

    Returns:
        The settings, or 2 after printing why a pyproject.toml cannot be
        read or is not valid (naming the file, and the setting).
    """
    from .config import ConfigError, discover_for

    try:
        config = discover_for([file], path)
    except ConfigError as exc:  # the same for every command: a usage error, as in `legoc check`
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    for warning in config.warnings:
        print(f"legoc: warning: {warning}", file=sys.stderr)
    return config


def enabled(diagnostics, sources: dict[str, SourceFile], config: Config) -> list[Diagnostic]:
    """The diagnostics that the lint settings (`config`, and `# legoc:
    ignore[...]` comments in `sources`) let through; errors always pass."""
    from .config import keep

    return [d for d in diagnostics if keep(d, config, sources)]


def print_diagnostics(diagnostics, sources: dict[str, SourceFile], color: bool) -> None:
    """Print diagnostics to stderr as `render` writes them (FILE:LINE:COL:
    severity: message, the source line, notes, help), styled when `color`."""
    if not diagnostics:
        return
    if color:
        from .report import format_text  # imports click

        print(format_text(list(diagnostics), sources, True), file=sys.stderr)
        return
    for diag in diagnostics:
        print(render(diag, sources), file=sys.stderr)


def report_errors(exc: SpecError, sources: dict[str, SourceFile], config: Config, color: bool) -> int:
    """Print a spec's errors, and the warnings found before them that the
    lint settings let through (as on success); return 1, the status of a
    spec with errors."""
    print_diagnostics(enabled(exc.diagnostics, sources, config), sources, color)
    return 1


def checked(file: str, config_path: str | None, color_option: str, prog: str, stage):
    """What every command that compiles or describes one spec does first:
    read `file`, load the settings (`config_path`, as `load_config`), run
    `stage(text, name, limits)` (the compiler's `compile_source` or
    `check_source`, which returns (its result, the warnings it found)), and
    print the warnings the settings let through, coloured as
    `color_option` ("auto", "always", "never") says for stderr.

    Returns:
        (the spec, its settings, the stage's result); or an exit status
        after printing why not: 1 the spec has errors (printed), 2 the
        spec or the settings cannot be read.

    Raises:
        Whatever `stage` raises besides SpecError.
    """
    from .report import color_enabled

    spec = read_spec_file(file)
    if isinstance(spec, int):
        return spec
    config = load_config(config_path, prog, file)
    if isinstance(config, int):
        return config
    color = color_enabled(color_option, sys.stderr)
    try:
        result, warnings = stage(spec.text, spec.name, config.limits)
    except SpecError as exc:
        return report_errors(exc, spec.sources, config, color)
    print_diagnostics(enabled(warnings, spec.sources, config), spec.sources, color)
    return spec, config, result


def refuses_input_as_output(file: str, output: str, prog: str, option: str = "-o") -> bool:
    """Whether `-o OUTPUT` (or another `option`) is the spec FILE itself
    (the same file, also through a link), after saying so: writing it
    would replace the spec."""
    if not is_input(output, file):
        return False
    same = "" if output == file else f" (the same file as {file})"
    print(f"{prog}: error: {option} {output} is the input spec{same}; writing it would replace the spec, so nothing was written", file=sys.stderr)
    return True
