"""`legoc check` as a command: exit codes, directory search, output formats,
`[tool.legoc]` configuration, inline ignores, colour, and its imports.

Every command runs in a subprocess whose working directory is outside the
checkout (a temporary directory), so that `-m legoc` imports the installed
package and no pyproject.toml of the repository is picked up.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import jsonschema
import pytest

from conftest import EXAMPLES, ROOT
from conftest import write_files as write

CORPUS = ROOT / "tests" / "corpus"
JSON_SCHEMA = json.loads((ROOT / "docs" / "diagnostics.schema.json").read_text())
SARIF_SCHEMA = json.loads((ROOT / "tests" / "reference" / "sarif-schema-2.1.0.json").read_text())
MULTI = CORPUS / "multi_syntax_and_shape.lego"
ANSI = "\x1b["

CLEAN = "model Net():\n    input [3, 32, 32]\n    conv 8\n    relu\n"
# One error: LG201 at 4:5.
ERROR = "model Net():\n    input [3, 32, 32]\n    conv 8\n    rleu\n"
# One warning, and no error: LG510 at 1:7 (a block no model uses).
WARNING = "block spare(c):\n    conv c\n\nmodel Net():\n    input [3, 32, 32]\n    conv 8\n"
# LG509 is opt-in: `conv 100` maps 3 to 100 channels (not a multiple of 8).
WIDE = "model Net():\n    input [3, 32, 32]\n    conv 100 bias=false\n    bn\n    relu\n"


def legoc_check(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "legoc", "check", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or tempfile.gettempdir(),
        env=environment,
        timeout=120,  # a run that blocks (on a FIFO, say) fails instead of hanging the suite
    )


def pinned(path: Path) -> list[tuple[str, int, int]]:
    """The `# expect: CODE LINE:COL` pins of a corpus file."""
    return [(m[1], int(m[2]), int(m[3])) for m in re.finditer(r"^# expect: (LG\d{3}) (\d+):(\d+)$", path.read_text(), re.M)]


def reported(stdout: str) -> list[tuple[str, int, int]]:
    """(code, line, column) of each diagnostic in plain text output."""
    return [(m[3], int(m[1]), int(m[2])) for m in re.finditer(r"^\S+:(\d+):(\d+): (?:error|warning): .* \[(LG\d{3})\]$", stdout, re.M)]


# -- the examples --------------------------------------------------------------


def test_every_example_passes_strict():
    result = legoc_check("--strict", str(EXAMPLES))
    assert result.returncode == 0, result.stdout + result.stderr
    n = len(list(EXAMPLES.glob("*.lego")))
    assert n >= 10
    assert result.stdout == f"All checks passed: {n} files.\n"
    assert result.stderr == ""


# -- exit codes ----------------------------------------------------------------


def test_a_clean_file_exits_0(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check("clean.lego", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "All checks passed: 1 file.\n"


def test_an_error_exits_1(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    result = legoc_check("bad.lego", "--color", "never", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("bad.lego:4:5: error: unknown layer `rleu` [LG201]\n")
    assert result.stdout.endswith("Found 1 error in 1 file.\n")


def test_a_warning_fails_only_with_strict(tmp_path):
    write(tmp_path, {"warn.lego": WARNING})
    plain = legoc_check("warn.lego", "--color", "never", cwd=tmp_path)
    assert plain.returncode == 0
    assert reported(plain.stdout) == [("LG510", 1, 7)]
    assert plain.stdout.endswith("Found 1 warning in 1 file.\n")
    strict = legoc_check("--strict", "warn.lego", "--color", "never", cwd=tmp_path)
    assert strict.returncode == 1
    assert strict.stdout == plain.stdout


def test_a_missing_path_exits_2(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check("clean.lego", "nope.lego", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "legoc check: error: nope.lego: no such file or directory\n"
    assert result.stdout == ""


def test_an_unknown_option_exits_2(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check("--bogus", "clean.lego", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr


@pytest.mark.parametrize("option, code", [("--select", "LG999"), ("--select", "E501"), ("--ignore", "LG5,LG42x")])
def test_a_bad_code_exits_2(tmp_path, option, code):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check(option, code, "clean.lego", cwd=tmp_path)
    assert result.returncode == 2
    bad = code.split(",")[-1]
    assert result.stderr == f"legoc check: error: `{bad}` is not a legoc code or code prefix\n"


def test_no_paths_is_a_usage_error():
    assert legoc_check().returncode == 2


def test_a_directory_is_searched_recursively_skipping_hidden_ones(tmp_path):
    write(
        tmp_path,
        {
            "specs/clean.lego": CLEAN,
            "specs/deep/er/bad.lego": ERROR,
            "specs/.hidden/bad.lego": ERROR,
            "specs/deep/.cache/bad.lego": ERROR,
            "specs/notes.txt": "not a spec",
            "specs/bad.lego.txt": ERROR,
        },
    )
    result = legoc_check("specs", "--color", "never", cwd=tmp_path)
    assert result.returncode == 1
    located = re.findall(r"^(\S+):\d+:\d+: error", result.stdout, re.M)
    assert located == [os.path.join("specs", "deep", "er", "bad.lego")]
    assert result.stdout.endswith("Found 1 error in 2 files.\n")
    # Without the erroneous file, the directory is clean: hidden ones are never read.
    (tmp_path / "specs/deep/er/bad.lego").unlink()
    again = legoc_check("specs", cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout == "All checks passed: 1 file.\n"


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@needs_fifo
def test_a_directory_search_reads_only_regular_files(tmp_path):
    # A FIFO named *.lego would block a reader forever: it is not read.
    write(tmp_path, {"specs/bad.lego": ERROR, "specs/clean.lego": CLEAN})
    os.mkfifo(tmp_path / "specs" / "pipe.lego")
    result = legoc_check("specs", "--color", "never", cwd=tmp_path)
    assert result.returncode == 1
    assert reported(result.stdout) == [("LG201", 4, 5)]
    assert "pipe.lego" not in result.stdout + result.stderr
    assert result.stdout.endswith("Found 1 error in 2 files.\n")


@pytest.mark.parametrize("given", ["in a directory", "by name"])
def test_dangling_links_and_link_loops_are_diagnostics_and_the_rest_is_checked(tmp_path, given):
    write(tmp_path, {"specs/bad.lego": ERROR, "specs/clean.lego": CLEAN})
    (tmp_path / "specs" / "dangling.lego").symlink_to("gone.lego")
    (tmp_path / "specs" / "loop.lego").symlink_to("loop.lego")
    (tmp_path / "specs" / "a.lego").symlink_to("b.lego")
    (tmp_path / "specs" / "b.lego").symlink_to("a.lego")
    names = ["specs"] if given == "in a directory" else [os.path.join("specs", n) for n in ("a.lego", "bad.lego", "clean.lego", "dangling.lego", "loop.lego")]
    result = legoc_check(*names, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    diags = json.loads(result.stdout)
    jsonschema.validate(diags, JSON_SCHEMA)
    where = lambda d: (d["file"], d["line"], d["column"], d["code"])  # noqa: E731
    path = lambda name: os.path.join("specs", name)  # noqa: E731
    assert sorted(map(where, diags)) == sorted(
        [(path("a.lego"), 1, 1, "LG106"), (path("b.lego"), 1, 1, "LG106"), (path("bad.lego"), 4, 5, "LG201"), (path("dangling.lego"), 1, 1, "LG106"), (path("loop.lego"), 1, 1, "LG106")]
        if given == "in a directory"
        else [(path("a.lego"), 1, 1, "LG106"), (path("bad.lego"), 4, 5, "LG201"), (path("dangling.lego"), 1, 1, "LG106"), (path("loop.lego"), 1, 1, "LG106")]
    )
    messages = {d["file"]: d["message"] for d in diags}
    assert messages[path("dangling.lego")] == "the file cannot be read: it is a symbolic link to `gone.lego`, which does not exist"
    assert messages[path("loop.lego")] == "the file cannot be read: its symbolic links form a loop"


@needs_fifo
def test_a_fifo_given_by_name_is_a_diagnostic_not_a_wait(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    os.mkfifo(tmp_path / "pipe.lego")
    result = legoc_check("pipe.lego", "clean.lego", "--color", "never", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == (
        "pipe.lego:1:1: error: the file cannot be read: it is a FIFO (named pipe), not a regular file [LG106]\n"
        "Found 1 error in 2 files.\n"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_a_diagnostic_and_the_rest_is_checked(tmp_path):
    write(tmp_path, {"secret.lego": CLEAN, "bad.lego": ERROR})
    (tmp_path / "secret.lego").chmod(0)
    result = legoc_check(".", "--color", "never", cwd=tmp_path)
    assert result.returncode == 1
    assert reported(result.stdout) == [("LG201", 4, 5), ("LG106", 1, 1)]


# -- standard input ----------------------------------------------------------------


def test_dash_checks_standard_input_as_stdin(tmp_path):
    result = legoc_check("-", "--color", "never", cwd=tmp_path, stdin=ERROR)
    assert result.returncode == 1
    assert result.stdout.startswith("<stdin>:4:5: error: unknown layer `rleu` [LG201]\n")
    assert result.stdout.endswith("Found 1 error in 1 file.\n")
    clean = legoc_check("-", cwd=tmp_path, stdin=CLEAN)
    assert (clean.returncode, clean.stdout) == (0, "All checks passed: 1 file.\n")


def test_stdin_filename_names_standard_input_in_diagnostics(tmp_path):
    write(tmp_path, {"other.lego": ERROR})
    result = legoc_check("other.lego", "-", "--stdin-filename", "specs/net.lego", "--color", "never", cwd=tmp_path, stdin=ERROR)
    assert result.returncode == 1
    located = re.findall(r"^(\S+):(\d+):(\d+): error", result.stdout, re.M)
    assert located == [("other.lego", "4", "5"), ("specs/net.lego", "4", "5")]
    assert result.stdout.endswith("Found 2 errors in 2 files.\n")
    # As with ruff, a name for standard input without paths reads standard input.
    alone = legoc_check("--stdin-filename", "specs/net.lego", "--format", "json", cwd=tmp_path, stdin=ERROR)
    assert [(d["file"], d["code"]) for d in json.loads(alone.stdout)] == [("specs/net.lego", "LG201")]


def test_stdin_filename_is_matched_by_per_file_ignores(tmp_path):
    project(tmp_path, '[tool.legoc]\n[tool.legoc.per-file-ignores]\n"legacy/*.lego" = ["LG510"]\n', {})
    ignored = legoc_check("-", "--stdin-filename", "legacy/old.lego", "--strict", cwd=tmp_path, stdin=WARNING)
    assert (ignored.returncode, ignored.stdout) == (0, "All checks passed: 1 file.\n")
    kept = legoc_check("-", "--stdin-filename", "new/fresh.lego", "--strict", "--color", "never", cwd=tmp_path, stdin=WARNING)
    assert kept.returncode == 1 and reported(kept.stdout) == [("LG510", 1, 7)]
    assert kept.stdout.startswith("new/fresh.lego:1:7: warning:")


def test_standard_input_that_is_not_utf8_is_lg105(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "legoc", "check", "-", "--stdin-filename", "x.lego", "--format", "json"], input=b"\xff", capture_output=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 1
    assert [(d["file"], d["code"]) for d in json.loads(result.stdout)] == [("x.lego", "LG105")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["-", "-"], "standard input (-) can be checked once"),
        (["--stdin-filename", "x.lego", "clean.lego"], "--stdin-filename names standard input; give - among the paths"),
    ],
)
def test_stdin_usage_errors_exit_2(tmp_path, args, message):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check(*args, cwd=tmp_path, stdin=CLEAN)
    assert result.returncode == 2
    assert message in result.stderr


# -- output formats --------------------------------------------------------------


def test_json_validates_and_lists_the_multi_error_file():
    result = legoc_check("--format", "json", str(MULTI))
    assert result.returncode == 1
    diags = json.loads(result.stdout)
    jsonschema.Draft202012Validator(JSON_SCHEMA).validate(diags)
    assert [(d["code"], d["line"], d["column"]) for d in diags] == pinned(MULTI)
    assert len(diags) == 3
    assert {d["file"] for d in diags} == {str(MULTI)}
    assert [d["severity"] for d in diags] == ["error"] * 3
    assert diags[2]["title"] == "shapes do not match"
    assert diags[2]["hint"] == "add `shortcut conv1x1_bn` to project the input"


def test_json_of_the_whole_corpus_validates():
    result = legoc_check("--format", "json", str(CORPUS))
    assert result.returncode == 1
    diags = json.loads(result.stdout)
    jsonschema.Draft202012Validator(JSON_SCHEMA).validate(diags)
    expected = sorted((str(f), *pin) for f in CORPUS.glob("*.lego") for pin in pinned(f))
    assert sorted((d["file"], d["code"], d["line"], d["column"]) for d in diags) == expected
    assert any(d["notes"] for d in diags) and any(d["hint"] is None for d in diags)


def test_the_json_schema_rejects_what_it_should():
    validator = jsonschema.Draft202012Validator(JSON_SCHEMA)
    good = json.loads(legoc_check("--format", "json", str(MULTI)).stdout)[0]
    assert validator.is_valid([good])
    assert not validator.is_valid([{**good, "code": "E501"}])
    assert not validator.is_valid([{**good, "line": 0}])
    assert not validator.is_valid([{k: v for k, v in good.items() if k != "hint"}])


def test_json_of_a_clean_file_is_an_empty_list(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check("--format", "json", "clean.lego", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_sarif_validates_with_one_result_per_diagnostic():
    plain = legoc_check("--format", "json", str(CORPUS))
    diags = json.loads(plain.stdout)
    result = legoc_check("--format", "sarif", str(CORPUS))
    assert result.returncode == 1
    log = json.loads(result.stdout)
    validator = jsonschema.validators.validator_for(SARIF_SCHEMA)(SARIF_SCHEMA)
    validator.validate(log)
    (run,) = log["runs"]
    results = run["results"]
    assert len(results) == len(diags) > 34
    assert [r["ruleId"] for r in results] == [d["code"] for d in diags]
    assert [r["level"] for r in results] == [d["severity"] for d in diags]
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in results]
    assert [(g["startLine"], g["startColumn"]) for g in regions] == [(d["line"], d["column"]) for d in diags]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == sorted({d["code"] for d in diags})
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in results)


def test_the_sarif_schema_rejects_what_it_should():
    log = json.loads(legoc_check("--format", "sarif", str(MULTI)).stdout)
    validator = jsonschema.validators.validator_for(SARIF_SCHEMA)(SARIF_SCHEMA)
    assert validator.is_valid(log)
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert not validator.is_valid(log)


def test_github_prints_workflow_commands(tmp_path):
    write(tmp_path, {"multi.lego": MULTI.read_text(), "warn.lego": WARNING})
    result = legoc_check("--format", "github", "multi.lego", "warn.lego", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert [line.split("::")[1].split(",")[:3] for line in lines] == [
        ["error file=multi.lego", "line=7", "col=22"],
        ["error file=multi.lego", "line=13", "col=16"],
        ["error file=multi.lego", "line=18", "col=5"],
        ["warning file=warn.lego", "line=1", "col=7"],
    ]
    assert lines[2].startswith("::error file=multi.lego,line=18,col=5,endLine=18,endColumn=24,title=LG301 shapes do not match::")
    assert lines[2].endswith("%0Ahelp: add `shortcut conv1x1_bn` to project the input")


# -- configuration -----------------------------------------------------------------


def project(tmp_path: Path, config: str, files: dict[str, str]) -> Path:
    return write(tmp_path, {"pyproject.toml": config, **files})


def test_config_ignore_switches_a_rule_off(tmp_path):
    write(tmp_path, {"warn.lego": WARNING})
    assert reported(legoc_check("warn.lego", cwd=tmp_path).stdout) == [("LG510", 1, 7)]
    project(tmp_path, '[tool.legoc]\nignore = ["LG510"]\n', {})
    result = legoc_check("warn.lego", "--strict", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "All checks passed: 1 file.\n"


def test_config_is_found_from_a_subdirectory(tmp_path):
    project(tmp_path, '[tool.legoc]\nignore = ["LG510"]\n', {"sub/warn.lego": WARNING})
    result = legoc_check("warn.lego", "--strict", cwd=tmp_path / "sub")
    assert result.returncode == 0, result.stdout


def test_config_select_enables_the_opt_in_rule_and_replaces_the_set(tmp_path):
    files = {"wide.lego": WIDE, "warn.lego": WARNING}
    write(tmp_path, files)
    default = legoc_check("wide.lego", "warn.lego", cwd=tmp_path)
    assert [code for code, *_ in reported(default.stdout)] == ["LG510"]
    project(tmp_path, '[tool.legoc]\nselect = ["LG509"]\n', {})
    selected = legoc_check("wide.lego", "warn.lego", cwd=tmp_path)
    assert reported(selected.stdout) == [("LG509", 3, 5)]
    assert "`conv` maps 3 to 100 channels" in selected.stdout
    assert selected.returncode == 0


def test_config_per_file_ignores_a_glob(tmp_path):
    project(
        tmp_path,
        '[tool.legoc]\n[tool.legoc.per-file-ignores]\n"legacy/*.lego" = ["LG510"]\n',
        {"legacy/old.lego": WARNING, "new/fresh.lego": WARNING},
    )
    result = legoc_check(".", "--color", "never", cwd=tmp_path)
    located = re.findall(r"^(\S+):(\d+):(\d+): warning: .* \[(LG\d+)\]$", result.stdout, re.M)
    assert located == [(os.path.join("new", "fresh.lego"), "1", "7", "LG510")]
    assert result.stdout.endswith("Found 1 warning in 2 files.\n")


def test_config_strict_fails_on_a_warning(tmp_path):
    write(tmp_path, {"warn.lego": WARNING})
    assert legoc_check("warn.lego", cwd=tmp_path).returncode == 0
    project(tmp_path, "[tool.legoc]\nstrict = true\n", {})
    result = legoc_check("warn.lego", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.endswith("Found 1 warning in 1 file.\n")


@pytest.mark.parametrize(
    "config, message",
    [
        ('[tool.legoc]\nselct = ["LG5"]\n', "[tool.legoc] has no setting `selct`; the settings are build, exclude, extend-exclude, ignore, limits, per-file-ignores, select, strict"),
        ('[tool.legoc]\nignore = ["LG599"]\n', "[tool.legoc] ignore: `LG599` is not a legoc code or code prefix"),
        ('[tool.legoc]\nselect = ["E501"]\n', "[tool.legoc] select: `E501` is not a legoc code or code prefix"),
        ('[tool.legoc]\nignore = "LG510"\n', '[tool.legoc] ignore must be a list of codes such as "LG501"'),
        ('[tool.legoc]\nstrict = "yes"\n', "[tool.legoc] strict must be true or false"),
        ('[tool.legoc.per-file-ignores]\n"*.lego" = ["LG9"]\n', "[tool.legoc] per-file-ignores '*.lego': `LG9` is not a legoc code or code prefix"),
    ],
    ids=["unknown-key", "unknown-code", "not-a-legoc-code", "not-a-list", "strict-not-bool", "per-file-unknown-code"],
)
def test_an_invalid_config_exits_2(tmp_path, config, message):
    project(tmp_path, config, {"clean.lego": CLEAN})
    result = legoc_check("clean.lego", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"legoc check: error: {tmp_path / 'pyproject.toml'}: {message}\n"
    assert result.stdout == ""


def test_config_option_picks_a_file(tmp_path):
    specs = write(tmp_path / "specs", {"warn.lego": WARNING})
    other = write(tmp_path / "elsewhere", {"pyproject.toml": '[tool.legoc]\nignore = ["LG510"]\nstrict = true\n'})
    assert legoc_check("--strict", "warn.lego", cwd=specs).returncode == 1
    result = legoc_check("--config", str(other / "pyproject.toml"), "warn.lego", cwd=specs)
    assert result.returncode == 0
    assert result.stdout == "All checks passed: 1 file.\n"
    # The picked file wins over the one found above the working directory.
    write(specs, {"pyproject.toml": "[tool.legoc]\nstrict = true\n"})
    assert legoc_check("warn.lego", cwd=specs).returncode == 1
    assert legoc_check("--config", str(other / "pyproject.toml"), "warn.lego", cwd=specs).returncode == 0


def test_config_option_with_a_missing_file_exits_2(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check("--config", "missing.toml", "clean.lego", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("legoc check: error: missing.toml:")


INLINE = """\
model Net():
    input [3, 32, 32]
    conv 8; bn; relu; relu  # legoc: ignore[LG502]
    conv 8; bn; relu; relu  # legoc: ignore
    conv 8; bn; relu; relu
