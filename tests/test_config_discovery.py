"""Where legoc finds its settings, as black and ruff find theirs (issue 22):
from the paths given, up to the repository root, not from the current
directory; a pyproject.toml that is not valid is an error naming it for
every command; directory walks skip `exclude`, `extend-exclude` and what
.gitignore says; finding no spec is a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_files as write
from legoc import cli
from legoc.tools.config import ConfigError, common_directory, discover_for, find_pyproject

# One warning, LG510 (a block no model uses), and no error.
WARNING = "block spare(c):\n    conv c\n\nmodel Net():\n    input [3, 32, 32]\n    conv 8\n"
STRICT = "[tool.legoc]\nstrict = true\n"

# Every command that reads [tool.legoc], with the arguments it runs a spec with.
COMMANDS = {
    "build": ["build"],
    "check": ["check"],
    "summary": ["summary"],
    "graph": ["graph"],
    "state-dict": ["state-dict"],
    "fmt": ["fmt", "--check"],
}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tmp_path/project: a repository (.git) whose pyproject.toml makes
    warnings fail, with a spec that has one, in specs/."""
    root = write(tmp_path / "project", {"pyproject.toml": STRICT, "specs/warn.lego": WARNING})
    (root / ".git").mkdir()
    return root


def test_from_a_parent_directory(project, monkeypatch, capsys):
    """Run from above the project: its pyproject.toml still applies (it was
    looked for from the current directory, and not found)."""
    monkeypatch.chdir(project.parent)
    status, out, _ = run_cli(["check", "project/specs/warn.lego"], capsys)
    assert status == 1 and "LG510" in out
    status, out, _ = run_cli(["check", "project"], capsys)  # a directory given
    assert status == 1 and "LG510" in out
    assert discover_for(["project/specs/warn.lego"]).source == project / "pyproject.toml"


def test_from_a_subdirectory(project, monkeypatch, capsys):
    monkeypatch.chdir(project / "specs")
    status, out, _ = run_cli(["check", "warn.lego"], capsys)
    assert status == 1 and "LG510" in out


def test_the_settings_of_the_files_not_of_the_current_directory(project, tmp_path, monkeypatch, capsys):
    """A pyproject.toml in the current directory does not apply to specs
    elsewhere (black and ruff look from the files)."""
    here = write(tmp_path / "here", {"pyproject.toml": '[tool.legoc]\nignore = ["LG510"]\n'})
    monkeypatch.chdir(here)
    status, out, _ = run_cli(["check", str(project / "specs" / "warn.lego")], capsys)
    assert status == 1 and "LG510" in out
    write(tmp_path / "loose", {"warn.lego": WARNING})
    assert run_cli(["check", str(tmp_path / "loose" / "warn.lego")], capsys)[0] == 0  # no settings: warnings pass
    # Standard input: the settings of --stdin-filename's directory, else of the current directory.
    assert common_directory(["-"], str(project / "specs" / "x.lego")) == project / "specs"
    assert common_directory(["-"]) == here


def test_the_search_stops_at_the_repository_root(project, tmp_path, monkeypatch, capsys):
    inner = write(project / "vendor" / "lib", {"warn.lego": WARNING})
    (inner / ".git").mkdir()  # a repository inside: the project's settings stop at it
    assert find_pyproject(inner) is None
    assert run_cli(["check", str(inner / "warn.lego")], capsys)[0] == 0
    write(tmp_path, {"pyproject.toml": STRICT})  # above the project's .git: never read
    write(tmp_path / "project2", {"warn.lego": WARNING})
    (tmp_path / "project2" / ".git").mkdir()
    assert find_pyproject(tmp_path / "project2") is None
    assert find_pyproject(project / "specs") == project / "pyproject.toml"


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    "config, message",
    [
        ("[tool.legoc\nstrict = true\n", "not valid TOML (Expected ']'"),
        ("[tool.legoc]\nstrict = true\nstrikt = true\n", "[tool.legoc] has no setting `strikt`"),
        ('[tool.legoc]\nexclude = "build"\n', "[tool.legoc] exclude must be a list of gitignore-style patterns"),
    ],
    ids=["toml-syntax", "unknown-key", "wrong-type"],
)
def test_an_invalid_pyproject_is_an_error_for_every_command(command, config, message, project, monkeypatch, capsys):
    """The error names the file (and the setting); exit 2, nothing on stdout."""
    (project / "pyproject.toml").write_text(config)
    (project / "specs" / "warn.lego").write_text("model Net():\n    input [3, 32, 32]\n    conv 8\n")
    monkeypatch.chdir(project.parent)
    status, out, err = run_cli([*COMMANDS[command], "project/specs/warn.lego"], capsys)
    assert (status, out) == (2, "")
    assert f"error: {project / 'pyproject.toml'}: {message}" in err
    with pytest.raises(ConfigError):
        discover_for(["project/specs"])


