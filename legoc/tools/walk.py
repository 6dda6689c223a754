"""Which spec files a command runs on: the paths given, and every `*.lego`
under each directory given, as black and ruff walk directories.

A directory walk skips hidden directories, what `exclude` (default
config.DEFAULT_EXCLUDE) and `extend-exclude` of [tool.legoc] match
(gitignore-style patterns, relative to the pyproject.toml's directory) and
what the `.gitignore` files say: those from the repository root (the first
directory with a .git above the walk) down to the directory walked, and
every `.gitignore` in a directory walked, each relative to its own
directory. A path given by
name is always kept (as black and ruff keep a file named on the command
line, so pre-commit's file lists are never filtered twice).

pathspec (black's own dependency) is imported only when a directory is
walked, so that `legoc check FILE` starts as fast as before.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .config import DEFAULT_EXCLUDE, Config  # (not typing.TYPE_CHECKING: importing typing costs a check ~3 ms)

STDIN = "-"
"""The path that names standard input."""

NO_FILES = "No .lego files found under the given path(s)"
"""The warning when the paths given hold no spec (ruff's words; exit 0)."""


def lego_files(paths: list[str], config: Config | None = None) -> list[str]:
    """The files to run on, in a stable order: each path given (`-`,
    standard input, as it is), and every `*.lego` under each directory
    given that `config`'s excludes and the `.gitignore` files let through
    (None: the default excludes, no pyproject.toml).

    A directory search takes only regular files (so a FIFO named `x.lego`
    cannot block the run) and the symbolic links it cannot follow (dangling
    or looping; the command reports them); it does not descend into hidden
    directories or through links to directories. A path given by name is
    kept whatever it is, for the command to read or report. A file found
    twice (also through a link) is taken once.

    Raises:
        FileNotFoundError: a path given by name does not exist (not even as
            a dangling link).
    """
    files: list[str] = []
    ignored = None
    for raw in paths:
        if raw == STDIN:
            files.append(raw)
        elif os.path.isdir(raw):
            if ignored is None:
                ignored = _Ignored(config)
            files += _walk(raw, ignored)
        elif os.path.lexists(raw):
            files.append(str(Path(raw)))
        else:
            raise FileNotFoundError(raw)
    seen: set[str] = set()
    return [f for f in files if not (_identity(f) in seen or seen.add(_identity(f)))]  # type: ignore[func-returns-value]


def _walk(top: str, ignored: _Ignored) -> list[str]:
    files: list[str] = []
    ignored.enter(top)
    for root, dirs, names in os.walk(top):
        ignored.read_gitignore(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not ignored(os.path.join(root, d), True))
        for name in sorted(names):
            path = str(Path(root, name))
            if name.endswith(".lego") and _searchable(path) and not ignored(path, False):
                files.append(path)
    return files


class _Ignored:
    """Whether a path found by a walk is excluded: by the config's patterns
    (relative to its root) or by a `.gitignore` (relative to its directory)."""

    def __init__(self, config: Config | None) -> None:
        import pathspec

        self._pathspec = pathspec
        exclude = (config.exclude + config.extend_exclude) if config is not None else DEFAULT_EXCLUDE
        self.root = (config.root if config is not None and config.source is not None else None)
        self.exclude = pathspec.GitIgnoreSpec.from_lines(exclude)
        self.gitignores: dict[str, object] = {}  # directory (absolute) -> its spec

    def enter(self, top: str) -> None:
        """Before walking `top`: take the `.gitignore` files of its
        repository (from the root with the .git down to `top`) into account."""
        top_path = Path(os.path.abspath(top))
        repo = _repository_root(top_path)
        if repo is None:
            return
        for directory in [top_path, *top_path.parents]:
            self.read_gitignore(str(directory))
            if directory == repo or directory == repo.resolve():
                break

    def read_gitignore(self, directory: str) -> None:
        """Take the `.gitignore` in `directory`, if any, into account."""
        directory = os.path.abspath(directory)
        if directory in self.gitignores:
            return
        try:
            with open(os.path.join(directory, ".gitignore"), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):
            self.gitignores[directory] = None
            return
        self.gitignores[directory] = self._pathspec.GitIgnoreSpec.from_lines(lines)

    def __call__(self, path: str, is_dir: bool) -> bool:
        absolute = os.path.abspath(path)
        suffix = "/" if is_dir else ""
        root = str(self.root) if self.root is not None else os.getcwd()
        if _under(absolute, root) and self.exclude.match_file(os.path.relpath(absolute, root).replace(os.sep, "/") + suffix):
            return True
        for directory, spec in self.gitignores.items():
            if spec is not None and _under(absolute, directory) and spec.match_file(os.path.relpath(absolute, directory).replace(os.sep, "/") + suffix):  # type: ignore[attr-defined]
                return True
        return False


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _repository_root(start: Path) -> Path | None:
    """The first directory with a .git from `start` up, or None."""
    for directory in [start, *start.parents]:
        if (directory / ".git").exists():
            return directory
    return None


def _searchable(path: str) -> bool:
    """Whether a directory search takes `path`: a regular file, or a link
    that cannot be followed (reported as such), but no FIFO or device."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def _identity(path: str) -> str:
    """What makes two paths one file for `lego_files` (its real path; never
    raises, even for a link loop)."""
    return path if path == STDIN else os.path.realpath(path)
