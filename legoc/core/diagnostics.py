"""Source positions and user-facing diagnostics.

A mistake in a user's spec is a `Diagnostic` value, never a Python exception
that escapes to the user: stages collect diagnostics and the CLI prints them.
`SpecError` carries diagnostics out of a stage that cannot go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A range in a source file; lines and columns are 1-based, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Note:
    """A secondary message attached to a diagnostic, optionally at a place."""

    message: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    """An edit that resolves a diagnostic, for editors to apply (the
    language server's code actions): replace the text at `span` with
    `replacement` (an empty span inserts it); `title` says what it does."""

    span: Span
    replacement: str
    title: str


_DID_YOU_MEAN = r"did you mean `([A-Za-z_][A-Za-z0-9_]*)`\?"  # compiled at the first error (re caches it)


def did_you_mean_fix(span: Span, hint: str | None) -> Fix | None:
    """The fix of a "did you mean `NAME`?" hint: `NAME` in place of the
    name at `span` (None for any other hint)."""
    found = re.fullmatch(_DID_YOU_MEAN, hint or "")
    return Fix(span, found.group(1), f"replace with `{found.group(1)}`") if found else None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a spec.

    Attributes:
        severity: "error" or "warning".
        span: where the problem is.
        message: one sentence saying what is wrong.
        notes: where the values involved came from (call sites, shapes).
        hint: a suggested fix, if there is one.
        code: its stable code, such as "LG301" (legoc/core/codes.py).
        fix: an edit that resolves it, where one is sure (editors offer
            it; the rendered message does not show it).
    """

    severity: str
    span: Span
    message: str
    notes: tuple[Note, ...] = ()
    hint: str | None = None
    code: str = ""
    fix: Fix | None = None


class SpecError(Exception):
    """Raised inside the compiler to abandon work on a spec that has errors.

    Carries the diagnostics; the CLI turns them into exit status 1.
    """

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]):
        super().__init__("\n".join(d.message for d in diagnostics))
        self.diagnostics = tuple(diagnostics)
        self.classes: tuple = ()  # set by shape inference: the classes it did analyse


def error(code: str, span: Span, message: str, *, notes=(), hint: str | None = None, fix: Fix | None = None) -> SpecError:
    """Build a `SpecError` holding a single error diagnostic with `code`."""
    return SpecError([Diagnostic("error", span, message, tuple(notes), hint, code, fix)])


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A spec's text and the name it is reported under."""

    name: str
    text: str
    lines: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lines as the lexer numbers them: split at "\n" only (splitlines
        # would also split at a CR, form feed or line separator in a comment).
        object.__setattr__(self, "lines", tuple(line.removesuffix("\r") for line in self.text.split("\n")))

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


def render(diag: Diagnostic, sources: dict[str, SourceFile]) -> str:
    """Format a diagnostic as `FILE:LINE:COL: severity: message`, then the
    source line with a caret range under the span, then notes and the hint."""
    code = f" [{diag.code}]" if diag.code else ""
    out = [f"{diag.span}: {diag.severity}: {diag.message}{code}"]
    out += _excerpt(diag.span, sources)
    for note in diag.notes:
        where = f"{note.span}: " if note.span else ""
        out.append(f"{where}note: {note.message}")
        if note.span:
            out += _excerpt(note.span, sources)
    if diag.hint:
        out.append(f"  help: {diag.hint}")
    return "\n".join(out)


EXCERPT_WIDTH = 100
"""The most columns of a source line an excerpt shows: a longer line is cut
to a window around the caret, with `...` where it was cut (as rustc and ruff
do), so that a diagnostic's size does not grow with its line's length."""

_LEAD = 40  # columns the window shows before the caret, where the line has them


def _excerpt(span: Span, sources: dict[str, SourceFile]) -> list[str]:
    source = sources.get(span.file)
    if source is None:
        return []
    line = source.line_text(span.line)
    end = span.end_column if span.end_line == span.line else len(line) + 1
    start = span.column - 1  # 0-based
    lo = 0
    if len(line) > EXCERPT_WIDTH:
        lo = max(0, min(start - _LEAD, len(line) - EXCERPT_WIDTH))
    hi = min(len(line), lo + EXCERPT_WIDTH)
    text = line[lo:hi].expandtabs(1)  # a tab is one column, as the lexer counts them
    if not text.strip():
        return []
    before = "..." if lo > 0 else ""
    after = "..." if hi < len(line) else ""
    width = max(1, min(end, hi + 1) - span.column)
    return [f"  {before}{text}{after}", "  " + " " * (len(before) + start - lo) + "^" + "~" * (width - 1)]
