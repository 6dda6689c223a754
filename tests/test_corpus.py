"""A corpus of broken specs, each with its diagnostics pinned.

Every file in tests/corpus/ is a realistic mistake. Its header comments pin
the diagnostics `legoc check` must report, one per line, exactly:

    # expect: LG201 7:5

(the code, then the line and column of the diagnostic's primary span). The
pinned list is compared with what `legoc.tools.check.check_text` reports, as a
multiset: no diagnostic may be missing, extra, or reported twice. A header
line marked "Known bug" names a place where the pinned output is what legoc
reports today rather than what it should report.

To add a spec: write it, run `legoc check FILE`, decide whether the output is
right, and pin it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

from legoc.tools.check import check_text
from legoc.core.codes import CODES

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(CORPUS.glob("*.lego"))
EXPECT = re.compile(r"# expect: (LG\d{3}) (\d+):(\d+)")

# Files whose pinned diagnostics include a span outside the file's text
# (parser bugs, see the files' headers). The span test fails for them until
# the parser is fixed; then drop them from here.
# Files whose diagnostics are known to have spans outside the text (strict
# xfail); empty since the parser's recovery points at the offending line.
SPANS_OUTSIDE_THE_TEXT: dict[str, str] = {}


def expected(path: Path) -> list[tuple[str, int, int]]:
    """The (code, line, column) triples a corpus file pins, in file order."""
    pinned = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if line.startswith("# expect"):
            match = EXPECT.fullmatch(line)
            assert match, f"{path.name}:{number}: malformed pin {line!r}; write `# expect: LG201 7:5`"
            pinned.append((match.group(1), int(match.group(2)), int(match.group(3))))
    return pinned


def check(path: Path):
    return check_text(path.read_text(encoding="utf-8"), path.name)


def test_the_corpus_is_large_and_has_multi_error_files():
    assert len(FILES) >= 34
    multi = [f for f in FILES if f.name.startswith("multi_")]
    assert len(multi) >= 3
    for f in multi:
        pins = expected(f)
        # Several independent errors, in different places.
        assert len(pins) >= 3 and len({line for _, line, _ in pins}) >= 2, f.name


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_pinned_diagnostics(path):
    pins = expected(path)
    assert pins, f"{path.name} pins no diagnostic"
    got = [(d.code, d.span.line, d.span.column) for d in check(path)]
    missing = Counter(pins) - Counter(got)
    extra = Counter(got) - Counter(pins)
    assert not missing and not extra, (
        f"{path.name}: missing {sorted(missing.elements())}, extra {sorted(extra.elements())}; "
        f"reported:\n" + "\n".join(f"# expect: {c} {l}:{col}" for c, l, col in got)
    )


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_every_spec_has_an_error(path):
    assert any(d.severity == "error" for d in check(path)), f"{path.name} is a mistake, so it must have an error"


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_diagnostics_have_codes_and_messages(path):
    for d in check(path):
        assert d.code in CODES, d
        assert d.severity in ("error", "warning"), d
        assert isinstance(d.message, str) and d.message.strip(), d
        assert d.span.file == path.name, d
        # Warnings are lint rules (LG5xx); everything else is an error.
        assert (d.severity == "warning") == d.code.startswith("LG5"), d


def _inside(span, lines: list[str]) -> bool:
    """Whether a span lies in the text: its lines exist, it starts at a
    character of its line or at the line break (column len + 1, as "unexpected
    end of line" does), and it ends (exclusive) no later than after that line
    break, and not before it starts."""
    if not (1 <= span.line <= span.end_line <= len(lines)):
        return False
    if not (1 <= span.column <= len(lines[span.line - 1]) + 1):
        return False
    if not (1 <= span.end_column <= len(lines[span.end_line - 1]) + 2):
        return False
    return (span.line, span.column) <= (span.end_line, span.end_column)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=SPANS_OUTSIDE_THE_TEXT[f.name]))
        if f.name in SPANS_OUTSIDE_THE_TEXT
        else f
        for f in FILES
    ],
    ids=[f.name for f in FILES],
)
def test_spans_lie_inside_the_file(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    for d in check(path):
        assert _inside(d.span, lines), f"{d.span} ({d.span.end_line}:{d.span.end_column}): {d.message}"
        for note in d.notes:
            if note.span is not None and note.span.file == path.name:
                assert _inside(note.span, lines), f"note {note.span}: {note.message}"


def test_the_corpus_through_the_cli_fails_without_a_traceback():
    files = [check(f) for f in FILES]
    errors = sum(d.severity == "error" for ds in files for d in ds)
    warnings = sum(d.severity == "warning" for ds in files for d in ds)
    result = subprocess.run(
        [sys.executable, "-m", "legoc", "check", "--color", "never", str(CORPUS)],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # outside the checkout: the installed package
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"Found {errors} errors and {warnings} warnings in {len(FILES)} files."
    # Every file is named in the report.
    for f in FILES:
        assert f"{f}:" in result.stdout, f.name


# Mistakes that once crashed legoc with a traceback (now regression tests).
CRASHES = {
    "dropout_probability_is_a_string": 'model Net():\n    input [3, 32, 32]\n    dropout p="half"\n',
    "string_passed_to_a_block_size": 'block b(c):\n    conv c\n\nmodel Net():\n    input [8, 16, 16]\n    b "wide"\n',
    "bool_passed_to_a_block_size": "block b(c):\n    conv c\n\nmodel Net():\n    input [8, 16, 16]\n    b true\n",
}


@pytest.mark.parametrize("spec", CRASHES.values(), ids=CRASHES.keys())
def test_former_crash_is_a_diagnostic(spec):
    diags = check_text(spec, "bug.lego")
    assert [d.code for d in diags if d.severity == "error"] == ["LG401"]


# Former known bugs (once strict xfails): values passed through a parameter
# or a model default are checked with the caller's value, at that value.
PASSED_ON = {
    "float_passed_to_a_block_size": ("block b(c):\n    conv c\n\nmodel Net():\n    input [8, 16, 16]\n    b 1.5\n", "LG401", (6, 7)),
    "division_by_zero_with_the_defaults": ("model Net(n=4):\n    input [3, 32, 32]\n    conv 8 // (n - 4)\n", "LG406", (1, 13)),
}


@pytest.mark.parametrize("spec, code, place", PASSED_ON.values(), ids=PASSED_ON.keys())
def test_value_passed_on_is_checked_where_it_is_given(spec, code, place):
    (diag,) = [d for d in check_text(spec, "bug.lego") if d.severity == "error"]
    assert (diag.code, (diag.span.line, diag.span.column)) == (code, place)
    assert [n.message for n in diag.notes][0].endswith("is used here")


def test_a_rearrange_typo_gets_a_hint():
    (diag,) = check_text('model Net():\n    input [3, 32, 32]\n    rearange "c h w -> (h w) c"\n', "bug.lego")
    assert diag.code == "LG201"
    assert diag.hint == "did you mean `rearrange`?"
