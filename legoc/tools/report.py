"""How diagnostics are written: the output formats of `legoc check`
(plain or coloured text, JSON, GitHub Actions workflow commands, SARIF
2.1.0), and whether to colour them: every command's `--color` option and
what it means with `NO_COLOR` and `FORCE_COLOR`.

Every function here returns a value and prints nothing. Only the standard
library is imported; `click` is imported lazily, and only when colour is on.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath

from ..core.codes import CODES, LINT_RULES
from ..core.diagnostics import Diagnostic, SourceFile, Span, render
from ..core.version import DOCS_URL, REPOSITORY_URL

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

# A caret line of `render`: two spaces, padding, then `^~~~`.
_CARET = re.compile(r"  *\^~*")


# -- text ---------------------------------------------------------------------


def format_text(diags: list[Diagnostic], sources: dict[str, SourceFile], color: bool) -> str:
    """Return the diagnostics as `render` writes them, one after another.

    With `color`, the same text with ANSI styles (via `click.style`): the
    location bold, "error" red or "warning" yellow, the message bold, the
    caret line green, "note" blue and "help" green. Removing the styles
    (`click.unstyle`) gives back exactly the plain text.
    """
    parts = [render(d, sources) for d in diags]
    if color:
        parts = [_colorize(d, text) for d, text in zip(diags, parts)]
    return "\n".join(parts)


def _colorize(diag: Diagnostic, text: str) -> str:
    import click

    head = f"{diag.span}: {diag.severity}: {diag.message}"
    if not text.startswith(head):  # not the shape we know: leave it plain
        return text
    out = (
        click.style(f"{diag.span}:", bold=True)
        + " "
        + click.style(f"{diag.severity}:", fg="red" if diag.severity == "error" else "yellow", bold=True)
        + " "
        + click.style(diag.message, bold=True)
    )
    first, *lines = text[len(head) :].split("\n")
    out += first  # the code, as in " [LG301]"
    notes = {f"{n.span}: note: " if n.span else "note: " for n in diag.notes}
    help_line = f"  help: {diag.hint}".split("\n")[0] if diag.hint else None
    for line in lines:
        prefix = next((p for p in notes if line.startswith(p)), None)
        if _CARET.fullmatch(line):
            line = click.style(line, fg="green", bold=True)
        elif prefix is not None:
            where = prefix[: -len("note: ")]
            line = where + click.style("note:", fg="blue", bold=True) + line[len(prefix) - 1 :]
        elif line == help_line:
            line = "  " + click.style("help:", fg="green", bold=True) + line[len("  help:") :]
        out += "\n" + line
    return out


COLOR_CHOICES = ("auto", "always", "never")


def add_color_option(parser, what: str = "diagnostics") -> None:
    """Add `--color auto|always|never` (dest `color`, default auto), which
    colours `what`, to `parser` (an argparse.ArgumentParser)."""
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help=f"colour {what} (default: auto: on a terminal, unless NO_COLOR is set; FORCE_COLOR turns it on)",
    )


def color_enabled(choice: str, stream, environ=None) -> bool:
    """Return whether to colour what is written to `stream` for `--color
    choice` ("auto", "always" or "never"), in the environment `environ`
    (a mapping; default `os.environ`): see `use_color`. `stream` None (a
    file being written) is no terminal."""
    environ = os.environ if environ is None else environ
    force = None if choice == "auto" else choice == "always"
    return use_color(stream, environ.get("NO_COLOR"), force, environ.get("FORCE_COLOR"))


def use_color(stream, no_color_env: str | None, force: bool | None = None, force_color_env: str | None = None) -> bool:
    """Return whether to colour output written to `stream`.

    `force` (True or False: `--color always` or `never`) decides when it is
    not None. Otherwise, as https://no-color.org and https://force-color.org
    say: `no_color_env`, the value of `NO_COLOR`, set to anything but ""
    turns colour off; otherwise `force_color_env`, the value of
    `FORCE_COLOR`, set to anything but "" (even "0") turns it on; otherwise
    colour is on when `stream` is a terminal.
    """
    if force is not None:
        return force
    if no_color_env:
        return False
    if force_color_env:
        return True
    try:
        return stream is not None and bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def summary_line(n_errors: int, n_warnings: int, n_files: int) -> str:
    """Return the closing line of a check, such as "Found 2 errors and 1
    warning in 3 files." or "All checks passed: 1 file."."""
    files = _count(n_files, "file")
    if not n_errors and not n_warnings:
        return f"All checks passed: {files}."
    found = " and ".join(_count(n, word) for n, word in ((n_errors, "error"), (n_warnings, "warning")) if n)
    return f"Found {found} in {files}."


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- JSON ---------------------------------------------------------------------


