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

Only warnings (lint rules) can be switched off; errors always stand.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
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
        "(default: the nearest one with a [tool.legoc] table, from the current directory up)",
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.legoc] table, from `start` up
    (one that cannot be read as TOML is skipped: `discover` says so)."""
    return _search(start, [])


def _search(start: Path, skipped: list[str]) -> Path | None:
    for directory in [start, *start.parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except OSError as exc:
                skipped.append(f"{candidate} cannot be read ({exc.strerror}); its [tool.legoc] settings are not used")
                continue
            except UnicodeDecodeError as exc:
                skipped.append(f"{candidate} is not UTF-8 text (byte {exc.start}); its [tool.legoc] settings are not used")
                continue
            if not _MAY_CONFIGURE.search(text):
                continue
            tomllib = _toml()
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                skipped.append(f"{candidate} is not valid TOML ({exc}); its [tool.legoc] settings are not used")
                continue
            if "legoc" in data.get("tool", {}):
                return candidate
    return None


def discover(start: Path, path: Path | None = None) -> Config:
    """The settings a command runs with: those of `path` (`--config`) or
    else of the nearest pyproject.toml with a [tool.legoc] table above
    `start`, with `warnings` for each pyproject.toml skipped on the way
    because it is not valid TOML (or not readable) and each limit lowered.

    Raises:
        ConfigError: the file chosen cannot be read or its table is not valid.
    """
    skipped: list[str] = []
    if path is None:
        path = _search(start, skipped)
    config = load(path)
    return replace(config, warnings=tuple(skipped) + config.warnings) if skipped else config


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
    known = {"select", "ignore", "per-file-ignores", "strict", "limits"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: [tool.legoc] has no setting `{key}`; the settings are {', '.join(sorted(known))}")
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
