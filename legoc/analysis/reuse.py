"""Blocks analysed in an earlier run, reused where nothing they depend on
changed: how the language server re-analyses a long spec after an edit in
a fraction of the time (legoc/tools/lsp/document.py, benchmarks/lsp_latency.py).

A `Reuse` is handed to `analyze` (analysis/infer.py) run after run. Each
block analysed without an error is recorded with its definition (syntax
tree), its input ranks, its ClassIR, the warnings its own body gave, and
the blocks it called (with their ClassIRs). In a later run a block is
reused when its definition is equal, and so, recursively, is every block
it calls, each at the same ranks; otherwise it is analysed afresh. The
outcome is that of analysing it again: the same ClassIR (the same
object), the same warnings, the same order of `State.order`. A block
analysed after an error (with guessed shapes) is neither recorded nor
reused. The compiler and `legoc check` never pass one.
"""

from __future__ import annotations

from ..core.diagnostics import Diagnostic, Span
from ..ir.nodes import ClassIR
from ..syntax import tree as s


class Entry:
    """One block's analysis: its definition, ClassIR, own warnings, and its
    calls of blocks, (name, ranks, span of the call, ClassIR) in order."""

    __slots__ = ("definition", "ir", "warnings", "callees")

    def __init__(self, definition: s.Definition, ir: ClassIR, warnings: tuple[Diagnostic, ...], callees: tuple):
        self.definition, self.ir, self.warnings, self.callees = definition, ir, warnings, callees


class _Frame:
    __slots__ = ("warnings", "errors", "callees", "nested")

    def __init__(self, warnings: int, errors: int):
        self.warnings, self.errors = warnings, errors
        self.callees: list = []
        self.nested: list[tuple[int, int]] = []


class Reuse:
    """The blocks of earlier runs by (name, input ranks), and the record of
    the run in progress."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, tuple[int, ...]], Entry] = {}
        self._frames: list[_Frame] = []
        self._valid: dict[tuple[str, tuple[int, ...]], bool] = {}
        self.memo: dict = {}  # lint.py's per class and per definition results, by object

    def prune(self, live) -> None:
        """Forget the `memo` entries of objects not in `live` (the classes
        and definitions of the run just done)."""
        ids = {id(x) for x in live}
        self.memo = {k: v for k, v in self.memo.items() if k[1] in ids}

    def begin_run(self) -> None:
        """Forget what the last run decided (not what it recorded)."""
        self._frames.clear()
        self._valid.clear()

    # ------------------------------------------------------------ recording

    def enter(self, warnings: int, errors: int) -> None:
        """A block's analysis starts, with so many warnings and errors so far."""
        self._frames.append(_Frame(warnings, errors))

    def leave(self, name: str, definition: s.Definition, ranks: tuple[int, ...], ir: ClassIR | None, warnings: list[Diagnostic], errors: int) -> None:
        """A block's analysis ended (`ir` None: it failed); record it if it
        had no error."""
        frame = self._frames.pop()
        end = len(warnings)
        if ir is not None and errors == frame.errors:
            own = tuple(w for i, w in enumerate(warnings[frame.warnings : end], frame.warnings) if not any(a <= i < b for a, b in frame.nested))
            self.entries[(name, ranks)] = Entry(definition, ir, own, tuple(frame.callees))
        if self._frames:
            self._frames[-1].nested.append((frame.warnings, end))

    def called(self, name: str, ranks: tuple[int, ...], span: Span, ir: ClassIR) -> None:
        """The block being analysed called block `name`, which gave `ir`."""
        if self._frames:
            self._frames[-1].callees.append((name, ranks, span, ir))

    # -------------------------------------------------------------- reusing

    def usable(self, name: str, ranks: tuple[int, ...], defs: dict[str, s.Definition], ranked: dict, cache: dict) -> Entry | None:
        """The entry of block `name` at `ranks` if it can stand for analysing
        it now: its definition and its callees' (recursively) are unchanged,
        and the callees analysed in this run so far gave the same ClassIRs."""
        key = (name, ranks)
        entry = self.entries.get(key)
        if entry is None:
            return None
        if key not in self._valid:
            self._valid[key] = False  # a cycle is not reusable
            d = defs.get(name)
            ok = d is not None and (entry.definition is d or (entry.definition.span == d.span and entry.definition == d))
            for cname, cranks, _, cir in entry.callees if ok else ():
                if cname in ranked and ranked[cname][0] != cranks or cname in cache and cache[cname] is not cir:
                    ok = False
                    break
                sub = self.usable(cname, cranks, defs, ranked, cache)
                if sub is None or sub.ir is not cir:
                    ok = False
                    break
            self._valid[key] = ok
        return entry if self._valid[key] else None

    def replay(self, definitions, name: str, ranks: tuple[int, ...], span: Span) -> ClassIR | None:
        """Block `name`'s ClassIR from an earlier run, as analysing it now
        would give it: its callees first (through `definitions.block`, the
        analysis/definitions.py `Definitions` of this run, which reuses
        them in turn), its warnings reported again, the block registered in
        the run's state; None where it cannot be reused."""
        state = definitions.state
        entry = self.usable(name, ranks, state.defs, state.ranks, state.cache)
        if entry is None:
            return None
        state.ranks[name] = (ranks, span)
        self.enter(len(state.warnings), len(state.errors))
        try:
            for callee, callee_ranks, callee_span, _ in entry.callees:
                definitions.block(callee, callee_ranks, callee_span)
            for w in entry.warnings:
                if w not in state.warnings:
                    state.warnings.append(w)
        finally:
            frame = self._frames.pop()
            if self._frames:
                self._frames[-1].nested.append((frame.warnings, len(state.warnings)))
        state.cache[name] = entry.ir
        state.order.append(entry.ir)
        self.called(name, ranks, span, entry.ir)
        return entry.ir
