"""The reports of `legoc check` that CI services read besides SARIF, as
ruff writes them: `--format gitlab`, a GitLab Code Quality report, and
`--format junit`, JUnit XML (GitLab's and Jenkins' test reports).

Every function here returns a value and prints nothing; only the standard
library is imported (json, hashlib and ElementTree when a report is made).
"""

from __future__ import annotations

import os

from ..core.codes import CODES
from ..core.diagnostics import Diagnostic
from .report import relative_posix, with_hint

# legoc's severities as GitLab's (info, minor, major, critical, blocker): an
# error stops compilation, as a syntax error does ruff's check (critical); a
# warning is a lint rule's finding.
GITLAB_SEVERITY = {"error": "critical", "warning": "minor"}


# -- GitLab Code Quality -----------------------------------------------------


def format_gitlab(diags: list[Diagnostic], project_dir: str | None = None) -> str:
    """Return the diagnostics as a GitLab Code Quality report
    (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format):
    a JSON array with one object per diagnostic.

    Each object has `description` ("LG301: message", and "help: ..." on
    the next line when there is a hint; GitLab's widget shows the
    description but not the check name), `check_name` (the code),
    `fingerprint`, `severity` (`GITLAB_SEVERITY`: errors critical,
    warnings minor) and `location`: `path` relative to `project_dir`
    (default: $CI_PROJECT_DIR, which GitLab sets, else the working
    directory) and `positions` `begin`/`end` with 1-based `line` and
    `column`. The fingerprint is a SHA-256 of the path, the code and the
    message, not of the line, so an issue keeps it when lines move above
    it; a second issue with the same three gets the hash of them and its
    ordinal, so fingerprints are unique in a report, as GitLab requires.
    """
    import hashlib
    import json

    base = project_dir or os.environ.get("CI_PROJECT_DIR") or None
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for d in diags:
        path = relative_posix(d.span.file, base)
        code = d.code or "legoc"
        key = (path, code, d.message)
        n = seen[key] = seen.get(key, -1) + 1
        material = "\0".join(key) + (f"\0{n}" if n else "")
        out.append(
            {
                "description": f"{code}: {with_hint(d)}",
                "check_name": code,
                "fingerprint": hashlib.sha256(material.encode("utf-8")).hexdigest(),
                "severity": GITLAB_SEVERITY.get(d.severity, "critical"),
                "location": {
                    "path": path,
                    "positions": {
                        "begin": {"line": d.span.line, "column": d.span.column},
                        "end": {"line": d.span.end_line, "column": d.span.end_column},
                    },
                },
            }
        )
    return json.dumps(out, indent=2, ensure_ascii=False)


# -- JUnit XML ---------------------------------------------------------------


def format_junit(diags: list[Diagnostic], files: list[str] | None = None) -> str:
    """Return the diagnostics as JUnit XML, as ruff writes it: a
    `<testsuites name="legoc">` with a `<testsuite>` per file (named by its
    path) and a `<testcase name="org.legoc.LG301" classname="PATH"
    file="PATH" line=".." column="..">` per diagnostic, holding a
    `<failure>` whose message is the diagnostic's and whose text is
    "line L, col C, message". Warnings are failures too (`type="warning"`:
    JUnit knows no warnings).

    `files`, the files checked (in order), gives each file without
    diagnostics a suite with one passing test case, `legoc check`; a run
    with no file and no diagnostic is one passing suite, "legoc". The
    counts (`tests`, `failures`, `errors` 0, `skipped` 0) are on every
    suite and on `<testsuites>`.
    """
    from xml.etree import ElementTree as ET

    by_file: dict[str, list[Diagnostic]] = {relative_posix(f): [] for f in files or ()}
    for d in diags:
        by_file.setdefault(relative_posix(d.span.file), []).append(d)
    if not by_file:
        by_file["legoc"] = []
    root = ET.Element("testsuites", name="legoc")
    for path, found in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=path, package="org.legoc")
        if not found:
            ET.SubElement(suite, "testcase", name="legoc check", classname=path)
        for d in found:
            code = d.code or "legoc"
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"org.legoc.{code}",
                classname=path,
                file=path,
                line=str(d.span.line),
                column=str(d.span.column),
            )
            title = f" ({CODES[code]})" if code in CODES else ""
            failure = ET.SubElement(case, "failure", message=d.message, type=d.severity)
            failure.text = f"line {d.span.line}, col {d.span.column}, {code}{title}: {with_hint(d)}"
        _counts(suite, max(len(found), 1), len(found))
    _counts(root, sum(int(s.get("tests")) for s in root), len(diags))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _counts(element, tests: int, failures: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", "0")
    element.set("skipped", "0")
