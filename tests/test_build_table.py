"""`legoc build [DIR]` and the build table of [tool.legoc.build] (issue 22):
the test repository tests/buildrepo/ (three specs mapped by a glob) copied
to tmp_path and built, checked, changed; the table's precedence and its
errors; and the pre-commit hooks run by the real `pre-commit` tool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from legoc import cli
from legoc.tools.buildtable import BuildTableError, resolve

BUILDREPO = ROOT / "tests" / "buildrepo"
SPECS = ("encoder", "head", "mlp")


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A copy of tests/buildrepo/ with a .git, as the current directory."""
    root = tmp_path / "repo"
    shutil.copytree(BUILDREPO, root)
    (root / ".git").mkdir()  # the repository root, for discovery
    monkeypatch.chdir(root)
    return root


def outputs(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "models").glob("*.py"))}


def test_build_writes_every_pair_and_check_follows_the_specs(repo, capsys):
    status, out, err = run_cli(["build"], capsys)
    assert status == 0, err
    assert sorted(outputs(repo)) == [f"{s}.py" for s in SPECS]
    for spec in SPECS:
        assert f"regenerated models/{spec}.py (from specs/{spec}.lego)" in err
        expected = cli_build_one(repo / "specs" / f"{spec}.lego", capsys)
        assert (repo / "models" / f"{spec}.py").read_text() == expected
    assert err.endswith("3 files regenerated.\n")

    assert run_cli(["build", "--check"], capsys) == (0, "", "3 files up to date.\n")

    # A second build writes nothing: the outputs keep their mtimes.
    mtimes = {p: p.stat().st_mtime_ns for p in (repo / "models").iterdir()}
    os.utime(repo / "models" / "head.py", ns=(1, 1))
    mtimes[repo / "models" / "head.py"] = 1
    assert run_cli(["build"], capsys) == (0, "", "3 files left unchanged.\n")
    assert {p: p.stat().st_mtime_ns for p in (repo / "models").iterdir()} == mtimes

    spec = repo / "specs" / "head.lego"
    spec.write_text(spec.read_text().replace("linear 32", "linear 48"))
    before = outputs(repo)
    status, out, err = run_cli(["build", "--check"], capsys)
    assert status == 1
    assert "would regenerate models/head.py (stale: it differs from what specs/head.lego generates now)" in err
    assert "encoder.py" not in err and "mlp.py" not in err
    assert out.startswith("--- models/head.py\n+++ models/head.py (regenerated from specs/head.lego)\n")
    assert "\n-        self.linear1 = nn.Linear(64, 32)\n" in out and "\n+        self.linear1 = nn.Linear(64, 48)\n" in out
    assert err.endswith("1 file would be regenerated, 2 files up to date.\n")
    assert outputs(repo) == before  # --check writes nothing

    (repo / "models" / "mlp.py").unlink()
    status, out, err = run_cli(["build", "--check"], capsys)
    assert status == 1 and "would regenerate models/mlp.py (missing)" in err and "models/head.py" in err

    status, out, err = run_cli(["build"], capsys)
    assert status == 0 and out == ""
    assert "regenerated models/head.py" in err and "regenerated models/mlp.py" in err and "encoder" not in err
    assert run_cli(["build", "--check"], capsys)[0] == 0


def cli_build_one(spec: Path, capsys) -> str:
    """The one-file form's output, which a pair must equal."""
    status, out, err = run_cli(["build", str(spec)], capsys)
    assert status == 0, err
    return out


def test_build_from_a_subdirectory_and_of_a_directory(repo, capsys, monkeypatch):
    """The table is found from DIR (the current directory by default) up,
    not from where legoc runs; only the pairs whose spec lies under DIR
    are built, and paths are shown relative to the current directory."""
    monkeypatch.chdir(repo / "specs")
    status, out, err = run_cli(["build"], capsys)
    assert status == 0 and "regenerated ../models/encoder.py (from encoder.lego)" in err
    monkeypatch.chdir(repo.parent)
    assert run_cli(["build", "repo", "--check"], capsys) == (0, "", "3 files up to date.\n")
    (repo / "other").mkdir()
    status, _, err = run_cli(["build", "repo/other"], capsys)
    assert status == 0 and "no spec of the build table lies under repo/other" in err
    # `legoc DIR` is the shorthand, as `legoc FILE` is.
    assert run_cli(["repo", "--check"], capsys)[0] == 0


