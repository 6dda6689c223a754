"""`legoc check PATH...`: lint specs for CI, reporting every problem.

    legoc check [--format text|json|github|sarif] [--strict] [--select CODES]
                [--ignore CODES] [--config PYPROJECT] [--color auto|always|never] PATH...

Directories are searched for `*.lego` files (hidden directories skipped).
Exit status: 0 when clean, 1 when any file has an error (or, with
--strict, a warning), 2 on a usage error. Nothing here imports torch, black
or jinja2 (a test checks `sys.modules`).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from . import __version__
from .codes import CODES
from .compiler import PRELUDE_NAME, analyze_program, prelude_source
from .config import Config, ConfigError, discover, keep
from .diagnostics import Diagnostic, SourceFile, Span
from .parser import parse_recovering


def check_text(text: str, name: str, config: Config | None = None) -> list[Diagnostic]:
    """Every problem in one spec, in source order: syntax errors (parsing
    goes on after each), errors of every definition, and the warnings that
    `config` enables.

    Args:
        text: the .lego source.
        name: the file name diagnostics report.
        config: the lint settings (None: the defaults).
    """
    config = config or Config()
    program, found, broken = parse_recovering(text, name, config.limits)
    _, diags = analyze_program(program, broken, config.limits)
    diags = found + diags
    sources = {name: SourceFile(name, text)}
    unique: dict[tuple, Diagnostic] = {}
    for d in diags:
        if keep(d, config, sources):
            unique.setdefault((d.span.file, d.span.line, d.span.column, d.code, d.message), d)
    return sorted(unique.values(), key=lambda d: (d.span.line, d.span.column, d.code))


def lego_files(paths: list[str]) -> list[Path]:
    """The files to check: each file given, and every `*.lego` under each
    directory given, in a stable order.

    Raises:
        FileNotFoundError: a path does not exist.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [Path(root) / n for n in sorted(names) if n.endswith(".lego")]
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(raw)
    seen: set[Path] = set()
    return [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]  # type: ignore[func-returns-value]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="legoc check",
        description="Check .lego specs: syntax, names, shapes and lint rules, without torch. "
        "Exit status 0 when clean, 1 on errors (or warnings with --strict), 2 on usage errors.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="spec files, or directories to search for *.lego")
    p.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text", help="output format (default: text)")
    p.add_argument("--strict", action="store_true", default=None, help="warnings fail the check too")
    p.add_argument("--select", metavar="CODES", help="comma-separated lint codes or prefixes to enable (replaces the configured set)")
    p.add_argument("--ignore", metavar="CODES", help="comma-separated lint codes or prefixes to disable (adds to the configured set)")
    p.add_argument("--config", metavar="PYPROJECT", help="the pyproject.toml to read [tool.legoc] from (default: the nearest one above the current directory)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour text output (default: auto, off when NO_COLOR is set)")
    return p


def main(argv: list[str]) -> int:
    """Run `legoc check`; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        config = discover(Path.cwd(), Path(args.config) if args.config else None)
        for warning in config.warnings:
            print(f"legoc check: warning: {warning}", file=sys.stderr)
        config = _with_options(config, args)
        files = lego_files(args.paths)
    except ConfigError as exc:
        print(f"legoc check: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"legoc check: error: {exc.args[0]}: no such file or directory", file=sys.stderr)
        return 2
    sources: dict[str, SourceFile] = {PRELUDE_NAME: prelude_source()}
    diags: list[Diagnostic] = []
    for path in files:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            print(f"legoc check: error: cannot read {name}: {exc.strerror}", file=sys.stderr)
            return 2
        except UnicodeDecodeError as exc:
            diags.append(Diagnostic("error", Span(name, 1, 1, 1, 1), f"the file is not UTF-8 text (byte {exc.start})", code="LG105"))
            continue
        sources[name] = SourceFile(name, text)
        diags += check_text(text, name, config)
    _print(diags, sources, args, len(files))
    errors = sum(d.severity == "error" for d in diags)
    return 1 if errors or (config.strict and diags) else 0


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


def _print(diags: list[Diagnostic], sources: dict[str, SourceFile], args: argparse.Namespace, n_files: int) -> None:
    from . import report

    if args.format == "json":
        print(report.format_json(diags))
    elif args.format == "github":
        text = report.format_github(diags)
        if text:
            print(text)
    elif args.format == "sarif":
        print(report.format_sarif(diags, __version__))
    else:
        force = {"always": True, "never": False}.get(args.color)
        color = report.use_color(sys.stdout, os.environ.get("NO_COLOR"), force)
        if diags:
            print(report.format_text(diags, sources, color))
        errors = sum(d.severity == "error" for d in diags)
        print(report.summary_line(errors, len(diags) - errors, n_files))
