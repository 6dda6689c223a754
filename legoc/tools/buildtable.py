"""The build table: `[tool.legoc.build]` in pyproject.toml, spec -> output
pairs for `legoc build` without a FILE (legoc/tools/build.py).

    [tool.legoc.build]
    "specs/*.lego" = "models/{stem}.py"
    "specs/special.lego" = "vendor/special_model.py"

A key is a spec's path or a glob (`*`, `?`, `[...]`, `**` for any depth:
pathlib's glob), relative to the pyproject.toml's directory; a glob takes
the regular files it matches. A value is the output's path, relative to
the same directory, with placeholders for the spec:

    {stem}    its file name without the extension: resnet
    {name}    its file name: resnet.lego
    {parent}  its directory, relative to the pyproject.toml's: specs/vision

Precedence: a spec that an exact key names takes that key's output, even
where globs match it too (as an explicit file beats a glob in black's and
ruff's per-file settings); a spec matched by two globs and no exact key is
an error naming both keys (so is one named by two spellings of its path).
An output that would overwrite a spec of the table, or that two specs map
to, is an error naming the entries; so is a key naming a missing spec, or
an unknown placeholder. A glob that matches nothing is a warning.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

PLACEHOLDERS = ("stem", "name", "parent")

_GLOB = set("*?[")


class BuildTableError(Exception):
    """The build table cannot be used; the message names the pyproject.toml
    and the entries."""


@dataclass(frozen=True)
class Pair:
    """One spec and the module generated from it: absolute, normalised
    paths, and the key of the entry that chose the output."""

    spec: Path
    output: Path
    entry: str


def is_glob(key: str) -> bool:
    """Whether a key of the table is a glob rather than one spec's path."""
    return any(c in _GLOB for c in key)


def resolve(table: tuple[tuple[str, str], ...], root: Path, source: Path | None = None) -> tuple[list[Pair], list[str]]:
    """The pairs of the build table `table` (config.Config.build), whose
    paths are relative to `root`, in the order of the specs' paths; and
    warnings (a glob that matches no spec). `source` names the table's
    file in messages.

    Raises:
        BuildTableError: an exact key names no file, a spec matches two
            entries of the same rank, an output pattern has an unknown
            placeholder, two specs map to one output, or an output is a
            spec of the table.
    """
    where = f"{source or root / 'pyproject.toml'}: [tool.legoc.build]"
    root = Path(os.path.abspath(root))
    exact: dict[Path, list[str]] = {}
    globbed: dict[Path, list[str]] = {}
    warnings: list[str] = []
    for key, pattern in table:
        _check_pattern(pattern, key, where)
        if is_glob(key):
            try:
                found = sorted(p for p in root.glob(key) if p.is_file())
            except (ValueError, NotImplementedError) as exc:  # "/abs/*.lego", "a/**b"
                raise BuildTableError(f"{where} {key!r} is not a glob relative to the pyproject.toml's directory ({exc})") from None
            if not found:
                warnings.append(f"{where} {key!r} matches no spec")
            for path in found:
                globbed.setdefault(Path(os.path.normpath(path)), []).append(key)
        else:
            path = Path(os.path.normpath(root / key))
            if not path.is_file():
                raise BuildTableError(f"{where} {key!r}: no such spec file")
            exact.setdefault(path, []).append(key)
    pairs: list[Pair] = []
    for spec in sorted(set(exact) | set(globbed)):
        keys = exact.get(spec) or globbed[spec]
        if len(keys) > 1:
            kind = "keys" if spec in exact else "globs"
            raise BuildTableError(f"{where} {_relative(spec, root)} is matched by the {kind} {' and '.join(map(repr, keys))}; give it an exact entry of its own to choose its output")
        pattern = dict(table)[keys[0]]
        fields = {"stem": spec.stem, "name": spec.name, "parent": _relative(spec.parent, root)}
        output = Path(os.path.normpath(root / pattern.format_map(fields)))
        pairs.append(Pair(spec, output, keys[0]))
    _check_outputs(pairs, root, where)
    return pairs, warnings


def _check_pattern(pattern: str, key: str, where: str) -> None:
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(pattern) if field is not None]
    except ValueError as exc:
        raise BuildTableError(f"{where} {key!r}: the output {pattern!r} is not a valid pattern ({exc}); write {{{{ and }}}} for braces") from None
    for name in names:
        if name not in PLACEHOLDERS:
            raise BuildTableError(f"{where} {key!r}: the output {pattern!r} has an unknown placeholder {{{name}}}; the placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")


def _check_outputs(pairs: list[Pair], root: Path, where: str) -> None:
    specs = {os.path.realpath(p.spec): p for p in pairs}
    seen: dict[str, Pair] = {}
    for pair in pairs:
        real = os.path.realpath(pair.output)
        if real in specs:
            other = specs[real]
            raise BuildTableError(f"{where} {pair.entry!r} maps {_relative(pair.spec, root)} to {_relative(pair.output, root)}, which is a spec of the table (entry {other.entry!r}); writing it would replace the spec")
        if real in seen:
            first = seen[real]
            raise BuildTableError(
                f"{where} {first.entry!r} and {pair.entry!r} map both {_relative(first.spec, root)} and {_relative(pair.spec, root)} to {_relative(pair.output, root)}"
            )
        seen[real] = pair


def _relative(path: Path, root: Path) -> str:
    """`path` relative to `root` in POSIX form ("." for the root itself)."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.as_posix()