def format_json(diags: list[Diagnostic]) -> str:
    """Return the diagnostics as a JSON array, one object per diagnostic.

    The objects' keys, in this order: code, severity, message, file, line,
    column, end_line, end_column, notes (each with message and the same
    location keys, null for a note without a place), hint (or null) and
    title (the code's title from legoc/core/codes.py, or null). Lines and columns
    are 1-based, the end exclusive. docs/diagnostics.schema.json is the JSON
    Schema (https://json-schema.org/draft/2020-12) of this output.
    """
    out = []
    for d in diags:
        obj = {"code": d.code, "severity": d.severity, "message": d.message, **_json_location(d.span)}
        obj["notes"] = [{"message": n.message, **_json_location(n.span)} for n in d.notes]
        obj["hint"] = d.hint
        obj["title"] = CODES.get(d.code)
        out.append(obj)
    import json

    return json.dumps(out, indent=2, ensure_ascii=False)


def _json_location(span: Span | None) -> dict:
    if span is None:
        return dict.fromkeys(("file", "line", "column", "end_line", "end_column"))
    return {
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


# -- GitHub Actions -----------------------------------------------------------


def format_github(diags: list[Diagnostic]) -> str:
    """Return one GitHub Actions workflow command per diagnostic, such as
    `::error file=a.lego,line=3,col=5,endLine=3,endColumn=9,title=LG301 shapes
    do not match::message`, which a workflow run shows as an annotation
    (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).

    The hint follows the message as "\\nhelp: ...". Values are escaped as
    the actions toolkit does (packages/core/src/command.ts): `%`, CR and LF in
    the message; also `:` and `,` in the properties.
    """
    lines = []
    for d in diags:
        s = d.span
        props = {
            "file": relative_posix(s.file),
            "line": s.line,
            "col": s.column,
            "endLine": s.end_line,
            "endColumn": s.end_column,
        }
        if d.code:
            props["title"] = f"{d.code} {CODES[d.code]}" if d.code in CODES else d.code
        command = "warning" if d.severity == "warning" else "error"
        properties = ",".join(f"{key}={_escape_property(str(value))}" for key, value in props.items())
        lines.append(f"::{command} {properties}::{_escape_data(with_hint(d))}")
    return "\n".join(lines)


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def with_hint(d: Diagnostic) -> str:
    """The diagnostic's message, followed by "\nhelp: HINT" when it has a hint."""
    return f"{d.message}\nhelp: {d.hint}" if d.hint else d.message


def relative_posix(file: str, base: str | None = None) -> str:
    """`file` as a POSIX path, relative to the directory `base` (default:
    the working directory) when it is an absolute path inside it;
    otherwise as it is. With a `base`, a relative `file` is first taken
    from the working directory."""
    path = Path(file)
    if base and not path.is_absolute() and not file.startswith("<"):  # not <stdin>
        path = Path.cwd() / path
    if path.is_absolute():
        try:
            return path.relative_to(Path(base) if base else Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()
    return PurePath(file).as_posix()


# -- SARIF --------------------------------------------------------------------


def format_sarif(diags: list[Diagnostic], tool_version: str, rules_doc_uri: str | None = None) -> str:
    """Return the diagnostics as a SARIF 2.1.0 log with one run of legoc
    (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html), as
    GitHub code scanning and other tools read it.

    The driver lists a rule for each code that occurs, sorted; each result
    refers to its rule by ruleId and ruleIndex, and its notes with a place
    become relatedLocations. Regions are 1-based with an exclusive end
    column, counted in Unicode code points. The driver's informationUri is
    `rules_doc_uri` (default: legoc's repository, core/version.py's
    REPOSITORY_URL). Each rule carries what the docs say of its code
    (`sarif_rule`), with helpUri its place in the docs.
    """
    codes = sorted({d.code for d in diags if d.code})
    index = {code: i for i, code in enumerate(codes)}
    driver: dict = {"name": "legoc", "version": tool_version, "informationUri": rules_doc_uri or REPOSITORY_URL}
    driver["rules"] = [sarif_rule(code) for code in codes]
    results = []
    for d in diags:
        result: dict = {}
        if d.code:
            result["ruleId"] = d.code
            result["ruleIndex"] = index[d.code]
        result["level"] = "warning" if d.severity == "warning" else "error"
        result["message"] = {"text": with_hint(d)}
        result["locations"] = [{"physicalLocation": _physical_location(d.span)}]
        related = [
            {"id": i, "physicalLocation": _physical_location(n.span), "message": {"text": n.message}}
            for i, n in enumerate((n for n in d.notes if n.span), start=1)
        ]
        if related:
            result["relatedLocations"] = related
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results, "columnKind": "unicodeCodePoints"}],
    }
    import json

    return json.dumps(log, indent=2, ensure_ascii=False)


