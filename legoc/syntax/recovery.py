"""Recovery from syntax errors: every error of a file, in time linear in its size.

`Recovery` is the work of `legoc.syntax.parser.parse_recovering`: after
an error, the offending line of a definition's body becomes a placeholder
layer (or the whole definition is blanked, `edit_out`) and parsing starts
again, from the parser's state where the edit begins, not from the top.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable

from ..core.diagnostics import Diagnostic, SpecError
from ..core.limits import Limits
from . import tree as s
from .automaton import lalr_parser
from .builder import ToSyntax
from .errors import parse_error
from .lalr import Token, Tree, UnexpectedInput
from .indentation import IndentError, Layout
from .sizes import measure

# A definition's header, even with a misspelt keyword (`blok unit(c):`): its
# second word is the name that calls of it use.
_HEADER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ \t]+([A-Za-z_][A-Za-z0-9_]*)")


def _top_level(line: str) -> bool:
    """Whether a line starts a definition: unindented, not blank or a comment."""
    return bool(line) and line[0] not in " \t#\r"


def edit_out(lines: list[str], changed: set[int], blanked: set[str], diag: Diagnostic,
             top_above: Callable[[int], int] | None = None) -> range | None:  # fmt: skip
    """Take the error `diag` out of `lines`: its line of a definition's
    body becomes a placeholder layer, or its whole definition (or, when
    that is already done, the rest of the file) is blanked. Records the
    lines it changes in `changed` and the names of blanked definitions in
    `blanked`. Returns the lines (indices) it may have changed; None when
    there is nothing left to change (give up). `top_above(at)` is the
    index of the last top-level line at or above `at` (or `at` itself
    when there is none), found by looking up line by line if not given.

    Looks only at the lines from the definition's first body line to the
    error's, unless it blanks: so a placeholder costs as much however
    long the definition."""
    at = min(max(diag.span.line - 1, 0), len(lines) - 1)
    if top_above is None:
        start = next((i for i in range(at, -1, -1) if _top_level(lines[i])), at)
    else:
        start = top_above(at)
    # A line of the body: not blank, not a comment (the lines from `start`
    # to the next top-level line after `at`, which is after `at` itself).
    in_body = bool(lines[at].strip()) and not lines[at].lstrip().startswith("#")
    if at != start and in_body and at not in changed and diag.code != "LG102":
        first = next(i for i in range(start + 1, at + 1) if lines[i].strip() and not lines[i].lstrip().startswith("#"))
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())] or "    "
        lines[at] = indent + "identity"
        changed.add(at)
        return range(at, at + 1)
    end = next((i for i in range(at + 1, len(lines)) if _top_level(lines[i])), len(lines))
    region = range(start, end) if any(i not in changed for i in range(start, end)) else range(at, len(lines))
    if all(i in changed for i in region):
        return None
    for i in region:
        header = _HEADER.match(lines[i]) if _top_level(lines[i]) else None
        if header:
            blanked.add(header.group(1))
        lines[i] = ""
        changed.add(i)
    return region


def broken_definitions(program: s.Program, lines: list[str], changed: set[int], blanked: set[str]) -> frozenset[str]:
    """The definitions with errors: those blanked, and those of `program`
    with a changed line (0-based indices) between their header and the
    next definition's."""
    starts = sorted((d.span.line, d.name) for d in program.definitions)
    marks = sorted(changed)
    broken = set(blanked)
    for index, (line, name) in enumerate(starts):
        last = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        at = bisect_left(marks, line - 1)
        if at < len(marks) and marks[at] <= last - 1:
            broken.add(name)
    return frozenset(broken)


