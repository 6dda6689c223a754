"""`legoc fmt`: the canonical layout (legoc/tools/formatter.py) and its command (legoc/tools/fmt.py).

Every example is already in the layout; formatting any spec that parses
(the examples, tests/corpus, specs drawn from the grammar and mutants of the
examples) gives the same syntax tree and is a fixed point. The generated
specs run LEGOC_FMT_EXAMPLES examples (default 40, derandomized in CI: about
15 s in all), the mutants five times as many; the long run, 1,000 specs drawn
from the grammar and 5,000 mutants:

    LEGOC_FMT_EXAMPLES=1000 .venv/bin/python -m pytest -q tests/test_fmt.py -k generated
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legoc import cli
from legoc.core.diagnostics import SpecError
from legoc.syntax.parser import parse
from legoc.tools.formatter import format_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.lego"))
CORPUS = sorted([*(ROOT / "tests" / "corpus").glob("*.lego"), *(ROOT / "tests" / "hostile").glob("*.lego")])
N = int(os.environ.get("LEGOC_FMT_EXAMPLES", "40"))
FUZZ = settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck))
MUTANTS = settings(max_examples=5 * N, deadline=None, suppress_health_check=list(HealthCheck))  # cheaper to draw


def assert_formats_faithfully(text: str) -> str:
    """Format `text` (which parses): same tree, and a fixed point."""
    formatted = format_text(text, "spec.lego")
    assert parse(formatted, "spec.lego") == parse(text.lstrip("\ufeff").replace("\r\n", "\n"), "spec.lego")
    assert format_text(formatted, "spec.lego") == formatted
    return formatted


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_is_in_the_canonical_layout(path):
    text = path.read_text("utf-8")
    assert assert_formats_faithfully(text) == text


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_corpus_file_that_parses_formats_faithfully(path):
    text = path.read_bytes().decode("utf-8", errors="replace").replace("\r\n", "\n")
    try:
        parse(text, "spec.lego")
    except SpecError:
        with pytest.raises(SpecError):
            format_text(text, "spec.lego")
        return
    assert_formats_faithfully(text)


def _faithful_if_it_parses(text: str) -> None:
    try:
        parse(text.lstrip("\ufeff").replace("\r\n", "\n"), "spec.lego")
    except SpecError:
        return
    assert_formats_faithfully(text)


@FUZZ
@given(text=__import__("test_fuzz").grammar_specs())
def test_generated_specs_format_faithfully(text):
    _faithful_if_it_parses(text)


@MUTANTS
@given(data=__import__("test_fuzz").mutants())
def test_generated_mutants_format_faithfully(data):
    _faithful_if_it_parses(data.decode("utf-8", errors="replace"))


# ------------------------------------------------------------ the layout

MESSY = """\
# A header comment.


block  f( c,k = 3 ) ( x ):
  y=x->conv  c kernel_size=k->relu   # trailing
  return ( x,y )->add



# The model.
model M( width=16 ):
        input [ 3,32,32 ]
        conv width*2 stride=( 1,1 ) padding=-1 + 2
        res add <  conv width ;relu  >   shortcut none


        f width
        if width>8 : relu
        classifier: <
         linear 10
            # inside
           dropout 0.5
         >
"""

CANONICAL = """\
# A header comment.


block f(c, k=3)(x):
    y = x -> conv c kernel_size=k -> relu  # trailing
    return (x, y) -> add


# The model.
model M(width=16):
    input [3, 32, 32]
    conv width * 2 stride=(1, 1) padding=-1 + 2
    res add < conv width; relu > shortcut none

    f width
    if width > 8: relu
    classifier: <
        linear 10
        # inside
        dropout 0.5
    >
