"""Black's formatting for generated code, at the cost of what black changes.

Running black over a whole generated module costs about a millisecond a
line (20 s for a 10,000-layer model, and more than the rest of a ResNet-50
build), and on almost every line it changes nothing: codegen/generate.py writes
black's style itself. So the code generator hands its module over as
pieces (statements, compound-statement headers and docstrings, each with
its indentation depth), and black formats, in one call, only the pieces it
could change: docstrings (black normalises their indentation, padding and
quotes) and pieces with a line longer than 88 columns (black splits them).
Every other piece is a short line in black's style, which black leaves as
it is. The result equals `black.format_str` of the whole module: tests
check that on every example, golden file, hostile spec and random spec.

Black formats a statement the same wherever it stands at a given depth
(only blank lines and docstrings depend on the neighbours, and the module
template writes blank lines as black does), so each piece is formatted in a
small stand-in context of that depth, marked with comments:

    class _:
        def _(self):
            # legoc\\piece 7
            self.conv = nn.Conv2d(...)  <- a piece at depth 2
            # legoc\\end
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .wrapping import wrap_comment

LINE_LENGTH = 88  # black's default, used for the generated file
_INDENT = "    "
_F_STRING = re.compile(r'(?<![\w"])f"')
# black normalises quotes and `e+` exponents, hugs `**` between simple
# operands (`2**n`, but `(n + 1) ** 2`) and spaces a slice's colons where a
# bound is not simple (`x[:, self.k : -1 : 2]`, but `x[:, 1:]`)
_REWRITTEN = re.compile(r"['\\\\]|\de\+|\*\*|\[[^\]\n]*:")
# The markers hold a backslash before a letter, which no docstring line can
# (codegen escapes backslashes in text from the spec) and no other generated
# line does, so a spec cannot forge one.
_START = "# legoc\\piece "
_END = "# legoc\\end"


@dataclass(frozen=True)
class Piece:
    """One unit of generated code.

    Attributes:
        depth: its indentation level (0: module, 1: class body, 2: method
            body, 3: the body of an `if` in a method).
        text: the statement, compound-statement header (ending in `:`) or
            docstring, starting at column 0; its continuation lines carry
            their indentation relative to the first line.
        kind: "statement", "header" (black's stand-in gives it a body),
            "docstring" (always formatted by black) or "comment" (never).
    """

    depth: int
    text: str
    kind: str = "statement"

    def needs_black(self) -> bool:
        """Whether black could change this piece: a docstring, a line longer
        than LINE_LENGTH columns at the piece's depth, or a literal black
        might rewrite (a single quote or backslash in a string, a float
        like `1e+20`, a power, a slice). Comments never: black does not
        split them."""
        if self.kind == "docstring":
            return True
        if self.kind == "comment":
            return False
        text = self.text
        if ("'" in text or "\\" in text or "e+" in text or "**" in text or ":" in text) and _REWRITTEN.search(text):
            return True
        width = LINE_LENGTH - len(_INDENT) * self.depth
        return any(len(line) > width for line in self.text.split("\n"))

    def indented(self) -> str:
        """The piece's text indented for its depth (blank lines left empty)."""
        pad = _INDENT * self.depth
        return "\n".join(pad + line if line else "" for line in self.text.split("\n"))


def format_pieces(pieces: list[Piece]) -> list[str]:
    """Each piece as black formats it in place: its lines indented for its
    depth, without a final line break.

    Raises:
        RuntimeError: black cannot format a piece (a legoc bug; the message
            holds the piece).
    """
    pieces = [_comments_fit(p) for p in pieces]
    out = [p.indented() for p in pieces]
    todo = [i for i, p in enumerate(pieces) if p.needs_black()]
    if not todo:
        return out
    import black

    skeleton = "\n".join(_stand_in(i, pieces[i]) for i in todo) + "\n"
    mode = black.Mode(line_length=LINE_LENGTH, target_versions=_target_versions(pieces))
    try:
        formatted = black.format_str(skeleton, mode=mode)
    except Exception as exc:  # black's errors have no common base class
        raise RuntimeError(f"legoc generated code that black cannot format ({exc}); this is a legoc bug.\n{skeleton}") from exc
    back = _pieces_back(formatted, pieces)
    if set(back) != set(todo):  # pragma: no cover - black keeps comments
        raise RuntimeError(f"legoc lost track of its code while formatting it; this is a legoc bug.\n{skeleton}")
    for i, text in back.items():
        out[i] = text
    return out


def _comments_fit(piece: Piece) -> Piece:
    """The piece with each comment line longer than LINE_LENGTH columns at
    its depth wrapped onto several comment lines (wrapping.py). Black
    never splits a comment, and a shape comment too long to trail its
    statement stands on its own line(s) above it (codegen/generate.py)."""
    if piece.kind == "docstring" or "#" not in piece.text:
        return piece
    width = LINE_LENGTH - len(_INDENT) * piece.depth
    lines = piece.text.split("\n")
    if not any(len(line) > width and line.lstrip(" ").startswith("#") for line in lines):
        return piece
    fitted = [part for line in lines for part in (wrap_comment(line, width) if len(line) > width and line.lstrip(" ").startswith("#") else [line])]
    return Piece(piece.depth, "\n".join(fitted), piece.kind)


def _target_versions(pieces: list[Piece]) -> set:
    """The Python versions black infers for the whole module, from the
    features it finds in it (black.get_features_used): a trailing comma in
    a call that unpacks `*(...)` needs Python 3.5, and once black knows the
    module cannot run on 3.3 or 3.4 it adds such commas when it splits a
    call. Generated code can hold two such features: f-strings (forward's
    size checks) and an nn.Sequential(...) of one argument a line that
    unpacks a repeat. The stand-in module holds only some pieces, so black
    would infer its versions from those alone."""
    from black.mode import VERSION_TO_FEATURES, Feature, TargetVersion

    features = set()
    for piece in pieces:
        if piece.kind in ("statement", "header"):
            if 'f"' in piece.text and _F_STRING.search(piece.text):
                features.add(Feature.F_STRINGS)
            # codegen's multi-line pieces are calls of one argument a line,
            # each followed by a comma
            lines = piece.text.split("\n")
            if any(line.startswith(_INDENT + "*") for line in lines[1:-1]):
                features.add(Feature.TRAILING_COMMA_IN_CALL)
    return {v for v in TargetVersion if features <= VERSION_TO_FEATURES[v]}


def _stand_in(index: int, piece: Piece) -> str:
    """Piece `index` in a context of its depth, between marker comments."""
    if piece.kind == "docstring":  # a docstring must open a class (depth 1)
        context = ["class _:"]
    else:
        context = (["class _:", "def _(self):"] + ["if _:"] * max(piece.depth - 2, 0))[: piece.depth]  # `init` loops nest deeper
    lines = [_INDENT * depth + line for depth, line in enumerate(context)]
    pad = _INDENT * piece.depth
    lines += [pad + _START + str(index), piece.indented()]
    if piece.kind == "header":
        lines.append(pad + _INDENT + "pass")
    lines.append(pad + _INDENT * (piece.kind == "header") + _END)
    return "\n".join(lines)


def _pieces_back(formatted: str, pieces: list[Piece]) -> dict[int, str]:
    """The formatted pieces, by index, read back from between the markers
    (trailing blank lines, and a header's stand-in body `pass`, dropped)."""
    found: dict[int, str] = {}
    index, lines = None, []
    for line in formatted.split("\n"):
        stripped = line.strip()
        if stripped.startswith(_START):
            index, lines = int(stripped[len(_START) :]), []
        elif stripped == _END and index is not None:
            while lines and not lines[-1].strip():
                lines.pop()
            if pieces[index].kind == "header" and lines and lines[-1].strip() == "pass":
                lines.pop()
            found[index] = "\n".join(lines)
            index = None
        elif index is not None:
            lines.append(line)
    return found
