"""The text of generated code that is not code: docstrings, comments,
string literals and shapes, made safe for where they go.

Nothing a spec says (a doc comment, a file name, a string argument) can
end its string or comment early: `doc_escape` and `comment_safe` escape
what could (tests/test_hostile.py tries).
"""

from __future__ import annotations

import re

from ..analysis.constraints import describe
from ..ir import symbolic as sy
from ..ir.nodes import ClassIR, Shape
from .formatting import LINE_LENGTH
from .wrapping import wrap


def doc_lines(ir: ClassIR, defaults: ClassIR | None) -> list[str]:
    doc = list(ir.doc) or [f"The {ir.kind} `{ir.name}`."]
    doc.append("")
    if ir.graph:
        doc.append("Inputs: " + ", ".join(f"{p.code} {shape_text(p.shape)}" for p in ir.inputs) + ".")
        if len(ir.outputs) == 1:
            doc.append(f"Output: {shape_text(ir.output)}.")
        elif ir.kind == "block":
            doc.append("Returns a tuple of tensors: " + ", ".join(f"{p.code} {shape_text(p.shape)}" for p in ir.outputs) + ".")
        else:
            doc.append("Returns a dict of tensors: " + ", ".join(f"{p.name!r} {shape_text(p.shape)}" for p in ir.outputs) + ".")
    else:
        doc.append(f"Input: {shape_text(ir.input)}.")
        doc.append(f"Output: {shape_text(ir.output)}.")
    for rule in ir.dim_rules:
        rule_text = describe(rule)
        doc.append(f"{rule_text[0].upper()}{rule_text[1:]}: forward raises AssertionError otherwise.")
    if defaults is not None:
        count = sy.value_of(defaults.n_params)
        changed = [p for p, q in zip(defaults.outputs, ir.outputs) if p.shape != q.shape]
        if isinstance(count, int) and changed:
            if len(ir.outputs) == 1:
                doc.append(f"With the default arguments the output is {shape_text(defaults.output)}.")
            else:
                shapes = ", ".join(f"{p.name!r} {shape_text(p.shape)}" for p in defaults.outputs)
                doc.append(f"With the default arguments the outputs are {shapes}.")
        if isinstance(count, int):
            doc.append(f"Trainable parameters with the default arguments: {count:,}.")
    return doc


def string_literal(text: str) -> str:
    """A string literal in double quotes, as black writes it, where the text
    holds none (otherwise Python's repr, which formatting.py has black
    rewrite)."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        return '"' + literal[1:-1] + '"'
    return literal


def shape_text(shape: Shape) -> str:
    return "[" + ", ".join(["B", *(str(d) for d in shape)]) + "]"


def doc_escape(text: str) -> str:
    """Text safe inside a triple-quoted string: backslashes and control
    characters escaped, and no run of quotes that could close the string."""
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"' and (text[i + 1 : i + 2] == '"' or i == len(text) - 1):
            out.append('\\"')
        elif not ch.isprintable():
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def docstring_text(lines: list[str], indent: int = 4, kept: int = 0) -> str:
    """A docstring's text, its lines unindented (formatting.Piece indents
    them by `indent` columns) and wrapped to fit in LINE_LENGTH columns
    (wrapping.py: after a comma where they can, with a hanging indent),
    except the first `kept` lines: the spec's doc comment, as its author
    wrote it."""
    width = LINE_LENGTH - indent
    escaped = [doc_escape(line) if line else "" for line in lines]
    if len(escaped) == 1 and len(escaped[0]) + 6 <= width:
        return f'"""{escaped[0]}"""'
    wrapped: list[str] = []
    for i, line in enumerate(escaped):
        wrapped += wrap(line, width, width - 3 if not wrapped else width) if line and i >= kept else [line]
    return '"""' + "\n".join(wrapped) + '\n"""'


def module_docstring(text: str) -> str:
    """The module docstring's text, between the template's quotes: one
    line where it fits, else wrapped, without a hanging indent (black
    dedents a module docstring's lines), the quotes closing on a line of
    their own."""
    escaped = doc_escape(text)
    if len(escaped) + 6 <= LINE_LENGTH:
        return escaped
    return "\n".join(wrap(escaped, LINE_LENGTH, LINE_LENGTH - 3, hanging="")) + "\n"


def comment_safe(text: str) -> str:
    """A file name made safe for a one-line comment: control characters
    escaped, and no `coding:` or `coding=`, which on the file's first line
    would be an encoding declaration (PEP 263; `coding:utf-7` would let a
    docstring's `+ACIAIgAi-` close it when Python reads the file)."""
    safe = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return re.sub(r"(?i)(?<=coding)[:=]", lambda m: f"\\x{ord(m.group()):02x}", safe)


def repetition_name(each: tuple) -> str:
    """The f-string of a named repetition's name (ir.nodes.Repeat.each):
    `f"block{stage}-{i}"`. Its text is letters, digits, `_` and `-` (LG217),
    its values integer expressions, so nothing in it ends the string."""
    return 'f"' + "".join(p if isinstance(p, str) else "{" + sy.to_text(p, code=True) + "}" for p in each) + '"'
