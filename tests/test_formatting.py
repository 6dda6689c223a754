"""formatting.py: black formats only the pieces it could change, and the
whole module is what black makes of it.

Every example, golden file, hostile spec, random differential spec and
fuzzed spec that compiles is also checked to be a fixed point of
`black.format_str` (tests/test_examples.py, test_golden.py, test_hostile.py,
test_differential.py, test_fuzz.py).
"""

import black
import pytest

from legoc.compiler import compile_source
from legoc.codegen.formatting import LINE_LENGTH, Piece, format_pieces

LONG_ARGS = ", ".join(f"argument_{i}" for i in range(12))


def _module(pieces: list[Piece], texts: list[str]) -> str:
    """Pieces joined with the blank lines black puts between them: two
    before a top-level class, one before a method that is not the first
    thing in its class."""
    lines: list[str] = []
    for piece, text in zip(pieces, texts):
        if piece.depth == 0 and piece.kind == "header" and lines:
            lines += ["", ""]
        elif piece.depth == 1 and piece.kind == "header" and lines and not lines[-1].startswith("class "):
            lines.append("")
        lines.append(text)
    return "\n".join(lines) + "\n"


PIECES = [
    Piece(0, "__all__ = [\n" + "".join(f'    "Name{i}",\n' for i in range(3)) + "]"),
    Piece(0, f"class {'Very' * 25}Long(nn.Module):", "header"),
    Piece(1, '"""A docstring that ends in a quote"\n\n  Indented text, trailing spaces   \n"""', "docstring"),
    Piece(1, f"def __init__(self, {LONG_ARGS}):", "header"),
    Piece(2, "super().__init__()"),
    Piece(2, f"self.conv = nn.Conv2d({LONG_ARGS})"),
    Piece(2, f"if {' and '.join(f'argument_{i} > 1' for i in range(8))}:", "header"),
    Piece(3, f"self.projection = nn.Conv2d({LONG_ARGS})"),
    Piece(2, "else:", "header"),
    Piece(3, "self.projection = None"),
    Piece(2, "self.layers = nn.Sequential(\n    nn.ReLU(),  # [B, c, H, W]\n    # [B, c, H, W]\n" f"    nn.Conv2d({LONG_ARGS}),\n)"),
    Piece(2, "self.mode = 'single quotes'"),
    Piece(2, "self.large = 1e+20"),
    Piece(1, "def forward(self, x):", "header"),
    Piece(2, "# " + "a comment longer than a line " * 3 + "and more", "comment"),
    Piece(2, "x = self.conv(x)  # [B, c, H, W]"),
    Piece(2, "return x"),
]


def test_the_module_of_formatted_pieces_is_what_black_makes_of_it():
    texts = format_pieces(PIECES)
    module = _module(PIECES, texts)
    assert black.format_str(module, mode=black.Mode(line_length=LINE_LENGTH)) == module
    # and black did reach the pieces that needed it
    assert texts[5] != PIECES[5].indented() and texts[5].startswith("        self.conv = nn.Conv2d(\n")
    assert texts[2] == '    """A docstring that ends in a quote"\n\n    Indented text, trailing spaces\n    """'
    assert texts[11] == '        self.mode = "single quotes"'
    assert texts[12] == "        self.large = 1e20"


def test_short_pieces_in_black_style_do_not_reach_black(monkeypatch):
    short = [Piece(0, "class A(nn.Module):", "header"), Piece(1, "def __init__(self, c):", "header"), Piece(2, "self.relu = nn.ReLU()")]
    assert not any(p.needs_black() for p in short)
    monkeypatch.setattr(black, "format_str", None)  # any call would fail
    assert format_pieces(short) == ["class A(nn.Module):", "    def __init__(self, c):", "        self.relu = nn.ReLU()"]


@pytest.mark.parametrize(
    "piece, needs",
    [
        (Piece(2, "x" * (LINE_LENGTH - 8)), False),
        (Piece(2, "x" * (LINE_LENGTH - 7)), True),  # 89 columns with its indentation
        (Piece(0, "x" * LINE_LENGTH), False),
        (Piece(1, '"""Short."""', "docstring"), True),
        (Piece(2, "# " + "x" * 200, "comment"), False),
        (Piece(2, "y = f(\n    " + "x" * 80 + ",\n)"), True),  # a continuation line too long
        (Piece(2, "y = 'a'"), True),
        (Piece(2, "y = 1e-05"), False),
        (Piece(2, "y = 2 ** n"), True),  # black writes 2**n
        (Piece(2, "y = x[:, self.k:-1:2]"), True),  # black writes x[:, self.k : -1 : 2]
    ],
)
def test_which_pieces_need_black(piece, needs):
    assert piece.needs_black() is needs