"""


def test_a_messy_spec_gets_the_canonical_layout():
    assert assert_formats_faithfully(MESSY) == CANONICAL


def test_a_long_chain_is_broken_before_each_arrow_and_a_short_one_joined():
    long = "model M():\n    input x: [8]\n    y = x -> first_layer: linear 1024 -> act: relu -> second_layer: linear 1024 -> out: linear 10\n    return y\n"
    broken = assert_formats_faithfully(long)
    assert broken.split("\n")[2:7] == [
        "    y = x \\",
        "        -> first_layer: linear 1024 \\",
        "        -> act: relu \\",
        "        -> second_layer: linear 1024 \\",
        "        -> out: linear 10",
    ]
    assert all(len(line) <= 88 for line in broken.split("\n"))
    # A chain written broken stays broken, as black keeps a magic trailing comma.
    short = "model M():\n    input x: [8]\n    y = x \\\n  -> relu   \\\n -> relu\n    return y\n"
    assert assert_formats_faithfully(short).split("\n")[2:5] == ["    y = x \\", "        -> relu \\", "        -> relu"]
    joined = "model M():\n    input x: [8]\n    y = x -> relu -> relu\n    return y\n"
    assert assert_formats_faithfully(joined) == joined


def test_parallel_branches_and_closing_brackets_line_up():
    text = "block b():\n    cat <\n  relu\n | relu\n      cat <\n relu\n |   relu\n  >\n  >\n    res add < layers: <\n relu\n > > shortcut none\n"
    assert assert_formats_faithfully(text) == (
        "block b():\n    cat <\n        relu\n      | relu\n        cat <\n            relu\n          | relu\n        >\n    >\n"
        "    res add < layers: <\n        relu\n    > > shortcut none\n"
    )


def test_fmt_off_and_skip_keep_lines_as_written():
    text = (
        "model M():\n    input [3]\n    # fmt: off\n    linear  3   # aligned\n    linear  3\n    # fmt: on\n    linear  3\n"
        "    linear  3  # fmt: skip\n"
    )
    assert assert_formats_faithfully(text) == text.replace("    linear  3\n    linear  3  # fmt", "    linear 3\n    linear  3  # fmt")


def test_comments_and_blank_lines_are_kept():
    text = "# one\n\n# two\nmodel M():  # header\n    # body\n    input [3]\n\n    relu  # after\n    # last, in the body\n\n# the end\n"
    assert assert_formats_faithfully(text) == text
    comments = lambda t: [line[line.index("#") :].rstrip() for line in t.split("\n") if "#" in line]  # noqa: E731
    assert comments(format_text(MESSY)) == comments(MESSY)


def test_a_comment_above_a_continued_public_does_not_become_a_docstring():
    """Found by the grammar fuzzer: joined, `public \\` + `block` would take the comment as its docstring."""
    text = "  # a comment\npublic\\\n block relu ( ) :\n    relu\n"
    assert assert_formats_faithfully(text) == "# a comment\npublic\\\n block relu ( ) :\n    relu\n"


def test_a_spec_that_does_not_parse_is_a_spec_error():
    with pytest.raises(SpecError) as info:
        format_text("model M(:\n    relu\n", "bad.lego")
    assert info.value.diagnostics[0].span.line == 1


# ------------------------------------------------------------ the command


def legoc(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["fmt", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_of_the_examples_exits_0(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = legoc(capsys, "--check", "examples/")
    assert code == 0, err
    assert out == ""
    assert err == f"All done!\n{len(EXAMPLES)} files would be left unchanged.\n"


def test_check_diff_and_write(capsys, tmp_path):
    messy, clean = tmp_path / "messy.lego", tmp_path / "clean.lego"
    messy.write_text(MESSY)
    clean.write_text(CANONICAL)
    code, out, err = legoc(capsys, "--check", str(tmp_path))
    assert (code, out) == (1, "")
    assert err == f"would reformat {messy}\nOh no!\n1 file would be reformatted, 1 file would be left unchanged.\n"
    assert messy.read_text() == MESSY
    code, out, err = legoc(capsys, "--diff", str(messy))
    assert code == 0 and messy.read_text() == MESSY
    assert out.startswith(f"--- {messy}\t(original)\n+++ {messy}\t(formatted)\n@@ ")
    assert "-  y=x->conv  c kernel_size=k->relu   # trailing\n" in out and "+    y = x -> conv c kernel_size=k -> relu  # trailing\n" in out
    code, out, err = legoc(capsys, "--check", "--diff", str(messy))
    assert code == 1 and out.startswith("--- ")
    code, out, err = legoc(capsys, str(tmp_path))
    assert (code, out) == (0, "")
    assert err == f"reformatted {messy}\nAll done!\n1 file reformatted, 1 file left unchanged.\n"
    assert messy.read_text() == CANONICAL
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".legoc-")]  # no temporary file left
    code, out, err = legoc(capsys, "-q", "--check", str(tmp_path))
    assert (code, out, err) == (0, "", "")


def test_stdin_is_formatted_to_stdout(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MESSY.encode())))
    code, out, err = legoc(capsys, "-")
    assert (code, out) == (0, CANONICAL)
    assert "reformatted <stdin>" in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MESSY.encode())))
    code, out, err = legoc(capsys, "--check", "-")
    assert (code, out) == (1, "")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"model M(:\n")))
    code, out, err = legoc(capsys, "--stdin-filename", "buffer.lego", "-")
    assert (code, out) == (123, "")
    assert err.startswith("buffer.lego:1:9: error: ")


def test_a_file_that_does_not_parse_is_reported_and_left_alone(capsys, tmp_path):
    bad, good = tmp_path / "bad.lego", tmp_path / "good.lego"
    bad.write_text("model M():\n    relu\n      relu\n")
    good.write_text(MESSY)
    code, out, err = legoc(capsys, str(tmp_path))
    assert code == 123 and out == ""
    assert f"{bad}:3:7: error: unexpected indentation [LG101]" in err
    assert f"error: cannot format {bad}: it does not parse" in err
    assert err.endswith("Oh no!\n1 file reformatted, 1 file failed to reformat.\n")
    assert bad.read_text() == "model M():\n    relu\n      relu\n"
    assert good.read_text() == CANONICAL  # the others are still formatted


def test_a_byte_order_mark_is_dropped_and_two_do_not_parse(capsys):
    assert format_text("\ufeffmodel M( ):\n    relu\n") == "model M():\n    relu\n"
    with pytest.raises(SpecError):
        format_text("\ufeff\ufeffmodel M():\n    relu\n")


def test_an_internal_error_exits_123_and_leaves_the_file(capsys, tmp_path, monkeypatch):
    from legoc.tools import formatter

    spec = tmp_path / "m.lego"
    spec.write_text(MESSY)
    monkeypatch.setattr(formatter, "_layout", lambda text: text.replace("relu", "gelu"))
    code, out, err = legoc(capsys, str(spec))
    assert code == 123 and spec.read_text() == MESSY
    assert f"error: cannot format {spec}: INTERNAL ERROR: {spec}: the formatted text has another syntax tree" in err


def test_every_syntax_error_is_reported(capsys, tmp_path):
    spec = tmp_path / "m.lego"
    spec.write_text("model M(:\n    relu\nmodel N(:\n    relu\n")
    code, out, err = legoc(capsys, "--check", str(spec))
    assert code == 123
    assert f"{spec}:1:9: error: unexpected `:`" in err and f"{spec}:3:9: error: unexpected `:`" in err


def test_usage_errors_exit_2(capsys, tmp_path):
    code, out, err = legoc(capsys, str(tmp_path / "missing.lego"))
    assert code == 2 and "no such file or directory" in err
    with pytest.raises(SystemExit) as info:
        legoc(capsys)
    assert info.value.code == 2


# ------------------------------------------- one layout, whatever the spacing

CANONICAL_EXAMPLES = [p for p in EXAMPLES if "# fmt: off" not in p.read_text("utf-8")]


def _boundaries(text: str) -> list[int]:
    """Offsets in `text` between two tokens on one line (where blanks may go)."""
    from legoc.syntax.automaton import lalr_parser
    from legoc.syntax.indentation import Layout

    raw = []

    def record(stream):
        for tok in stream:
            raw.append(tok)
            yield tok

    lalr_parser().parse(text, lambda stream: Layout().process(record(stream)))
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    return [starts[b.line - 1] + b.column - 1 for a, b in zip(raw, raw[1:]) if a.type != "_NL" and a.end_line == b.line and (b.type != "_NL" or b.startswith("#"))]


@FUZZ
@given(data=st.data())
def test_extra_blanks_between_tokens_change_nothing(data):
    path = data.draw(st.sampled_from(CANONICAL_EXAMPLES))
    text = path.read_text("utf-8")
    places = _boundaries(text)
    chosen = sorted(data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=40, unique=True)), reverse=True)
    for at in chosen:
        text = text[:at] + data.draw(st.sampled_from([" ", "  ", "\t", " \t ", "   "])) + text[at:]
    # Another indentation unit: each 4 spaces at the start of a line become 2, 3 or a tab.
    unit = data.draw(st.sampled_from(["    ", "  ", "   ", "\t"]))
    lines = text.split("\n")
    for i, line in enumerate(lines):
        stripped = line.lstrip(" ")
        lines[i] = unit * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped)) % 4) + stripped
    text = "\n".join(lines)
    assert format_text(text, path.name) == path.read_text("utf-8")