def test_build_without_a_table_and_a_spec_with_errors(repo, capsys):
    (repo / "pyproject.toml").write_text("[tool.legoc]\nstrict = false\n")
    status, _, err = run_cli(["build"], capsys)
    assert status == 2 and f"no [tool.legoc.build] table ({repo / 'pyproject.toml'})" in err
    (repo / "pyproject.toml").write_text((BUILDREPO / "pyproject.toml").read_text())
    (repo / "specs" / "head.lego").write_text("model Head():\n    input [64]\n    linaer 32\n")
    status, _, err = run_cli(["build"], capsys)
    assert status == 1
    assert "specs/head.lego:3:5: error:" in err and "regenerated models/encoder.py" in err and "1 file failed" in err
    assert not (repo / "models" / "head.py").exists()
    with pytest.raises(SystemExit):  # -o belongs to the one-file form
        cli.main(["build", "-o", "x.py"])


def table(tmp_path: Path, entries: dict[str, str], files=("a/x.lego", "a/y.lego", "b/x.lego")):
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("")
    return resolve(tuple(entries.items()), tmp_path, tmp_path / "pyproject.toml")


def test_placeholders_and_an_exact_key_beating_a_glob(tmp_path):
    pairs, warnings = table(tmp_path, {"a/*.lego": "gen/{parent}/{stem}_{name}.py", "a/y.lego": "vendor/y_model.py", "c/*.lego": "c/{stem}.py"})
    got = {p.spec.relative_to(tmp_path).as_posix(): (p.output.relative_to(tmp_path).as_posix(), p.entry) for p in pairs}
    assert got == {"a/x.lego": ("gen/a/x_x.lego.py", "a/*.lego"), "a/y.lego": ("vendor/y_model.py", "a/y.lego")}
    assert warnings == [f"{tmp_path / 'pyproject.toml'}: [tool.legoc.build] 'c/*.lego' matches no spec"]
    pairs, _ = table(tmp_path, {"**/*.lego": "out/{parent}/{stem}.py"})
    assert sorted(p.output.relative_to(tmp_path).as_posix() for p in pairs) == ["out/a/x.py", "out/a/y.py", "out/b/x.py"]


@pytest.mark.parametrize(
    "entries, message",
    [
        ({"a/*.lego": "m/{stem}.py", "a/x.*": "n/{stem}.py"}, "a/x.lego is matched by the globs 'a/*.lego' and 'a/x.*'"),
        ({"a/x.lego": "m/x.py", "./a/x.lego": "n/x.py"}, "a/x.lego is matched by the keys 'a/x.lego' and './a/x.lego'"),
        ({"*/x.lego": "m/out.py"}, "'*/x.lego' and '*/x.lego' map both a/x.lego and b/x.lego to m/out.py"),
        ({"a/x.lego": "m/{stem}.py", "b/x.lego": "m/x.py"}, "'a/x.lego' and 'b/x.lego' map both a/x.lego and b/x.lego to m/x.py"),
        ({"a/*.lego": "a/y.lego"}, "'a/*.lego' maps a/x.lego to a/y.lego, which is a spec of the table (entry 'a/*.lego')"),
        ({"a/*.lego": "{parent}/{name}"}, "maps a/x.lego to a/x.lego, which is a spec of the table"),
        ({"a/*.lego": "m/{file}.py"}, "'a/*.lego': the output 'm/{file}.py' has an unknown placeholder {file}; the placeholders are {stem}, {name}, {parent}"),
        ({"a/z.lego": "m/z.py"}, "'a/z.lego': no such spec file"),
        ({"/a/*.lego": "m/{stem}.py"}, "'/a/*.lego' is not a glob relative to the pyproject.toml's directory"),
        ({"a/*.lego": "m/{stem"}, "'a/*.lego': the output 'm/{stem' is not a valid pattern"),
    ],
    ids=["two-globs", "two-spellings", "one-output-glob", "one-output", "over-a-spec", "over-itself", "placeholder", "missing", "absolute-glob", "bad-pattern"],
)
def test_table_errors_name_the_entries(tmp_path, entries, message):
    with pytest.raises(BuildTableError) as caught:
        table(tmp_path, entries)
    assert str(caught.value).startswith(f"{tmp_path / 'pyproject.toml'}: [tool.legoc.build] ")
    assert message in str(caught.value)


def test_an_invalid_build_table_names_the_file_and_key(repo, capsys):
    (repo / "pyproject.toml").write_text('[tool.legoc.build]\n"specs/*.lego" = 3\n')
    status, _, err = run_cli(["build"], capsys)
    assert status == 2
    assert err == f"legoc build: error: {repo / 'pyproject.toml'}: [tool.legoc.build] 'specs/*.lego' must map to an output path (a string) such as \"models/{{stem}}.py\"\n"


