"""Long lines of generated text wrapped to fit black's 88 columns: docstring
lines and shape comments (black splits code, never comments or docstrings).

One rule for both: a line that does not fit is broken at spaces, the
continuation lines with a hanging indent of four columns. The spaces least
deep in brackets come first, and at one depth those after a comma: a list
of shapes is broken between the shapes, and a shape is kept whole where it
fits on a line of its own; one that does not is broken after the commas
between its sizes, and a size too long for a line at the spaces around its
operators (` // `, ` if `), before any inside its parentheses:

    Returns a dict of tensors: 'label' [B, classes],
        'mask' [B, segments, (H + 7) // 8 * 8, (W + 7) // 8 * 8].

    # [B, c, (H - (kernel_size + 1) % 2 - 1) // stride + 1,
    #     (W - (kernel_size + 1) % 2 - 1) // stride + 1]

Nothing is left out, and a word longer than a line stays whole (and long).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

HANGING = "    "  # the continuation lines' indent
_OPEN, _CLOSE = "([{", ")]}"
_DEEPEST = 4  # deeper in brackets counts as this deep (hostile text stays linear)


def wrap(text: str, width: int, first: int | None = None, hanging: str = HANGING) -> list[str]:
    """`text` as lines of at most `width` columns (the first line at most
    `first`, default `width`), continuation lines indented by `hanging`.

    A line longer than that is left where the text has no space to break
    at. Runs of spaces are kept where the text is not broken."""
    first = width if first is None else first
    if len(text) <= first:
        return [text]
    points = _breaks(text)
    atoms = _atoms(text, 0, len(text), sorted(points), points, width - len(hanging))
    lines = [atoms[0]]
    for atom in atoms[1:]:
        limit = first if len(lines) == 1 else width
        if len(lines[-1]) + 1 + len(atom) <= limit:
            lines[-1] += " " + atom
        else:
            lines.append(hanging + atom)
    return lines


def wrap_comment(line: str, width: int) -> list[str]:
    """A comment line (`# ...`, after its indentation) in lines of at most
    `width` columns, each a comment at the same indentation."""
    body = line.lstrip(" ")
    pad = line[: len(line) - len(body)]
    text = body[1:].lstrip(" ")
    wrapped = wrap(text, width - len(pad) - 2)
    return [f"{pad}# {part}" for part in wrapped]


def _breaks(text: str) -> dict[int, int]:
    """Where `text` may break (the index of a single space between two
    words) and at which level, lower first: twice the bracket depth there,
    plus one where the space is not after a comma."""
    points, depth = {}, 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch == " " and 0 < i < len(text) - 1 and text[i - 1] != " " and text[i + 1] != " ":
            points[i] = 2 * min(depth, _DEEPEST) + (text[i - 1] != ",")
    return points


def _atoms(text: str, start: int, end: int, at: list[int], points: dict[int, int], room: int) -> list[str]:
    """`text[start:end]` as the parts that the lines are filled with: whole
    where it fits in `room` columns or cannot break, else broken at its
    least deep breaks and each part so again (`at`: the breaks, sorted)."""
    inside = at[bisect_right(at, start) : bisect_left(at, end)]
    if end - start <= room or not inside:
        return [text[start:end]]
    level = min(points[i] for i in inside)
    cuts = [i for i in inside if points[i] == level]
    out: list[str] = []
    for a, b in zip([start - 1, *cuts], [*cuts, end]):
        out += _atoms(text, a + 1, b, at, points, room)
    return out
