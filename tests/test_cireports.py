"""`legoc check --format gitlab` and `--format junit` (legoc/tools/cireports.py):
the GitLab Code Quality report checked against the fields GitLab's
documentation requires, the JUnit XML read back by junitparser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from legoc.core.diagnostics import Diagnostic, Span
from legoc.tools.cireports import format_gitlab, format_junit

# GitLab's Code Quality report format, as its documentation states it
# (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format):
# a JSON array of objects with `description`, `check_name`, `fingerprint`,
# `severity` (one of five) and `location.path` with `location.lines.begin` or
# `location.positions.begin.line`. GitLab publishes no JSON Schema of its own
# for it; this one writes that table down (line numbers are 1-based).
POSITION = {"type": "object", "required": ["line"], "properties": {"line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1}}}
GITLAB_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^/"}},
                    "lines": {"type": "object", "required": ["begin"], "properties": {"begin": {"type": "integer", "minimum": 1}, "end": {"type": "integer", "minimum": 1}}},
                    "positions": {"type": "object", "required": ["begin"], "properties": {"begin": POSITION, "end": POSITION}},
                },
                "oneOf": [{"required": ["lines"]}, {"required": ["positions"]}],
            },
        },
    },
}

ERROR = Diagnostic("error", Span("specs/a.lego", 4, 5, 4, 9), "unknown layer `rleu`", code="LG201", hint="did you mean `relu`?")
AGAIN = Diagnostic("error", Span("specs/a.lego", 5, 5, 5, 9), "unknown layer `rleu`", code="LG201", hint="did you mean `relu`?")
WARNING = Diagnostic("warning", Span("specs/b.lego", 1, 7, 1, 12), "block `spare` is not used by any model, so no code is generated for it", code="LG510")
DIAGS = [ERROR, AGAIN, WARNING]


def validate_gitlab(text: str) -> list[dict]:
    report = json.loads(text)
    jsonschema.Draft202012Validator(GITLAB_SCHEMA).validate(report)
    fingerprints = [issue["fingerprint"] for issue in report]
    assert len(set(fingerprints)) == len(fingerprints), "GitLab needs a fingerprint unique to each issue"
    return report


# -- GitLab ------------------------------------------------------------------


def test_gitlab_report_has_gitlabs_fields():
    report = validate_gitlab(format_gitlab(DIAGS))
    assert [i["check_name"] for i in report] == ["LG201", "LG201", "LG510"]
    assert [i["severity"] for i in report] == ["critical", "critical", "minor"]
    assert report[0]["description"] == "LG201: unknown layer `rleu`\nhelp: did you mean `relu`?"
    assert report[0]["location"] == {"path": "specs/a.lego", "positions": {"begin": {"line": 4, "column": 5}, "end": {"line": 4, "column": 9}}}
    assert report[2]["location"]["path"] == "specs/b.lego"


def test_gitlab_fingerprints_are_stable_when_lines_move():
    first = validate_gitlab(format_gitlab([ERROR, WARNING]))
    moved = Diagnostic("error", Span("specs/a.lego", 9, 1, 9, 5), ERROR.message, code="LG201", hint=ERROR.hint)
    assert validate_gitlab(format_gitlab([moved, WARNING]))[0]["fingerprint"] == first[0]["fingerprint"]
    other = Diagnostic("error", Span("specs/c.lego", 4, 5, 4, 9), ERROR.message, code="LG201")
    assert validate_gitlab(format_gitlab([other]))[0]["fingerprint"] != first[0]["fingerprint"]


def test_gitlab_paths_are_relative_to_the_project_dir(monkeypatch, tmp_path):
    inside = Diagnostic("error", Span(str(tmp_path / "specs" / "x.lego"), 1, 1, 1, 2), "m", code="LG101")
    monkeypatch.setenv("CI_PROJECT_DIR", str(tmp_path))
    assert validate_gitlab(format_gitlab([inside]))[0]["location"]["path"] == "specs/x.lego"
    assert json.loads(format_gitlab([inside], project_dir=str(tmp_path / "specs")))[0]["location"]["path"] == "x.lego"
    # A job that runs in a subdirectory of the project, with relative paths.
    (tmp_path / "specs").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path / "specs")
    relative = Diagnostic("error", Span("x.lego", 1, 1, 1, 2), "m", code="LG101")
    assert validate_gitlab(format_gitlab([relative]))[0]["location"]["path"] == "specs/x.lego"


def test_gitlab_report_of_nothing_is_an_empty_array():
    assert validate_gitlab(format_gitlab([])) == []


def test_gitlab_schema_rejects_what_gitlab_would():
    report = json.loads(format_gitlab([ERROR]))
    for broken in ({**report[0], "severity": "error"}, {k: v for k, v in report[0].items() if k != "fingerprint"}, {**report[0], "location": {"path": "a.lego"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(GITLAB_SCHEMA).validate([broken])


# -- JUnit -------------------------------------------------------------------


def cases(xml: JUnitXml) -> list[tuple[str, str, str, list]]:
    return [(suite.name, case.name, case.classname, case.result) for suite in xml for case in suite]


def test_junit_has_a_suite_per_file_and_a_failing_case_per_diagnostic():
    xml = JUnitXml.fromstring(format_junit(DIAGS, ["specs/a.lego", "specs/clean.lego", "specs/b.lego"]))
    assert xml.name == "legoc"
    assert [s.name for s in xml] == ["specs/a.lego", "specs/clean.lego", "specs/b.lego"]
    found = cases(xml)
    assert [c[:3] for c in found] == [
        ("specs/a.lego", "org.legoc.LG201", "specs/a.lego"),
        ("specs/a.lego", "org.legoc.LG201", "specs/a.lego"),
        ("specs/clean.lego", "legoc check", "specs/clean.lego"),
        ("specs/b.lego", "org.legoc.LG510", "specs/b.lego"),
    ]
    results = [c[3] for c in found]
    assert results[2] == []  # the clean file passes
    (failure,) = results[0]
    assert isinstance(failure, Failure) and failure.type == "error"
    assert failure.message == "unknown layer `rleu`"
    assert failure.text == "line 4, col 5, LG201 (unknown layer): unknown layer `rleu`\nhelp: did you mean `relu`?"
    assert results[3][0].type == "warning"
    suite = list(xml)[0]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (2, 2, 0, 0)
    xml.update_statistics()  # junitparser's own count agrees with the one written
    assert (xml.tests, xml.failures, xml.errors) == (4, 3, 0)
    case = list(suite)[0]
    assert (case._elem.get("file"), case._elem.get("line"), case._elem.get("column")) == ("specs/a.lego", "4", "5")


def test_junit_of_a_clean_run_has_a_passing_case():
    xml = JUnitXml.fromstring(format_junit([], ["specs/clean.lego"]))
    assert [(s, n, r) for s, n, _, r in cases(xml)] == [("specs/clean.lego", "legoc check", [])]
    assert (xml.tests, xml.failures) == (1, 0)
    xml = JUnitXml.fromstring(format_junit([]))
    assert [(s, n, r) for s, n, _, r in cases(xml)] == [("legoc", "legoc check", [])]


def test_junit_escapes_markup_in_messages():
    odd = Diagnostic("error", Span("a&b.lego", 1, 1, 1, 2), 'a <tag> & "quote"', code="LG101")
    (case,) = [c for s in JUnitXml.fromstring(format_junit([odd])) for c in s]
    assert case.result[0].message == 'a <tag> & "quote"'
    assert case.classname == "a&b.lego"


# -- through the command line ----------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
BAD = "model Net():\n    input [3, 32, 32]\n    conv 8\n    rleu\n"
CLEAN = "model Net():\n    input [3, 32, 32]\n    conv 8\n    relu\n"


def legoc_check(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI_PROJECT_DIR"}
    return subprocess.run([sys.executable, "-m", "legoc", "check", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "bad.lego").write_text(BAD)
    (tmp_path / "specs" / "clean.lego").write_text(CLEAN)
    return tmp_path


def test_check_format_gitlab(specs):
    result = legoc_check("--format", "gitlab", "specs", cwd=specs)
    assert result.returncode == 1
    (issue,) = validate_gitlab(result.stdout)
    assert (issue["check_name"], issue["location"]["path"], issue["location"]["positions"]["begin"]) == ("LG201", "specs/bad.lego", {"line": 4, "column": 5})


def test_check_format_junit(specs):
    result = legoc_check("--format", "junit", "specs", cwd=specs)
    assert result.returncode == 1
    xml = JUnitXml.fromstring(result.stdout)
    assert [(s, n, len(r)) for s, n, _, r in cases(xml)] == [("specs/bad.lego", "org.legoc.LG201", 1), ("specs/clean.lego", "legoc check", 0)]


def test_check_help_lists_every_format():
    result = subprocess.run([sys.executable, "-m", "legoc", "check", "--help"], capture_output=True, text=True, cwd=tempfile.gettempdir(), timeout=60)
    text = " ".join(result.stdout.split())
    for fmt in ("text", "json", "github", "gitlab", "junit", "sarif"):
        assert f"{fmt} (" in text or f"{fmt};" in text, fmt
    assert "GitLab Code Quality" in text and "JUnit XML" in text


def test_the_gitlab_ci_example_of_the_docs_writes_the_reports_it_uploads(specs):
    """docs/ci.md's .gitlab-ci.yml: its report commands, run on a spec
    directory, write the files its artifacts:reports name, and they are a
    valid Code Quality report and JUnit XML."""
    yaml = pytest.importorskip("yaml")
    import re
    import shlex

    text = (ROOT / "docs" / "ci.md").read_text("utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "artifacts:" in b and "codequality" in b]
    job = yaml.safe_load(block)["legoc"]
    reports = job["artifacts"]["reports"]
    assert job["artifacts"]["when"] == "always"
    for line in job["script"]:
        words = shlex.split(line)
        if words[:3] == ["legoc", "check", "--format"]:
            assert legoc_check(*words[2:], cwd=specs).returncode == 0  # --exit-zero
    validate_gitlab((specs / reports["codequality"]).read_text("utf-8"))
    xml = JUnitXml.fromfile(str(specs / reports["junit"]))
    assert [s.name for s in xml] == ["specs/bad.lego", "specs/clean.lego"]