def sarif_rule(code: str) -> dict:
    """The SARIF reportingDescriptor of `code`: id, name (the title in
    PascalCase), shortDescription (the title), fullDescription (when the
    code is reported, from docs/diagnostics.md), help (text and Markdown:
    for a lint rule what it flags and why it matters, from
    docs/lint-rules.md; for an error, when and an example message), helpUri
    (`help_uri`), defaultConfiguration (error, or warning for a lint rule)
    and properties.tags. The texts come from core/explanations.py, generated
    from the docs; links in them are made absolute under DOCS_URL."""
    from ..core import explanations

    rule: dict = {"id": code}
    title = CODES.get(code)
    if title:
        rule["name"] = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^0-9A-Za-z]+", title))
        rule["shortDescription"] = {"text": title}
    uri = help_uri(code)
    when = explanations.WHEN.get(code)
    if when:
        rule["fullDescription"] = {"text": _plain(when), "markdown": _absolute_links(when)}
    if code in explanations.LINT:
        markdown = _absolute_links(explanations.LINT[code])
    else:
        markdown = "\n\n".join(p for p in (when, f"Example message: {explanations.EXAMPLE[code]}" if code in explanations.EXAMPLE else None) if p)
        markdown = _absolute_links(markdown)
    if uri:
        rule["helpUri"] = uri
        markdown = f"{markdown}\n\n[{code} in legoc's documentation]({uri})".lstrip()
    if markdown:
        rule["help"] = {"text": _plain(markdown), "markdown": markdown}
    rule["defaultConfiguration"] = {"level": "warning" if code in LINT_RULES else "error"}
    rule["properties"] = {"tags": ["lint" if code in LINT_RULES else "error"]}
    return rule


def help_uri(code: str) -> str | None:
    """The address of `code`'s documentation, or None for a code legoc does
    not know: a lint rule's section of docs/lint-rules.md (GitHub's anchor
    for its heading, `github_anchor`), or the code's row of
    docs/diagnostics.md (an explicit `<a id="lg301">` anchor)."""
    if code not in CODES:
        return None
    if code in LINT_RULES:
        return f"{DOCS_URL}lint-rules.md#{github_anchor(f'{code}: {CODES[code]}')}"
    return f"{DOCS_URL}diagnostics.md#{code.lower()}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, characters
    other than letters, digits, `_`, `-` and spaces dropped, spaces made `-`."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


# A Markdown link to another page of the docs: [text](page.md#anchor).
_DOC_LINK = re.compile(r"\[([^\]]*)\]\(([\w-]+\.md(?:#[\w-]*)?)\)")


def _absolute_links(markdown: str) -> str:
    return _DOC_LINK.sub(lambda m: f"[{m.group(1)}]({DOCS_URL}{m.group(2)})", markdown)


def _plain(markdown: str) -> str:
    """`markdown` as plain text: links become their text, bold marks go."""
    text = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1 (\2)", _absolute_links(markdown))
    return text.replace("**", "")


def _physical_location(span: Span) -> dict:
    return {
        "artifactLocation": {"uri": _artifact_uri(span.file)},
        "region": {
            "startLine": span.line,
            "startColumn": span.column,
            "endLine": span.end_line,
            "endColumn": span.end_column,
        },
    }


def _artifact_uri(file: str) -> str:
    """A URI reference for `file`: a relative one where possible, a file://
    URI for an absolute path outside the working directory."""
    path = relative_posix(file)
    if os.path.isabs(path):
        return Path(path).as_uri()
    from urllib.parse import quote  # SARIF only

    return quote(path)