def test_powers_are_written_as_black_writes_them():
    """black hugs `**` between simple operands (names, numbers) and not
    otherwise; the generated module is black's either way."""
    spec = "model M(n=3):\n    input [3, 8, 8]\n    conv 2 ** n\n    conv (n + 1) ** 2 dilation=2 ** (n - 2)\n"
    code = compile_source(spec, "m.lego").code
    assert black.format_str(code, mode=black.Mode()) == code
    assert "nn.Conv2d(3, 2**n," in code and "(n + 1) ** 2" in code and "dilation=2 ** (n - 2)" in code


def test_slices_are_written_as_black_writes_them():
    """black spaces a slice's colons where a bound is more than a name or a
    number, and not otherwise."""
    spec = "block head(k)(x):\n    y = x -> slice k (-1) step=2 dim=1\n    return x -> slice 1\n\nmodel M():\n    input [10, 8]\n    head 2\n"
    code = compile_source(spec, "m.lego").code
    assert black.format_str(code, mode=black.Mode()) == code
    assert "x[:, :, self.k : -1 : 2]" in code and "x[:, 1:]" in code


def test_a_docstring_cannot_forge_the_markers():
    """Doc comments holding the marker text (backslashes are escaped in
    docstrings, so they never read as markers) and long lines compile to a
    black-clean module with the docstring intact."""
    spec = (
        "# # legoc\\end\n"
        "# # legoc\\piece 0\n"
        "# class X:\n"
        f"# {'x' * 120}\n"
        f"public block {'long_name_' * 10}(c, {', '.join(f'parameter_{i}=1' for i in range(10))}):\n"
        "    conv c kernel_size=3 stride=parameter_1 padding=parameter_2 dilation=parameter_3 bias=false\n"
        "model M():\n"
        "    input [3, 8, 8]\n"
        f"    {'long_name_' * 10} 4\n"
    )
    code = compile_source(spec, "forged.lego").code
    assert black.format_str(code, mode=black.Mode()) == code
    assert '    """# legoc\\\\end\n    # legoc\\\\piece 0\n    class X:\n' in code
    namespace: dict = {}
    exec(code, namespace)  # the docstring survives as written
    cls = namespace[namespace["__all__"][0]]
    assert cls.__doc__.startswith("# legoc\\end\n    # legoc\\piece 0\n")


@pytest.mark.parametrize("f_string", [False, True])
@pytest.mark.parametrize("unpacking", [False, True])
def test_black_infers_the_python_versions_of_the_whole_module(f_string, unpacking):
    """An f-string or a trailing comma after `*(...)` in a call anywhere in
    the module (Python 3.6 / 3.5) makes black add a trailing comma when it
    splits a call that unpacks; the long piece alone holds neither."""
    long_call = f"self.layers = nn.Sequential(nn.Conv2d({LONG_ARGS}), *(nn.ReLU() for _ in range(n)))"
    pieces = [Piece(0, "class A(nn.Module):", "header"), Piece(1, "def __init__(self, n):", "header"), Piece(2, long_call)]
    if unpacking:
        pieces.append(Piece(2, "self.more = nn.Sequential(\n    nn.ReLU(),\n    *(nn.ReLU() for _ in range(n)),\n)"))
    if f_string:
        pieces.append(Piece(2, 'raise ValueError(f"{n}")'))
    texts = format_pieces(pieces)
    module = _module(pieces, texts)
    assert black.format_str(module, mode=black.Mode()) == module
    assert texts[2].endswith("for _ in range(n)),\n        )") is (f_string or unpacking)


def test_the_compiled_templates_are_those_of_the_templates(monkeypatch):
    """legoc/codegen/_templates (python -m legoc.tools.prebuild) holds today's templates,
    codegen loads them, and they render every example as the templates
    compiled afresh do."""
    import jinja2

    from conftest import EXAMPLES, example_names
    from legoc.codegen import _templates
    from legoc.codegen import generate as codegen
    from legoc.core.resources import read_text

    assert _templates.SOURCES == {name: read_text("templates", name) for name in codegen.TEMPLATES}, "run `python -m legoc.tools.prebuild`"
    assert _templates.JINJA_VERSION == jinja2.__version__, "run `python -m legoc.tools.prebuild`"
    assert isinstance(codegen._environment().loader, jinja2.ModuleLoader)
    texts = {name: (EXAMPLES / f"{name}.lego").read_text() for name in example_names()}
    precompiled = {name: compile_source(text, f"{name}.lego").code for name, text in texts.items()}
    monkeypatch.setattr(_templates, "JINJA_VERSION", "stale")
    assert isinstance(codegen._make_environment().loader, jinja2.FunctionLoader)
    monkeypatch.setattr(codegen, "_environment", codegen._make_environment)
    assert {name: compile_source(text, f"{name}.lego").code for name, text in texts.items()} == precompiled
