"""Which lint rules apply where: `[tool.legoc]` in pyproject.toml and inline
`# legoc: ignore[LG501]` comments.

    [tool.legoc]
    select = ["LG5"]            # codes or prefixes; default: every rule but the opt-in ones
    ignore = ["LG502"]
    strict = true               # warnings fail `legoc check` too
    [tool.legoc.per-file-ignores]
    "legacy/*.lego" = ["LG501"]
    [tool.legoc.limits]         # resource limits (limits.py)
    max-nesting = 200
    exclude = ["build", "dist"]  # gitignore-style patterns skipped when walking
    extend-exclude = ["legacy/"] # directories (walk.py); exclude replaces the default
    [tool.legoc.build]          # spec -> generated module pairs (buildtable.py)
    "specs/*.lego" = "models/{stem}.py"

Only warnings (lint rules) can be switched off; errors always stand.

Discovery (`discover_for`), as black and ruff find their settings: from
the paths a command is given (their common directory; the current
directory for standard input), the nearest pyproject.toml with a
[tool.legoc] table, up to the repository root (the first directory with
a .git) or the filesystem root. A pyproject.toml on the way that is not
valid TOML (and may configure legoc) or whose [tool.legoc] is not valid is
an error naming the file and the setting, for every command.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.codes import CODES, OPT_IN
from ..core.diagnostics import Diagnostic, SourceFile
from ..core.limits import DEFAULT, SETTINGS, Limits, capped

_INLINE = re.compile(r"#\s*legoc:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?")

# The lines through which a pyproject.toml can give a [tool.legoc] table:
# `[tool.legoc...]`, a dotted key `tool.legoc... =`, a bare `[tool]` table
# or an inline `tool = {...}` (keys may be quoted). A file with none is not
# parsed: importing tomllib and parsing is several per cent of a check.
_MAY_CONFIGURE = re.compile(r"""(?m)^[ \t]*(?:\[{1,2}[ \t]*)?["']?tool["']?[ \t]*(?:\]|=|\.[ \t]*["']?legoc\b)""")


def _toml():
    """tomllib (tomli before Python 3.11), imported when a file is parsed."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


DEFAULT_EXCLUDE = ("build", "dist", "node_modules", "venv", "site-packages", "__pypackages__", "_build", "buck-out")
"""Directories that a directory walk skips unless `exclude` says otherwise
(ruff's list, less the hidden directories, which are always skipped)."""

KNOWN = ("select", "ignore", "per-file-ignores", "strict", "limits", "exclude", "extend-exclude", "build")
"""The settings of [tool.legoc]."""


class ConfigError(Exception):
    """The configuration is not valid (an unknown code, a wrong type)."""


@dataclass(frozen=True)
class Config:
    """Lint settings. `root` is the directory per-file-ignores patterns are
    relative to (the pyproject.toml's)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    strict: bool = False
    limits: Limits = DEFAULT
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    build: tuple[tuple[str, str], ...] = ()
    """[tool.legoc.build]: (spec path or glob, output pattern), as written."""
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None
    warnings: tuple[str, ...] = ()
    """What the command line prints as warnings before its work: each
    names a file, and a setting where there is one (a limit lowered to what
    legoc can hold, a pyproject.toml that is not valid TOML)."""

    def enabled(self, code: str, path: str) -> bool:
        """Whether the rule `code` reports in the file at `path`."""
        if self.select is None:
            on = code not in OPT_IN
        else:
            on = any(code.startswith(prefix) for prefix in self.select)
        if any(code.startswith(prefix) for prefix in self.ignore):
            return False
        if not self.per_file_ignores:
            return on
        import fnmatch  # here: most projects have no per-file ignores

        relative = _relative(path, self.root)
        for pattern, codes in self.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) and any(code.startswith(prefix) for prefix in codes):
                return False
        return on


def _relative(path: str, root: Path) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def keep(diag: Diagnostic, config: Config, sources: dict[str, SourceFile]) -> bool:
    """Whether to report `diag`: errors always; a warning when its rule is
    enabled for its file and no `# legoc: ignore` on its line names it."""
    if diag.severity == "error":
        return True
    if not config.enabled(diag.code, diag.span.file):
        return False
    source = sources.get(diag.span.file)
    if source is None:
        return True
    match = _INLINE.search(source.line_text(diag.span.line))
    if match is None:
        return True
    codes = match.group(1)
    if codes is None:
        return False  # a bare `# legoc: ignore` silences every warning on its line
    return not any(diag.code.startswith(c.strip()) for c in codes.split(",") if c.strip())


def add_config_option(parser) -> None:
    """Add `--config PYPROJECT` (dest `config`; default None: `discover`
    searches) to `parser`, an argparse.ArgumentParser: every command that
    reads [tool.legoc] takes it."""
    parser.add_argument(
        "--config",
        metavar="PYPROJECT",
        help="the pyproject.toml to read [tool.legoc] (lint rules, limits) from "
        "(default: the nearest one with a [tool.legoc] table, from the paths given up to the repository root)",
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.legoc] table, from `start` up
    to the repository root (a directory with a .git) or the filesystem root.

    Raises:
        ConfigError: a pyproject.toml on the way cannot be read, is not
            UTF-8, or is not valid TOML (and may configure legoc).
    """
    for directory in [start, *start.parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"{candidate}: cannot be read ({exc.strerror})") from None
            except UnicodeDecodeError as exc:
                raise ConfigError(f"{candidate}: not UTF-8 text (byte {exc.start})") from None
            if _MAY_CONFIGURE.search(text):
                tomllib = _toml()
                try:
                    data = tomllib.loads(text)
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError(f"{candidate}: not valid TOML ({exc})") from None
                if "legoc" in data.get("tool", {}):
                    return candidate
        if (directory / ".git").exists():  # the repository root: no further
            return None
    return None


