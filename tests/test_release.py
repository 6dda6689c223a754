"""The package is release-ready: `python -m build` makes an sdist and a wheel
that `twine check --strict` passes, with the metadata, licence, py.typed and
the files a release needs; one version source; README links that work on the
package index; and the documentation site builds with `mkdocs build --strict`
(every broken link or anchor, every page left out of the nav, is a warning,
so an error). README, "Development", says how to run these by hand."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import legoc

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"]

# What a copy of the source tree leaves out: what .gitignore ignores, and git's own.
IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "site", ".hypothesis", ".pytest_cache", "node_modules")


def tracked_files() -> list[str] | None:
    """`git ls-files` of the repository, or None outside a git checkout (an
    unpacked sdist)."""
    try:
        result = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in result.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built as `python -m build` builds them (the
    sdist from a copy of the source tree, the wheel from the unpacked sdist),
    without build isolation: the test extra installs the build backend, so no
    download is needed."""
    source = tmp_path_factory.mktemp("source") / "legoc"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def test_twine_check_passes(dist):
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dist["sdist"]), str(dist["wheel"])], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_the_wheel_has_the_metadata_and_files_of_a_release(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        info = f"legoc-{legoc.__version__}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert dist["wheel"].name == f"legoc-{legoc.__version__}-py3-none-any.whl"
    assert metadata["Version"] == legoc.__version__
    assert metadata["License-Expression"] == "MIT"
    assert f"{info}/licenses/LICENSE" in names
    assert "legoc/py.typed" in names
    # the data packages and the compiled templates and tables
    assert {"legoc/grammar/legoc.lark", "legoc/syntax/_parse_tables.py", "legoc/codegen/_templates/__init__.py"} <= names
    assert any(name.startswith("legoc/templates/") and name.endswith(".j2") for name in names)
    assert not any(name.startswith(("tests/", "docs/", "examples/")) for name in names)
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert not any(c.startswith("License ::") for c in metadata.get_all("Classifier"))  # PEP 639: the expression says it
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Repository", "Documentation", "Changelog", "Issues"}
    assert all(url.startswith(REPOSITORY) for url in urls.values())
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "legoc = legoc.cli:main" in entry_points
    assert "lego = legoc.tools.highlight:LegoLexer" in entry_points


def test_the_sdist_holds_the_repository(dist):
    """Docs, examples, the whole test suite with its data, the licence and the
    changelog: every tracked file but CI's plumbing."""
    prefix = f"legoc-{legoc.__version__}/"
    with tarfile.open(dist["sdist"]) as sdist:
        names = {name.removeprefix(prefix) for name in sdist.getnames()}
    required = {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "MANIFEST.in", "mkdocs.yml", "mkdocs_hooks.py", "docs/index.md", "docs/language.md", "docs/unet.svg", "examples/resnet50.lego", "tests/conftest.py", "tests/test_release.py", "legoc/py.typed"}
    assert required <= names, sorted(required - names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    tracked = tracked_files()
    if tracked is None:
        pytest.skip("not a git checkout: the tracked files are unknown")
    left_out = {name for name in tracked if name not in names and not name.startswith(".ci/") and name != ".gitignore" and not name.endswith("/.gitignore")}
    assert not left_out, sorted(left_out)


def test_one_version_source():
    """legoc/core/version.py is the version; pyproject.toml reads it (no
    second copy), and the changelog's top release names it."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "legoc.core.version.__version__"}
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    assert [r for r in releases if r != "Unreleased"][0] == legoc.__version__
    assert re.search(rf"^\[{re.escape(legoc.__version__)}\]: {re.escape(REPOSITORY)}/", changelog, re.M)


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|(?:src|href)=\"([^\"]+)\"|^\[[^\]]+\]:\s*(\S+)", re.M)


def readme_links() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [next(group for group in match.groups() if group) for match in LINK.finditer(text)]


def test_readme_links_are_absolute():
    """The README is the package index's project page, where a relative link
    (docs/language.md) leads nowhere: every link is absolute, and one into the
    repository names a file or folder that exists."""
    links = readme_links()
    assert len(links) >= 10
    relative = [link for link in links if not re.match(r"https?://", link)]
    assert not relative, relative
    for link in links:
        if not link.startswith(REPOSITORY + "/"):
            continue
        match = re.fullmatch(re.escape(REPOSITORY) + r"/(blob|tree|raw)/main/([^#?]+)(#[-\w]+)?", link)
        assert match, link
        kind, path = match.group(1), ROOT / match.group(2)
        assert path.is_dir() if kind == "tree" else path.is_file(), link


def test_the_readme_link_check_finds_a_relative_link():
    """The check above can fail: a relative link and an image are found."""
    text = "See [the language](docs/language.md) and ![a picture](docs/unet.svg), [ok](https://x.org).\n"
    found = [next(g for g in m.groups() if g) for m in LINK.finditer(text)]
    assert found == ["docs/language.md", "docs/unet.svg", "https://x.org"]


def mkdocs_build(site: Path, config: Path = ROOT / "mkdocs.yml") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)], cwd=ROOT, capture_output=True, text=True)


def test_the_docs_site_builds_without_warnings(tmp_path):
    result = mkdocs_build(tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    site = tmp_path / "site"
    assert (site / "css" / "pygments.css").read_text().count(".highlight") > 10
    # the README is the home page, its links into docs/ the site's own
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Quick start" in home
    assert 'href="language/"' in home and 'src="unet.svg"' in home
    assert f"{REPOSITORY}/blob/main/docs/language.md" not in home
    # ```lego fences are highlighted by legoc's lexer: keywords marked, no error tokens
    page = (site / "language" / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<div class="language-lego highlight"><pre>(.*?)</pre></div>', page, re.S)
    assert len(blocks) >= 20
    assert all('class="err"' not in block for block in blocks)
    assert sum('<span class="k">' in block for block in blocks) >= 20


@pytest.mark.parametrize("page", ["docs/api.md", "README.md"])
def test_a_broken_docs_anchor_fails_the_build(tmp_path, page):
    """Strict mode with the validation settings makes a broken anchor an
    error, also in the README's links into docs/, which the home page turns
    into the site's own links (mkdocs_hooks.py)."""
    for name in ("docs", "README.md", "mkdocs.yml", "mkdocs_hooks.py"):
        (shutil.copytree if name == "docs" else shutil.copy)(ROOT / name, tmp_path / name)
    target = "diagnostics.md#no-such-section" if page != "README.md" else f"{REPOSITORY}/blob/main/docs/diagnostics.md#no-such-section"
    with (tmp_path / page).open("a", encoding="utf-8") as f:
        f.write(f"\nSee [nothing]({target}).\n")
    result = mkdocs_build(tmp_path / "site", tmp_path / "mkdocs.yml")
    assert result.returncode == 1
    shown = "index.md" if page == "README.md" else "api.md"
    assert f"Doc file '{shown}' contains a link 'diagnostics.md#no-such-section', but the doc 'diagnostics.md' does not contain an anchor '#no-such-section'" in result.stderr


USER_CODE = """\
import legoc

code = legoc.compile("model m:\\n    linear 2\\n")
reveal_type(code)
reveal_type(legoc.check("model m:\\n    linear 2\\n"))
legoc.compile(1)
"""


def test_type_checkers_read_the_installed_wheels_annotations(dist, tmp_path):
    """py.typed (PEP 561): mypy, checking a user's script against the wheel
    installed in an environment, knows the API's types (and finds a wrong
    argument) instead of skipping legoc as untyped."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = next(path for path in (env / "bin" / "python", env / "Scripts" / "python.exe") if path.exists())
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        wheel.extractall(purelib)
    (tmp_path / "user.py").write_text(USER_CODE, encoding="utf-8")
    command = [sys.executable, "-m", "mypy", "--python-executable", str(python), "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", "user.py"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.stdout.splitlines() == [
        'user.py:4: note: Revealed type is "str"',
        'user.py:5: note: Revealed type is "list[legoc.core.diagnostics.Diagnostic]"',
        'user.py:6: error: Argument 1 to "compile" has incompatible type "int"; expected "str"  [arg-type]',
    ], result.stdout + result.stderr