# --- the pre-commit hooks, run by pre-commit itself -------------------------


def _hooks() -> list[dict[str, str]]:
    from test_stale import _hook_list

    return _hook_list((ROOT / ".pre-commit-hooks.yaml").read_text())


def _local_config() -> str:
    """A .pre-commit-config.yaml with the hooks of .pre-commit-hooks.yaml as
    `repo: local` hooks (the same entry, files and pass_filenames), run
    with the legoc installed here (`language: system`): pre-commit then
    installs no environment, which would take a minute per hook."""
    lines = ["repos:", "  - repo: local", "    hooks:"]
    for hook in _hooks():
        lines.append(f"      - id: {hook['id']}")
        for key in ("name", "entry", "files", "pass_filenames"):
            if key in hook:
                lines.append(f"        {key}: '{hook[key]}'" if key == "files" else f"        {key}: {hook[key]}")
        lines.append("        language: system")
    return "\n".join(lines) + "\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")
def test_pre_commit_hooks(tmp_path):
    """legoc-build regenerates (pre-commit reports the files it modified and
    fails, then passes), legoc-stale fails listing the stale module and
    writes nothing, legoc-check lints the specs given."""
    root = tmp_path / "repo"
    shutil.copytree(BUILDREPO, root)
    (root / ".pre-commit-config.yaml").write_text(_local_config())
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        "PRE_COMMIT_COLOR": "never",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    env.pop("LEGOC_DEBUG", None)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    def pre_commit(hook: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", hook, "--all-files"], cwd=root, env=env, capture_output=True, text=True)

    git("init", "-q")
    git("add", "-A")
    first = pre_commit("legoc-build")  # new modules: pre-commit sees no change, the hook's status fails it
    assert first.returncode == 1, first.stdout + first.stderr
    assert "regenerated models/head.py (from specs/head.lego)" in first.stdout
    assert sorted(outputs(root)) == [f"{s}.py" for s in SPECS]
    git("add", "-A")
    again = pre_commit("legoc-build")
    assert again.returncode == 0 and re.search(r"legoc build\.+Passed", again.stdout), again.stdout
    assert pre_commit("legoc-stale").returncode == 0
    assert pre_commit("legoc-check").returncode == 0

    head = root / "specs" / "head.lego"
    head.write_text(head.read_text().replace("linear 32", "linear 48"))
    git("add", "-A")
    modified = pre_commit("legoc-build")  # a tracked module rewritten: as black's hook
    assert modified.returncode == 1
    assert "- files were modified by this hook" in modified.stdout and "regenerated models/head.py" in modified.stdout
    assert "nn.Linear(64, 48)" in (root / "models" / "head.py").read_text()
    git("add", "-A")
    assert pre_commit("legoc-build").returncode == 0

    spec = root / "specs" / "mlp.lego"
    spec.write_text(spec.read_text().replace("linear hidden", "linear hidden bias=false"))
    git("add", "-A")
    before = outputs(root)
    stale = pre_commit("legoc-stale")
    assert stale.returncode == 1
    assert "would regenerate models/mlp.py (stale: it differs from what specs/mlp.lego generates now)" in stale.stdout
    assert "models/head.py" not in stale.stdout and "--- models/mlp.py" in stale.stdout
    assert outputs(root) == before

    spec.write_text(spec.read_text().replace("relu", "rleu"))
    git("add", "-A")
    lint = pre_commit("legoc-check")
    assert lint.returncode == 1 and "specs/mlp.lego:4:5: error:" in lint.stdout, lint.stdout


def test_diff_and_exit_non_zero_on_write(repo, capsys):
    status, out, err = run_cli(["build", "--diff"], capsys)
    assert status == 0 and not (repo / "models").exists()  # --diff writes nothing
    assert out.count("\n--- models/") + out.startswith("--- models/") == 3 and err.endswith("3 files would be regenerated.\n")
    assert run_cli(["build", "--exit-non-zero-on-write"], capsys)[0] == 1  # three written
    assert run_cli(["build", "--exit-non-zero-on-write"], capsys)[0] == 0  # none
    with pytest.raises(SystemExit):  # the one-file form writes one file it was asked to
        cli.main(["build", "specs/mlp.lego", "-o", "x.py", "--exit-non-zero-on-write"])
    assert "--exit-non-zero-on-write is for the build table" in capsys.readouterr().err