def common_directory(paths: list[str], stdin_filename: str | None = None) -> Path:
    """Where discovery starts for a command given `paths` (black's project
    root search): the deepest directory holding all of them (a directory
    given is its own start; a file, its directory), absolute. Standard
    input ("-") counts as `stdin_filename` where given, else as the current
    directory; no paths: the current directory."""
    starts = []
    for raw in paths:
        if raw == "-":
            raw = stdin_filename if stdin_filename else "."
        path = Path(os.path.abspath(raw))
        starts.append(path if path.is_dir() or raw in (".", "") else path.parent)
    if not starts:
        return Path.cwd()
    return Path(os.path.commonpath([str(p) for p in starts]))


def discover(start: Path, path: Path | None = None) -> Config:
    """The settings a command runs with: those of `path` (`--config`) or
    else of the nearest pyproject.toml with a [tool.legoc] table above
    `start` (`find_pyproject`), with `warnings` for each limit lowered.

    Raises:
        ConfigError: a pyproject.toml found cannot be read or is not valid
            TOML, or the chosen file's [tool.legoc] table is not valid.
    """
    if path is None:
        path = find_pyproject(start)
    return load(path)


def discover_for(paths: list[str], config_path: str | None = None, stdin_filename: str | None = None) -> Config:
    """`discover` for a command given `paths` (files, directories, "-"):
    from their common directory (`common_directory`), or `config_path`
    (`--config`) where given.

    Raises:
        ConfigError: as `discover`.
    """
    if config_path is not None:
        return load(Path(config_path))
    return discover(common_directory(paths, stdin_filename))


def load(path: Path | None) -> Config:
    """Read `[tool.legoc]` from a pyproject.toml (None: the defaults). A
    limit over what legoc can hold is lowered to its cap, with a sentence in
    the config's `warnings`.

    Raises:
        ConfigError: the file cannot be read or the table is not valid.
    """
    if path is None:
        return Config()
    tomllib = _toml()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    table = data.get("tool", {}).get("legoc", {})
    for key in table:
        if key not in KNOWN:
            raise ConfigError(f"{path}: [tool.legoc] has no setting `{key}`; the settings are {', '.join(sorted(KNOWN))}")
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{path}: [tool.legoc] strict must be true or false")
    select = table.get("select")
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{path}: [tool.legoc.per-file-ignores] must map file patterns to lists of codes")
    limits, lowered = _limits(table.get("limits", {}), path)
    return Config(
        select=None if select is None else _codes(select, path, "select"),
        ignore=_codes(table.get("ignore", []), path, "ignore"),
        per_file_ignores=tuple((pattern, _codes(codes, path, f"per-file-ignores {pattern!r}")) for pattern, codes in per_file.items()),
        strict=strict,
        limits=limits,
        exclude=_patterns(table.get("exclude", list(DEFAULT_EXCLUDE)), path, "exclude"),
        extend_exclude=_patterns(table.get("extend-exclude", []), path, "extend-exclude"),
        build=_build_table(table.get("build", {}), path),
        root=path.parent,
        source=path,
        warnings=tuple(f"{path}: [tool.legoc.limits] {note}" for note in lowered),
    )


def _limits(table, path: Path) -> tuple[Limits, list[str]]:
    """The limits of the table, lowered to what legoc can hold (`limits.capped`),
    and a sentence for each one lowered."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.legoc.limits] must be a table of limits")
    values = {}
    for key, value in table.items():
        if key not in SETTINGS:
            raise ConfigError(f"{path}: [tool.legoc.limits] has no limit `{key}`; the limits are {', '.join(SETTINGS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{path}: [tool.legoc.limits] {key} must be a whole number of at least 1")
        values[SETTINGS[key]] = value
    return capped(Limits(**values))


def _codes(value, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [tool.legoc] {where} must be a list of codes such as \"LG501\"")
    for code in value:
        if not any(known.startswith(code) for known in CODES) or not code.startswith("LG"):
            raise ConfigError(f"{path}: [tool.legoc] {where}: `{code}` is not a legoc code or code prefix")
    return tuple(value)


def _patterns(value, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [tool.legoc] {where} must be a list of gitignore-style patterns such as \"legacy/\"")
    return tuple(value)


def _build_table(value, path: Path) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [tool.legoc.build] must map spec paths or globs to output paths")
    for spec, output in value.items():
        if not isinstance(output, str) or not output:
            raise ConfigError(f"{path}: [tool.legoc.build] {spec!r} must map to an output path (a string) such as \"models/{{stem}}.py\"")
    return tuple(value.items())
