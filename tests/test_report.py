"""The output formats of `legoc check` (legoc/tools/report.py): text with and
without colour, JSON, GitHub Actions workflow commands and SARIF 2.1.0."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import jsonschema
import pytest

from legoc.core.diagnostics import Diagnostic, Note, SourceFile, Span, render
from legoc.core import explanations
from legoc.core.codes import CODES, LINT_RULES
from legoc.core.version import DOCS_URL, REPOSITORY_URL
from legoc.tools.report import format_github, format_json, format_sarif, format_text, summary_line, use_color

ROOT = Path(__file__).resolve().parent.parent
JSON_SCHEMA = ROOT / "docs" / "diagnostics.schema.json"
SARIF_SCHEMA = Path(__file__).resolve().parent / "reference" / "sarif-schema-2.1.0.json"

SOURCE = SourceFile(
    "net.lego",
    "block stem(c):\n"
    "    conv3x3(c) -> bn -> relu\n"
    "    relu -> relu\n"
    "model net:\n"
    "    x = stem(64)\n"
    "    y = add(x, conv1x1(128))\n",
)
SOURCES = {"net.lego": SOURCE}

TRICKY = "100% sure, it is: not\nthat × simple"  # %, comma, colon, newline, non-ASCII

DIAGS = [
    Diagnostic(
        "error",
        Span("net.lego", 6, 9, 6, 29),
        "shapes do not match: 64 channels and 128 channels",
        notes=(Note("`x` has 64 channels", Span("net.lego", 5, 5, 5, 6)),),
        hint="add `conv1x1(128)` on `x`",
        code="LG301",
    ),
    Diagnostic("warning", Span("net.lego", 3, 5, 3, 17), "two activations in a row", code="LG502"),
    Diagnostic(
        "error",
        Span("net.lego", 2, 5, 2, 15),
        TRICKY,
        notes=(Note("a note without a place"),),
        hint="did you mean `conv3x3_bn_act`?",
        code="LG201",
    ),
    # A file that is not among the sources: no excerpt; a path with a space.
    Diagnostic("error", Span("other dir/b.lego", 1, 1, 1, 4), "malformed definition", code="LG404"),
]


# -- text ---------------------------------------------------------------------


def test_plain_text_is_render_of_each_diagnostic():
    text = format_text(DIAGS, SOURCES, color=False)
    assert text == "\n".join(render(d, SOURCES) for d in DIAGS)
    assert "\x1b[" not in text
    assert text.splitlines()[:3] == [
        "net.lego:6:9: error: shapes do not match: 64 channels and 128 channels [LG301]",
        "      y = add(x, conv1x1(128))",
        "          ^" + "~" * 19,  # `add(x, conv1x1(128))`: columns 9 to 29
    ]


def test_coloured_text_has_ansi_styles_and_unstyles_to_plain():
    plain = format_text(DIAGS, SOURCES, color=False)
    coloured = format_text(DIAGS, SOURCES, color=True)
    assert "\x1b[" in coloured
    assert click.unstyle(coloured) == plain
    assert click.style("net.lego:6:9:", bold=True) in coloured
    assert click.style("error:", fg="red", bold=True) in coloured
    assert click.style("warning:", fg="yellow", bold=True) in coloured
    assert click.style("two activations in a row", bold=True) in coloured
    assert click.style("note:", fg="blue", bold=True) in coloured
    assert "  " + click.style("help:", fg="green", bold=True) + " add `conv1x1(128)` on `x`" in coloured
    assert click.style("          ^" + "~" * 19, fg="green", bold=True) in coloured
    # The source line itself stays plain.
    assert "\n      y = add(x, conv1x1(128))\n" in coloured


def test_no_diagnostics_give_empty_text():
    assert format_text([], SOURCES, color=True) == ""


class FakeStream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "no_color", "force", "expected"),
    [
        (True, None, None, True),
        (True, "", None, True),  # NO_COLOR set but empty: ignored
        (True, "1", None, False),
        (True, "0", None, False),  # any non-empty value turns colour off
        (False, None, None, False),
        (False, None, True, True),  # force wins over a non-terminal...
        (True, "1", True, True),  # ...and over NO_COLOR
        (True, None, False, False),
    ],
)
def test_use_color(tty, no_color, force, expected):
    assert use_color(FakeStream(tty), no_color, force) is expected


def test_use_color_without_a_usable_isatty():
    closed = io.StringIO()
    closed.close()  # isatty() on a closed stream raises ValueError
    assert use_color(closed, None, None) is False
    assert use_color(object(), None, None) is False
    assert use_color(io.StringIO(), None, None) is False


@pytest.mark.parametrize(
    ("errors", "warnings", "files", "expected"),
    [
        (2, 1, 3, "Found 2 errors and 1 warning in 3 files."),
        (1, 2, 1, "Found 1 error and 2 warnings in 1 file."),
        (1, 0, 2, "Found 1 error in 2 files."),
        (0, 3, 1, "Found 3 warnings in 1 file."),
        (0, 0, 3, "All checks passed: 3 files."),
        (0, 0, 1, "All checks passed: 1 file."),
    ],
)
def test_summary_line(errors, warnings, files, expected):
    assert summary_line(errors, warnings, files) == expected


# -- JSON ---------------------------------------------------------------------


def json_validator():
    schema = json.loads(JSON_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_json_validates_against_its_schema_and_round_trips():
    text = format_json(DIAGS)
    data = json.loads(text)
    json_validator().validate(data)
    assert "× simple" in text  # ensure_ascii=False
    assert len(data) == len(DIAGS)
    keys = ["code", "severity", "message", "file", "line", "column", "end_line", "end_column", "notes", "hint", "title"]
    for obj, d in zip(data, DIAGS):
        assert list(obj) == keys
        s = d.span
        assert (obj["code"], obj["severity"], obj["message"], obj["hint"]) == (d.code, d.severity, d.message, d.hint)
        assert (obj["file"], obj["line"], obj["column"], obj["end_line"], obj["end_column"]) == (
            s.file,
            s.line,
            s.column,
            s.end_line,
            s.end_column,
        )
        assert [n["message"] for n in obj["notes"]] == [n.message for n in d.notes]
    assert data[0]["title"] == "shapes do not match"
    assert data[0]["notes"] == [
        {"message": "`x` has 64 channels", "file": "net.lego", "line": 5, "column": 5, "end_line": 5, "end_column": 6}
    ]
    assert data[1]["hint"] is None and data[1]["notes"] == []
    assert data[2]["message"] == TRICKY
    assert data[2]["notes"] == [
        {"message": "a note without a place", "file": None, "line": None, "column": None, "end_line": None, "end_column": None}
    ]


def test_json_of_nothing_is_an_empty_array():
    assert json.loads(format_json([])) == []


@pytest.mark.parametrize(
    "change",
    [
        {"severity": "info"},
        {"code": "E301"},
        {"line": 0},
        {"hint": 3},
        {"extra": True},
    ],
)
def test_json_schema_rejects_malformed_objects(change):
    obj = json.loads(format_json(DIAGS[:1]))[0]
    obj.update(change)
    assert list(json_validator().iter_errors([obj]))


def test_json_schema_requires_every_key():
    obj = json.loads(format_json(DIAGS[:1]))[0]
    del obj["title"]
    assert list(json_validator().iter_errors([obj]))


# -- GitHub Actions -----------------------------------------------------------

COMMAND = re.compile(r"::(error|warning) ([^:]*)::(.*)")


def unescape(s: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        s = s.replace(code, char)
    return s


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.fullmatch(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match[2].split(","))
    return match[1], {k: unescape(v) for k, v in props.items()}, unescape(match[3])


def test_github_commands_parse_back_to_the_diagnostics():
    lines = format_github(DIAGS).split("\n")
    assert len(lines) == len(DIAGS)
    for line, d in zip(lines, DIAGS):
        command, props, message = parse_command(line)
        assert command == d.severity
        s = d.span
        assert props["file"] == s.file
        assert (props["line"], props["col"], props["endLine"], props["endColumn"]) == tuple(
            map(str, (s.line, s.column, s.end_line, s.end_column))
        )
        assert message == (f"{d.message}\nhelp: {d.hint}" if d.hint else d.message)
    assert parse_command(lines[0])[1]["title"] == "LG301 shapes do not match"


def test_github_escaping_follows_the_actions_toolkit():
    lines = format_github(DIAGS).split("\n")
    assert lines[1] == (
        "::warning file=net.lego,line=3,col=5,endLine=3,endColumn=17,"
        "title=LG502 two activations in a row::two activations in a row"
    )
    assert lines[2].endswith(
        "::100%25 sure, it is: not%0Athat × simple%0Ahelp: did you mean `conv3x3_bn_act`?"
    )
    odd = Diagnostic("error", Span("a:b,c%.lego", 1, 2, 1, 3), "x\r\ny", code="LG999")
    assert format_github([odd]) == "::error file=a%3Ab%2Cc%25.lego,line=1,col=2,endLine=1,endColumn=3,title=LG999::x%0D%0Ay"


def test_github_paths_are_relative_posix(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    inside = Diagnostic("error", Span(str(tmp_path / "sub" / "m.lego"), 1, 1, 1, 2), "m", code="LG101")
    assert parse_command(format_github([inside]))[1]["file"] == "sub/m.lego"


# -- SARIF --------------------------------------------------------------------


def sarif_validator():
    schema = json.loads(SARIF_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_sarif_validates_against_the_official_schema():
    log = json.loads(format_sarif(DIAGS, "0.1.0", "https://example.org/legoc/diagnostics"))
    sarif_validator().validate(log)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["informationUri"]) == (
        "legoc",
        "0.1.0",
        "https://example.org/legoc/diagnostics",
    )


def test_sarif_has_one_result_per_diagnostic_with_its_rule():
    run = json.loads(format_sarif(DIAGS, "0.1.0"))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["informationUri"] == REPOSITORY_URL
    assert [r["id"] for r in rules] == ["LG201", "LG301", "LG404", "LG502"]
    when = explanations.WHEN["LG301"]
    assert when.startswith("Tensors that are added, joined or compared have different shapes")
    uri = f"{DOCS_URL}diagnostics.md#lg301"
    markdown = f"{when}\n\nExample message: {explanations.EXAMPLE['LG301']}\n\n[LG301 in legoc's documentation]({uri})"
    assert rules[1] == {
        "id": "LG301",
        "name": "ShapesDoNotMatch",
        "shortDescription": {"text": "shapes do not match"},
        "fullDescription": {"text": when, "markdown": when},
        "helpUri": uri,
        "help": {"text": markdown.replace(f"[LG301 in legoc's documentation]({uri})", f"LG301 in legoc's documentation ({uri})"), "markdown": markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["error"]},
    }
    assert rules[3]["defaultConfiguration"] == {"level": "warning"}
    results = run["results"]
    assert len(results) == len(DIAGS)
    for result, d in zip(results, DIAGS):
        assert result["ruleId"] == d.code
        assert rules[result["ruleIndex"]]["id"] == d.code
        assert result["level"] == d.severity
        assert result["message"]["text"] == (f"{d.message}\nhelp: {d.hint}" if d.hint else d.message)
        (location,) = result["locations"]
        region = location["physicalLocation"]["region"]
        s = d.span
        assert region == {"startLine": s.line, "startColumn": s.column, "endLine": s.end_line, "endColumn": s.end_column}
    assert results[0]["relatedLocations"] == [
        {
            "id": 1,
            "physicalLocation": {
                "artifactLocation": {"uri": "net.lego"},
                "region": {"startLine": 5, "startColumn": 5, "endLine": 5, "endColumn": 6},
            },
            "message": {"text": "`x` has 64 channels"},
        }
    ]
    assert "relatedLocations" not in results[1]  # no notes
    assert "relatedLocations" not in results[2]  # its only note has no place
    assert results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "other%20dir/b.lego"


def test_sarif_without_diagnostics_is_a_valid_empty_run():
    log = json.loads(format_sarif([], "0.1.0"))
    sarif_validator().validate(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_uris_are_relative_inside_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    inside = Diagnostic("error", Span(str(tmp_path / "sub" / "m.lego"), 1, 1, 1, 2), "m", code="LG101")
    outside = Diagnostic("error", Span("/elsewhere/n.lego", 1, 1, 1, 2), "n", code="LG101")
    results = json.loads(format_sarif([inside, outside], "0.1.0"))["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert uris == ["sub/m.lego", "file:///elsewhere/n.lego"]


def test_sarif_schema_rejects_a_result_without_message():
    log = json.loads(format_sarif(DIAGS[:1], "0.1.0"))
    del log["runs"][0]["results"][0]["message"]
    assert list(sarif_validator().iter_errors(log))
    log = json.loads(format_sarif(DIAGS[:1], "0.1.0"))
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    assert list(sarif_validator().iter_errors(log))


def test_sarif_rules_carry_help_and_help_uri_for_every_code():
    """A log with a diagnostic of every code: each rule has a title, what
    the docs say of it and the address of its documentation, and the log
    is valid SARIF 2.1.0."""
    diags = [Diagnostic("warning" if c in LINT_RULES else "error", Span("a.lego", 1, 1, 1, 2), "m", code=c) for c in CODES]
    log = json.loads(format_sarif(diags, "0.1.0"))
    sarif_validator().validate(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(CODES)
    for rule in rules:
        code = rule["id"]
        assert rule["shortDescription"]["text"] == CODES[code]
        assert rule["fullDescription"]["text"] and "](" not in rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"] and "**" not in rule["help"]["text"]
        assert rule["helpUri"].startswith(DOCS_URL)
        assert rule["help"]["markdown"].endswith(f"({rule['helpUri']})")
        for link in re.findall(r"\]\(([^)]*)\)", rule["help"]["markdown"] + rule["fullDescription"]["markdown"]):
            assert link.startswith("https://"), (code, link)  # relative links made absolute
        if code in LINT_RULES:
            assert rule["help"]["markdown"].startswith("**What it flags.**") and "**Why it matters.**" in rule["help"]["markdown"]
            assert rule["helpUri"].startswith(f"{DOCS_URL}lint-rules.md#")
        else:
            assert rule["helpUri"] == f"{DOCS_URL}diagnostics.md#{code.lower()}"
            assert "Example message: " in rule["help"]["markdown"]


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes for a page: one per heading (lower case,
    punctuation but `-` and `_` dropped, spaces made `-`) and one per
    explicit `<a id="...">`."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings} | set(re.findall(r'<a id="([^"]+)"></a>', markdown))


def test_every_help_uri_names_an_anchor_of_the_docs():
    pages = {name: github_anchors((ROOT / "docs" / name).read_text("utf-8")) for name in ("diagnostics.md", "lint-rules.md")}
    diagnostics = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    for code in CODES:
        (rule,) = json.loads(format_sarif([Diagnostic("error", Span("a.lego", 1, 1, 1, 2), "m", code=code)], "0"))["runs"][0]["tool"]["driver"]["rules"]
        page, anchor = rule["helpUri"][len(DOCS_URL) :].split("#")
        assert anchor in pages[page], (code, rule["helpUri"])
        if page == "diagnostics.md":  # the explicit anchor is in the code's own row
            (row,) = [line for line in diagnostics.splitlines() if line.startswith(f"| {code} |")]
            assert f'<a id="{anchor}"></a>' in row, "run `python -m legoc.tools.ruledocs`, which adds the anchor"
    # The links of the fullDescriptions point at anchors too.
    for code, when in explanations.WHEN.items():
        for page, anchor in re.findall(r"\]\(([\w-]+\.md)#([\w-]+)\)", when):
            target = pages.get(page) or github_anchors((ROOT / "docs" / page).read_text("utf-8"))
            assert anchor in target, (code, page, anchor)


def test_explanations_are_generated_from_todays_docs():
    """legoc/core/explanations.py is, byte for byte, what `python -m
    legoc.tools.ruledocs` writes now: fails after an edit of
    docs/diagnostics.md or docs/lint-rules.md until it is regenerated."""
    from legoc.tools import ruledocs

    assert ruledocs.explanations_source(ROOT / "docs") == Path(explanations.__file__).read_text("utf-8"), "run `python -m legoc.tools.ruledocs`"
    assert set(explanations.WHEN) == set(explanations.EXAMPLE) == set(CODES)
    assert set(explanations.LINT) == set(LINT_RULES)


def test_ruledocs_gives_each_new_row_its_anchor():
    from legoc.tools.ruledocs import ANCHOR, with_anchors

    text = (ROOT / "docs" / "diagnostics.md").read_text("utf-8")
    assert with_anchors(text) == text  # every row has its anchor, once
    assert with_anchors(ANCHOR.sub("", text)) == text
    row = "| LG999 | a new code | When it happens. | `a message` |\n| LG599 | a new rule | When. | `m` |\n"
    assert with_anchors(row) == '| LG999 | a new code | <a id="lg999"></a>When it happens. | `a message` |\n| LG599 | a new rule | When. | `m` |\n'


def test_docs_url_is_the_repository_of_pyproject():
    """core/version.py's REPOSITORY_URL, the root of every helpUri, is the
    repository pyproject.toml's [project.urls] name, once it names one."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"].get("urls", {})
    for key in ("Repository", "Homepage", "Source"):
        if key in urls:
            assert urls[key].rstrip("/") == REPOSITORY_URL, key
    documentation = urls.get("Documentation")
    if documentation and documentation.startswith(REPOSITORY_URL):
        assert DOCS_URL.rstrip("/").endswith(documentation.rstrip("/").rsplit("/", 1)[-1])
    assert DOCS_URL.startswith(REPOSITORY_URL) and DOCS_URL.endswith("/docs/")


# -- dependencies -------------------------------------------------------------


def test_report_imports_nothing_heavy(tmp_path):
    script = (
        "import sys, legoc.tools.report as r\n"
        "from legoc.core.diagnostics import Diagnostic, Span\n"
        "d = [Diagnostic('error', Span('a.lego', 1, 1, 1, 2), 'm', code='LG101')]\n"
        "r.format_text(d, {}, False); r.format_json(d); r.format_github(d); r.format_sarif(d, '0')\n"
        "import legoc.tools.cireports as c; c.format_gitlab(d); c.format_junit(d)\n"
        "print(sorted({'torch', 'black', 'jinja2', 'click'} & set(sys.modules)))\n"
    )
    # Outside the repository, so that the installed legoc is the one imported.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
