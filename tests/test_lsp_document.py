"""The language server's analysis (legoc/tools/lsp/document.py) against
`legoc check`'s: the same diagnostics for every example and for specs
with errors, though it parses one top-level definition at a time; and
after edits, reusing the last analysis (analysis/reuse.py), the same
diagnostics and shapes as a fresh analysis of the edited text."""

from __future__ import annotations

from pathlib import Path

import pytest

from legoc.tools.check import check_text
from legoc.tools.lsp.document import Document, Session, chunks

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.lego"))


def _view(doc: Document):
    return [(d.code, d.span, d.message, d.notes, d.hint) for d in doc.diagnostics], [(h.line, h.column, h.label) for h in doc.hints()]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_as_check_sees_them(path):
    text = path.read_text(encoding="utf-8")
    assert "".join(piece for _, piece in chunks(text)) == text
    doc = Document(text, path.name)
    assert doc.diagnostics == check_text(text, path.name)
    assert doc.hints() or "model" not in text


BROKEN = [
    ("conv c kernel_size=1 bias=false", "conv c kernel_size=1 bias=falsy"),  # an unknown name
    ("bn1: bn\n", "bn1: bnn\n"),  # an unknown layer
    ("stage 64 3 stride=1", "stage 64 3 strid=1"),  # an unknown keyword
    ("relu: relu\n", "relu: relu\n    linear\n"),  # a wrong shape
    ("block stage(c, n, stride=2):", "block stage(c, n, stride=2:"),  # a syntax error
]


@pytest.mark.parametrize("old,new", BROKEN)
def test_errors_as_check_sees_them(old, new):
    text = (EXAMPLES[0].parent / "resnet50.lego").read_text(encoding="utf-8")
    assert old in text
    broken = text.replace(old, new, 1)
    fresh = Document(broken, "resnet50.lego")
    assert [(d.code, d.span, d.message) for d in fresh.diagnostics] == [(d.code, d.span, d.message) for d in check_text(broken, "resnet50.lego")]
    assert any(d.severity == "error" for d in fresh.diagnostics)


def test_edits_reusing_the_last_analysis_give_a_fresh_analysis():
    text = (EXAMPLES[0].parent / "resnet50.lego").read_text(encoding="utf-8")
    session = Session()
    edits = [
        text,
        text.replace("# The bottleneck block", "# The bottleneck block (edited)"),  # a doc comment: re-analysed
        "# a new first line\n" + text,  # everything moves down a line
        text.replace("bn3: bn", "bn3: bnn"),  # an error inside a reused block
        text.replace("conv c * expansion kernel_size=1 bias=false", "conv c * expansion kernel_size=1"),  # LG501 in a block
        text.replace("layer4: stage 512 3", "layer4: stage 512 3\n    relu\n    relu"),  # LG502 in the model
        text.replace("stride=2):", "stride=2, extra=1):"),  # LG506 in a block
        text.replace("stride=2):", "stride=2, extra=1):").replace("fc: linear classes", "fc: linear classes\n    relu"),  # and it is reused
        text,  # back
    ]
    for k, edited in enumerate(edits):
        reused = Document(edited, "resnet50.lego", session=session)
        assert _view(reused) == _view(Document(edited, "resnet50.lego")), k
    assert session.reuse.entries  # the blocks were recorded, so the later runs did reuse them


def test_a_reused_block_reports_its_warnings_again():
    text = "block twice(c)(x):\n    y = x -> conv c\n    z = x -> conv c\n    return y\n\n# The model.\nmodel M():\n    input [3, 8, 8]\n    twice 8\n"
    session = Session()
    for k in range(3):
        edited = text.replace("# The model.", f"# The model, edit {k}.")
        doc = Document(edited, "t.lego", session=session)
        assert [(d.code, d.span.line) for d in doc.diagnostics] == [("LG507", 3)], k
    assert ("twice", (3,)) in session.reuse.entries


def test_hover_counts_parameters_as_torchvision():
    from legoc.tools.lsp import answers

    doc = Document((EXAMPLES[0].parent / "resnet50.lego").read_text(encoding="utf-8"), "resnet50.lego")
    layer1 = next(d for d in doc.definitions if d.name == "ResNet50").body[5]  # layer1: stage 64 3 stride=1
    call = layer1.layer
    text, _ = answers.hover(doc, doc.absolute(call.name_span).line, doc.absolute(call.name_span).column)
    assert "parameters: `215,808`" in text and "input: `[64, 56, 56]`" in text and "output: `[256, 56, 56]`" in text
    header = doc.absolute(next(d for d in doc.definitions if d.name == "ResNet50").span)
    text, _ = answers.hover(doc, header.line, header.column)
    assert "parameters: `25,557,032`" in text  # sum(p.numel() for p in torchvision.models.resnet50().parameters())


def test_hover_counts_a_torch_layers_parameters_with_the_models_defaults():
    from legoc.tools.lsp import answers

    text = (EXAMPLES[0].parent / "resnet50.lego").read_text(encoding="utf-8")
    doc = Document(text, "resnet50.lego")
    lines = text.split("\n")
    conv1 = next(i for i, line in enumerate(lines, 1) if "conv1: conv 64 kernel_size=7" in line)
    fc = next(i for i, line in enumerate(lines, 1) if "fc: linear classes" in line)
    assert "parameters: `9,408`" in answers.hover(doc, conv1, lines[conv1 - 1].index("conv 64") + 1)[0]
    assert "parameters: `2,049,000`" in answers.hover(doc, fc, lines[fc - 1].index("linear") + 1)[0]  # classes=1000


def _apply(text: str, fix) -> str:
    lines = text.split("\n")
    sp = fix.span
    assert sp.line == sp.end_line
    line = lines[sp.line - 1]
    lines[sp.line - 1] = line[: sp.column - 1] + fix.replacement + line[sp.end_column - 1 :]
    return "\n".join(lines)


FIXABLE = [
    ("LG201", "model M():\n    input [3, 8, 8]\n    conv 16\n    rellu\n"),
    ("LG201", "model M():\n    input [3, 8, 8]\n    conv 16\n    ReLU\n"),
    ("LG202", "model M(width=16):\n    input [3, 8, 8]\n    conv widht\n"),
    ("LG501", "model M():\n    input [3, 8, 8]\n    conv 16\n    bn\n"),
    ("LG501", "model M():\n    input [3, 8, 8]\n    conv 16 bias=true\n    bn\n"),
    ("LG301", "model M():\n    input [3, 8, 8]\n    conv 16\n    res add <\n        conv 32\n        relu\n    >\n"),
    ("LG301", "block b(c):\n    res add < conv c; relu >\nmodel M():\n    input [3, 8, 8]\n    b 16\n"),
]


@pytest.mark.parametrize("code,text", FIXABLE)
def test_each_fix_resolves_its_diagnostic(code, text):
    doc = Document(text, "t.lego")
    (diag,) = [d for d in doc.diagnostics if d.code != "LG506"]  # a misspelt parameter is also an unused one
    assert diag.code == code
    fix = doc.fix_of(diag)
    assert fix is not None
    assert Document(_apply(text, fix), "t.lego").diagnostics == []