class _BomLines:
    """The file's lines as `parse` sees them: without a byte order mark."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def __getitem__(self, index: int) -> str:
        line = self.lines[index]
        return line[1:] if index == 0 and line.startswith("\ufeff") else line


class _Part:
    """One part of the file (see Recovery): its lines [start, end), its
    definitions' parse trees, its layer calls and first LG602 error, and,
    once converted, its definitions."""

    __slots__ = ("start", "end", "trees", "layers", "too_deep", "definitions", "dead")

    def __init__(self, start: int, end: int, trees: list[Tree], layers: int, too_deep: SpecError | None):
        self.start, self.end, self.trees, self.layers, self.too_deep = start, end, trees, layers, too_deep
        self.definitions: list[s.Definition] | None = None
        self.dead = False


class _GiveUp(Exception):
    """An error that no edit takes out: recovery stops, as the parser's
    `_recover_whole` does."""


class Recovery:
    """parse_recovering's work: the outcome of legoc.syntax.parser's
    `_recover_whole` (parse the whole file again after each error), in
    linear time.

    The file is parsed one part at a time, a part being a top-level
    definition (or what precedes the first one), from the parser state the
    whole parse has where it starts (Lark's tables reach the same state at
    every definition's start but the first). A part ends at the first later
    top-level line where a `block` or `model` starts with no bracket open
    and the parser shifts it: a bracket left open, or a line that is not a
    definition's header, lets a part run on as the whole parse would.

    Errors are taken out in `_recover_whole`'s order (its first error is
    the first syntax error in the file, else the last part's nesting error
    (LG602), else the first conversion error), and after each only the
    part it is in is parsed again, with the parts after it while the
    parse does not land on a part's start as before."""

    def __init__(self, text: str, file: str, limits: Limits):
        self.file, self.limits = file, limits
        self.lines = text.split("\n")
        self.diags: list[Diagnostic] = []
        self.changed: set[int] = set()
        self.blanked: set[str] = set()
        self.budget = len(self.lines) + 1  # parses that fail, at most (as _recover_whole)
        self.parts: list[_Part] = []
        self.starts: list[int] = []  # each part's start, for bisect
        self.layers = 0  # in all parts
        self.unchecked: list[tuple[int, int, _Part]] = []  # heap by -start: parts whose LG602 is not taken yet
        self.unconverted: list[tuple[int, int, _Part]] = []  # heap by start
        self.serial = 0
        self.reach = 0  # where the lines edited since the last sweep end (an index)
        # (t, hi): line t is top-level (-1: none is) and none in (t, hi] is.
        self.tops: tuple[int, int] | None = None
        # (lo, c): line c may end a part (_may_start; or it is len(lines)), and none in [lo, c) may.
        self.ends: tuple[int, int] | None = None

    def run(self) -> tuple[s.Program, tuple[Diagnostic, ...], frozenset[str]] | None:
        """The outcome, or None where the layer count crosses its limit
        (LG604, counted over the whole file: left to _recover_whole)."""
        lines = self.lines
        definitions: list[s.Definition] = []
        try:
            self._sweep(0)
            while True:
                if self.layers > self.limits.max_layers:
                    return None
                part = self._next(self.unchecked)
                if part is not None:
                    if part.too_deep is None:
                        heapq.heappop(self.unchecked)
                        continue
                    self._fail(part.too_deep, part)
                    continue
                part = self._next(self.unconverted)
                if part is None:
                    break
                convert = ToSyntax(self.file, _BomLines(lines), self.limits)  # type: ignore[arg-type]
                try:
                    convert.transform(Tree("start", part.trees), consume=False)
                except SpecError as exc:
                    self._fail_lines(exc, part, convert)
                    continue
                program = convert.transform(Tree("start", part.trees))
                heapq.heappop(self.unconverted)
                part.definitions, part.trees = list(program.definitions), []
            definitions = [d for part in self.parts for d in part.definitions or ()]
        except _GiveUp:
            definitions = []
        self.diags.sort(key=lambda d: (d.span.line, d.span.column))
        program = s.Program(self.file, tuple(definitions))
        return program, tuple(self.diags), broken_definitions(program, lines, self.changed, self.blanked)

    @staticmethod
    def _next(heap: list) -> _Part | None:
        """The live part at the top of `heap`, dropping dead ones."""
        while heap and heap[0][2].dead:
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    def _fail(self, exc: SpecError, part: _Part) -> None:
        """Take out the error `exc`, met in `part`, and parse again from
        that part."""
        self._take_out(exc)
        self._sweep(bisect_left(self.starts, part.start))

    def _fail_lines(self, exc: SpecError, part: _Part, convert: ToSyntax) -> None:
        """Take out `exc`, the first conversion error of `part`, and with it
        those of the later lines of its definition's body, each as taking
        out the one before and parsing again would meet it (a line's
        conversion errors are its own), while each is a whole line that a
        placeholder replaces; then parse the part again, once."""
        trees = part.trees
        if len(trees) != 1:
            self._fail(exc, part)
            return
        found: list[SpecError] = []
        layers = self.layers
        for line in trees[0].children:
            if not (isinstance(line, Tree) and line.data == "line"):
                continue
            try:
                convert.transform(line, consume=False)
                continue
            except SpecError as exc_line:
                failure = exc_line
            diag = failure.diagnostics[0]
            statement = line.children[0]
            at = diag.span.line - 1
            whole = isinstance(statement, Tree) and statement.c_line == statement.c_end_line == diag.span.line
            if not whole or at in self.changed or diag.code == "LG102" or layers > self.limits.max_layers:
                break
            found.append(failure)
            layers += 1 - measure(line, self.file, self.limits)[0]
        if not found or found[0].diagnostics[0] != exc.diagnostics[0]:
            self._fail(exc, part)
            return
        for failure in found:
            edited = self._take_out(failure)
            if len(edited) != 1:  # not a placeholder: parse again now
                break
        self._sweep(bisect_left(self.starts, part.start))

    def _take_out(self, exc: SpecError) -> range:
        """Record the error `exc` and edit it out of the lines; the lines
        (indices) edited."""
        diag = exc.diagnostics[0]
        self.diags.append(diag)
        self.budget -= 1
        edited = edit_out(self.lines, self.changed, self.blanked, diag, self._top_above) if self.budget >= 0 else None
        if edited is None:
            raise _GiveUp
        self.reach = max(self.reach, edited.stop)
        # Edited lines are blank or indented: none is top-level or may end
        # a part now, but the line after them may (no backslash before it).
        if self.tops is not None and self.tops[0] in edited:
            self.tops = None
        if self.ends is not None:
            lo, c = self.ends
            if c in edited:
                self.ends = None
            elif lo <= edited.stop < c and _may_start(self.lines, edited.stop):
                self.ends = (lo, edited.stop)
        return edited

    def _top_above(self, at: int) -> int:
        """The last top-level line at or above `at` (`at` when none is),
        remembering how far up it looked."""
        lines = self.lines
        if self.tops is not None and at >= self.tops[0]:
            top, seen = self.tops
            found = next((i for i in range(at, seen, -1) if _top_level(lines[i])), top)
        else:
            found = next((i for i in range(at, -1, -1) if _top_level(lines[i])), -1)
        self.tops = (found, max(at, self.tops[1]) if self.tops is not None and found == self.tops[0] else at)
        return at if found < 0 else found

    def _next_end(self, index: int) -> int:
        """The first line at or after `index` that may end a part
        (len(lines) when none does), remembering how far it looked."""
        if self.ends is not None and self.ends[0] <= index <= self.ends[1]:
            return self.ends[1]
        lines = self.lines
        end = next((i for i in range(index, len(lines)) if _may_start(lines, i)), len(lines))
        self.ends = (index, end)
        return end

    def _sweep(self, index: int) -> None:
        """Parse the parts from the `index`-th on again (all when there are
        none yet), taking out their syntax errors, until a part ends where
        one of the earlier parse started, with nothing changed from there."""
        lines, old = self.lines, self.parts[index:]
        at = old[0].start if old else 0
        new: list[_Part] = []
        keep = len(old)
        o = 0
        while at < len(lines):
            if at > 0 and not _top_level(lines[at]):
                at += 1  # blank (or blanked) lines between definitions
                continue
            while o < len(old) and old[o].start < at:
                o += 1
            if 0 < o < len(old) and old[o].start == at and at >= self.reach:
                keep = o
                break
            part = self._part(at)
            if part is None:
                continue  # its header was blanked: look again from `at`
            new.append(part)
            at = part.end
        for part in old[:keep]:
            part.dead = True
            self.layers -= part.layers
        for part in new:
            self.layers += part.layers
            self.serial += 1
            heapq.heappush(self.unchecked, (-part.start, self.serial, part))
            heapq.heappush(self.unconverted, (part.start, self.serial, part))
        self.parts[index : index + keep] = new
        self.starts[index : index + keep] = [part.start for part in new]
        self.reach = 0

    def _part(self, at: int) -> _Part | None:
        """The part at line index `at`, its syntax errors taken out; None
        when that blanks its first line (a header).

        After an error that changes only lines below a line break of the
        part's body, parsing starts again at that line break, from the
        parser's state there (a checkpoint), not at the part's start: so
        that many errors in one definition cost one parse of it."""
        checkpoints: list[tuple] = []
        resume = None
        while True:
            if at > 0 and not _top_level(self.lines[at]):
                return None
            try:
                trees, end = self._parse(at, checkpoints, resume)
            except SpecError as exc:
                edited = self._take_out(exc)
                # The last checkpoint on a line above the edited ones (its
                # line, 1-based, is at most the first edited index).
                keep = bisect_right(checkpoints, edited.start, key=lambda c: c[0])
                resume = checkpoints[keep - 1] if keep else None
                del checkpoints[max(keep - 1, 0) :]
                continue
            layers, too_deep = measure(Tree("start", trees), self.file, self.limits)
            return _Part(at, end, trees, layers, too_deep)

    def _parse(self, at: int, checkpoints: list[tuple], resume: tuple | None) -> tuple[list[Tree], int]:
        """The definitions' trees of the part at line index `at`, and the
        line index where the next part starts; parsed from the checkpoint
        `resume` if given; each line break with no bracket open is added to
        `checkpoints`: (line, column, states, values, the length of each
        tree's children among the values, indentation levels).

        Raises:
            SpecError: the first syntax error of the part.
        """
        lines, parser = self.lines, lalr_parser()
        first = at if resume is None else resume[0] - 1  # the index of the line the text starts with
        want = 1  # candidate ends to take in the text; doubled when none is one
        while True:
            stops: list[int] = []
            index = first + 1
            if want == 1 and index < len(lines):
                index = self._next_end(index)
                if index < len(lines):
                    stops.append(index + 1)
                    index += 1
            while index < len(lines) and len(stops) < want:
                if _may_start(lines, index):
                    stops.append(index + 1)
                index += 1
            final = len(stops) < want
            text = "\n".join(lines[first:] if final else lines[first:index]) + "\n"
            if first == 0 and text.startswith("\ufeff"):
                text = text[1:]
            if final and text.endswith("\n\n"):
                text = text[:-1]
            if resume is not None:
                _, column, states, values, sizes, levels = resume
                states, values = list(states), list(values)
                for tree, size in sizes:
                    del tree.children[size:]
                pos = column - 1
            elif at == 0:
                states, values, pos, levels = [parser.start_state], [], 0, None
            else:
                # After a definition: the state the whole parse is in there
                # (or, after only blank lines, one that allows the same).
                states = [parser.start_state, parser.goto(parser.start_state, "__start_star_0")]
                values, pos, levels = [Tree("__start_star_0", [])], 0, None
            layout = Layout(levels)
            mark = len(checkpoints)

            def watch(token: Token, states: list[int], values: list) -> None:
                if token.line > 1:  # (line 1 may have lost a byte order mark)
                    sizes = [(v, len(v.children)) for v in values if type(v) is Tree]
                    checkpoints.append((token.line, token.column, list(states), list(values), sizes, list(layout.levels)))

            try:
                kind, value = parser.parse_part(
                    text, layout.process, first + 1, states, values, stops,
                    lambda tok: tok.type in ("BLOCK", "MODEL") and not layout.brackets, final, pos, watch,
                )  # fmt: skip
            except (IndentError, UnexpectedInput) as exc:
                raise parse_error(exc, text, self.file, first + 1, pos, levels) from None
            if kind == "more":
                del checkpoints[mark:]
                want *= 2
                continue
            if kind == "tree":
                return list(value.children), len(lines)
            top = values[-1] if values else None
            trees = list(top.children) if isinstance(top, Tree) and top.data == "__start_star_0" else []
            return trees, value - 1


def _may_start(lines: list[str], index: int) -> bool:
    """Whether line `index` may start a definition where the one before it
    ends: a top-level line that begins with a name, not continuing the line
    before it with a backslash."""
    line, before = lines[index], lines[index - 1]
    return bool(line) and (line[0].isalpha() or line[0] == "_") and not before.rstrip(" \t\f\r").endswith("\\")