"""


def test_inline_ignore_silences_only_its_codes_on_its_line(tmp_path):
    write(tmp_path, {"inline.lego": INLINE})
    result = legoc_check("inline.lego", "--color", "never", cwd=tmp_path)
    # Line 3: LG501 (the conv's bias) stays, LG502 is silenced. Line 4: all
    # warnings are silenced. Line 5: both are reported.
    assert reported(result.stdout) == [("LG501", 3, 5), ("LG501", 5, 5), ("LG502", 5, 23)]
    assert result.returncode == 0
    # Without the comments, all six are reported.
    write(tmp_path, {"inline.lego": re.sub(r"  # legoc: .*", "", INLINE)})
    bare = legoc_check("inline.lego", "--color", "never", cwd=tmp_path)
    assert reported(bare.stdout) == [(code, line, col) for line in (3, 4, 5) for code, col in (("LG501", 5), ("LG502", 23))]


def test_errors_cannot_be_silenced(tmp_path):
    spec = "model Net():\n    input [3, 32, 32]\n    rleu  # legoc: ignore[LG201]\n    conv 8 kernal_size=3  # legoc: ignore\n"
    project(tmp_path, '[tool.legoc]\nignore = ["LG2", "LG4"]\n', {"bad.lego": spec})
    result = legoc_check("bad.lego", "--ignore", "LG201", "--color", "never", cwd=tmp_path)
    assert result.returncode == 1
    assert reported(result.stdout) == [("LG201", 3, 5), ("LG402", 4, 12)]


# -- colour ------------------------------------------------------------------------


def test_no_color_and_pipes_are_plain(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    piped = legoc_check("bad.lego", cwd=tmp_path)
    no_color = legoc_check("bad.lego", cwd=tmp_path, env={"NO_COLOR": "1"})
    never = legoc_check("bad.lego", "--color", "never", cwd=tmp_path)
    for result in (piped, no_color, never):
        assert result.returncode == 1
        assert ANSI not in result.stdout + result.stderr
        assert "bad.lego:4:5: error: unknown layer `rleu` [LG201]" in result.stdout
    assert piped.stdout == no_color.stdout == never.stdout


def test_color_always_styles_the_same_text(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    plain = legoc_check("bad.lego", "--color", "never", cwd=tmp_path)
    for env in ({}, {"NO_COLOR": "1"}):  # an explicit --color always wins over NO_COLOR
        styled = legoc_check("bad.lego", "--color", "always", cwd=tmp_path, env=env)
        assert styled.returncode == 1
        assert ANSI in styled.stdout
        assert "\x1b[31m" in styled.stdout  # "error:" in red
        assert click.unstyle(styled.stdout) == plain.stdout


def _on_a_terminal(args: list[str], cwd: Path, env: dict) -> str:
    """Run `legoc check` with its stdout on a pseudo-terminal; return what it wrote."""
    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | env
    try:
        process = subprocess.Popen([sys.executable, "-m", "legoc", "check", *args], stdout=follower, stderr=subprocess.PIPE, cwd=cwd, env=environment)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_a_terminal_gets_colour_unless_no_color(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    assert ANSI in _on_a_terminal(["bad.lego"], tmp_path, {})
    plain = _on_a_terminal(["bad.lego"], tmp_path, {"NO_COLOR": "1"})
    assert ANSI not in plain
    assert "unknown layer `rleu`" in plain


def test_force_color_colours_a_pipe_unless_no_color_or_never(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    plain = legoc_check("bad.lego", cwd=tmp_path)
    forced = legoc_check("bad.lego", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert ANSI in forced.stdout and click.unstyle(forced.stdout) == plain.stdout
    for args, env in (([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}), (["--color", "never"], {"FORCE_COLOR": "1"})):
        assert legoc_check("bad.lego", *args, cwd=tmp_path, env=env).stdout == plain.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_color_never_beats_a_terminal(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    assert ANSI not in _on_a_terminal(["bad.lego", "--color", "never"], tmp_path, {"FORCE_COLOR": "1"})


# -- --output-file, --exit-zero, --quiet ----------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "github", "gitlab", "junit", "sarif"])
def test_output_file_holds_what_stdout_would(fmt, tmp_path):
    write(tmp_path, {"bad.lego": ERROR, "warn.lego": WARNING})
    shown = legoc_check(".", "--format", fmt, cwd=tmp_path)
    written = legoc_check(".", "--format", fmt, "--output-file", "report.out", cwd=tmp_path)
    assert written.returncode == shown.returncode == 1
    assert written.stdout == "" and written.stderr == shown.stderr
    assert (tmp_path / "report.out").read_text() == shown.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.lego", "report.out", "warn.lego"]  # no temporary file left


def test_output_file_replaces_a_file_and_dash_is_stdout(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN, "report.txt": "an old report\n"})
    os.chmod(tmp_path / "report.txt", 0o640)
    assert legoc_check("clean.lego", "--output-file", "report.txt", cwd=tmp_path).returncode == 0
    assert (tmp_path / "report.txt").read_text() == "All checks passed: 1 file.\n"
    assert (tmp_path / "report.txt").stat().st_mode & 0o777 == 0o640
    assert legoc_check("clean.lego", "--output-file", "-", cwd=tmp_path).stdout == "All checks passed: 1 file.\n"


def test_output_file_is_never_a_spec_checked(tmp_path):
    write(tmp_path, {"specs/a.lego": CLEAN, "specs/b.lego": ERROR})
    (tmp_path / "link.lego").symlink_to(tmp_path / "specs" / "b.lego")
    for target in ("specs/b.lego", "link.lego"):
        result = legoc_check("specs", "--output-file", target, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == ""
        assert f"legoc check: error: --output-file {target} is the input spec" in result.stderr
        assert (tmp_path / "specs" / "b.lego").read_text() == ERROR


def test_output_file_that_cannot_be_written_exits_2(tmp_path):
    write(tmp_path, {"clean.lego": CLEAN})
    result = legoc_check("clean.lego", "--output-file", "missing/report.txt", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("legoc check: error: cannot write missing/report.txt: ")


def test_output_file_is_coloured_only_with_color_always(tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    legoc_check("bad.lego", "--output-file", "forced.txt", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    legoc_check("bad.lego", "--output-file", "always.txt", "--color", "always", cwd=tmp_path)
    forced, always = (tmp_path / "forced.txt").read_text(), (tmp_path / "always.txt").read_text()
    assert ANSI not in forced and ANSI in always
    assert click.unstyle(always) == forced


def test_exit_zero_reports_errors_and_exits_0(tmp_path):
    write(tmp_path, {"bad.lego": ERROR, "warn.lego": WARNING})
    for args in (["bad.lego"], ["--strict", "warn.lego"]):
        failing = legoc_check(*args, "--color", "never", cwd=tmp_path)
        passing = legoc_check(*args, "--exit-zero", "--color", "never", cwd=tmp_path)
        assert failing.returncode == 1 and passing.returncode == 0
        assert passing.stdout == failing.stdout and "Found 1 " in passing.stdout


@pytest.mark.parametrize("args", [["nope.lego"], ["bad.lego", "--bogus"], ["bad.lego", "--select", "XX1"], []])
def test_exit_zero_keeps_usage_errors_at_2(args, tmp_path):
    write(tmp_path, {"bad.lego": ERROR})
    assert legoc_check(*args, "--exit-zero", cwd=tmp_path).returncode == 2


def test_quiet_prints_the_diagnostics_without_the_summary_line(tmp_path):
    write(tmp_path, {"bad.lego": ERROR, "clean.lego": CLEAN})
    loud = legoc_check(".", "--color", "never", cwd=tmp_path)
    for flag in ("-q", "--quiet"):
        quiet = legoc_check(".", flag, "--color", "never", cwd=tmp_path)
        assert quiet.returncode == loud.returncode == 1
        assert loud.stdout.endswith("Found 1 error in 2 files.\n")
        assert quiet.stdout == loud.stdout.removesuffix("Found 1 error in 2 files.\n")
        assert reported(quiet.stdout) == [("LG201", 4, 5)]
    assert legoc_check("clean.lego", "-q", cwd=tmp_path).stdout == ""
    assert legoc_check(".", "-q", "--format", "json", cwd=tmp_path).stdout == legoc_check(".", "--format", "json", cwd=tmp_path).stdout


# -- imports -----------------------------------------------------------------------

IMPORTS = """
import sys
from legoc.tools.check import main
status = main([sys.argv[1], "--format", "json"])
heavy = {"torch", "black", "jinja2"}
print(status, sorted(heavy & set(sys.modules)))
import jinja2  # the probe sees a module once it is imported
print(sorted(heavy & set(sys.modules)))
"""


def test_check_imports_neither_torch_nor_black_nor_jinja2(tmp_path):
    result = subprocess.run([sys.executable, "-c", IMPORTS, str(EXAMPLES)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    *report, status_line, probe = result.stdout.splitlines()
    assert json.loads("\n".join(report)) == []  # every example checked, cleanly
    assert status_line == "0 []"
    assert probe == "['jinja2']"


LEGOC_TABLES = [
    "[tool.legoc]\nstrict = true\n",
    "[tool.legoc.limits]\nmax-nesting = 5\n",
    '[ "tool" . "legoc" ]\nstrict = true\n',
    "[tool]\nlegoc = { strict = true }\n",
    "[tool]\nlegoc.strict = true\n",
    "tool.legoc.strict = true\n",
    "tool = { legoc = { strict = true } }\n",
    "  [tool .legoc]\nstrict = true\n",
    "[project]\nname = 'x'\n\n[tool.black]\nline-length = 88\n\n[tool.legoc]\nselect = ['LG5']\n",
]
OTHER_TABLES = [
    "[project]\nname = 'legoc'\n\n[tool.black]\nline-length = 88\n",
    "[tool.setuptools]\npackages = ['legoc']\n\n[tool.pytest.ini_options]\naddopts = '-ra'\n",
    "[project.scripts]\nlegoc = 'legoc.cli:main'\n",
]


@pytest.mark.parametrize("text", LEGOC_TABLES + OTHER_TABLES)
def test_only_files_that_cannot_configure_legoc_go_unparsed(tmp_path, text):
    """find_pyproject skips parsing a pyproject.toml whose lines cannot make
    a [tool.legoc] table, and finds every one that does."""
    from legoc.tools.config import _MAY_CONFIGURE, _toml, find_pyproject

    has_table = "legoc" in _toml().loads(text).get("tool", {})
    assert has_table is (text in LEGOC_TABLES)
    if has_table:
        assert _MAY_CONFIGURE.search(text)
    else:
        assert not _MAY_CONFIGURE.search(text)  # these common files are not parsed
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / "sub").mkdir()
    assert find_pyproject(tmp_path / "sub") == (tmp_path / "pyproject.toml" if has_table else find_pyproject(tmp_path.parent))