def test_a_broken_pyproject_that_cannot_configure_legoc_is_not_read(project, capsys, monkeypatch):
    """As before: a file with no line that can make a [tool.legoc] table is
    not parsed, so another tool's broken file does not stop legoc."""
    (project / "specs" / "pyproject.toml").write_text("[tool.black\nline-length = \n")
    monkeypatch.chdir(project)
    assert run_cli(["check", "specs/warn.lego"], capsys)[0] == 1  # the project's strict settings


TREE = {
    "a.lego": WARNING,
    "build/b.lego": WARNING,  # the default exclude
    "legacy/c.lego": WARNING,  # extend-exclude below
    "gen/d.lego": WARNING,  # the root .gitignore
    "sub/e.lego": WARNING,
    "sub/out/f.lego": WARNING,  # sub/.gitignore
    "sub/skip.lego": WARNING,  # sub/.gitignore, a file pattern
    ".hidden/g.lego": WARNING,  # hidden directories are never walked
    ".gitignore": "gen/\n",
    "sub/.gitignore": "out/\nskip.lego\n",
}


def checked(out: str) -> list[str]:
    return sorted({line.split(":")[0] for line in out.splitlines() if ": warning: " in line})


def test_excludes_and_gitignore_when_walking(tmp_path, monkeypatch, capsys):
    root = write(tmp_path / "repo", {**TREE, "pyproject.toml": '[tool.legoc]\nextend-exclude = ["legacy/"]\n'})
    (root / ".git").mkdir()
    monkeypatch.chdir(root)
    status, out, _ = run_cli(["check", "."], capsys)
    assert status == 0 and checked(out) == ["a.lego", "sub/e.lego"]
    monkeypatch.chdir(tmp_path)  # patterns are relative to the pyproject.toml, wherever legoc runs
    assert checked(run_cli(["check", "repo"], capsys)[1]) == ["repo/a.lego", "repo/sub/e.lego"]
    monkeypatch.chdir(root / "sub")
    assert checked(run_cli(["check", "."], capsys)[1]) == ["e.lego"]
    # The .gitignore files of the repository walked, not of the current directory's.
    monkeypatch.chdir(tmp_path)
    assert checked(run_cli(["check", "repo/gen", "repo/sub/out"], capsys)[1]) == []
    # A file given by name is checked wherever it lies (black and ruff: a
    # path given is never excluded), so pre-commit's lists work as given.
    monkeypatch.chdir(root)
    assert checked(run_cli(["check", "legacy/c.lego", "gen/d.lego", "build/b.lego"], capsys)[1]) == ["build/b.lego", "gen/d.lego", "legacy/c.lego"]
    # `exclude` replaces the default list; .gitignore still applies.
    (root / "pyproject.toml").write_text("[tool.legoc]\nexclude = []\n")
    assert checked(run_cli(["check", "."], capsys)[1]) == ["a.lego", "build/b.lego", "legacy/c.lego", "sub/e.lego"]
    # legoc fmt walks the same way.
    status, _, err = run_cli(["fmt", "--check", "."], capsys)
    assert status == 0 and "4 files would be left unchanged" in err


def test_no_files_found_is_a_warning(tmp_path, monkeypatch, capsys):
    write(tmp_path, {"notes.txt": "", "gen/x.lego": WARNING, ".gitignore": "gen/\n"})
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli(["check", "."], capsys)
    assert status == 0
    assert err == "legoc check: warning: No .lego files found under the given path(s)\n"
    status, _, err = run_cli(["fmt", "."], capsys)
    assert status == 0 and err == "No .lego files are present to be formatted. Nothing to do.\n"


def test_check_of_one_file_does_not_import_pathspec(tmp_path):
    """pathspec is imported only to walk a directory."""
    import subprocess
    import sys

    write(tmp_path, {"a.lego": WARNING})
    code = "import sys; from legoc import cli; cli.main(['check', 'a.lego']); print('pathspec' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] == "False", result.stderr
    code = code.replace("'a.lego'", "'.'")
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True).stdout.splitlines()[-1] == "True"
