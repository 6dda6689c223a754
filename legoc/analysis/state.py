"""The state one run of shape inference shares, and how it reports what it finds.

One `State` is made per `analyze` call and handed to every analyser
(definitions.py, statements.py, calls.py, dataflow.py): the definitions by
name, the errors and warnings found so far, the blocks analysed so far, and
the stack of definitions being analysed (for recursion, error recovery and
the "in this call of `b`" notes). Nothing else is shared between them.
"""

from __future__ import annotations

from dataclasses import replace

from ..ir import symbolic as sy
from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Note, Span, SpecError
from ..core.limits import Limits
from ..ir.nodes import Check, ClassIR
from ..ir.symbolic import Sym
from .flow import Flow
from .signature import show_message

# Codes of errors that do not depend on the shapes flowing in: after a first
# error in a definition, whose shapes are then unknown, only these are reported.
SHAPE_FREE = frozenset({"LG201", "LG202", "LG203", "LG204", "LG205", "LG206", "LG207", "LG208", "LG209", "LG401", "LG402", "LG403", "LG404", "LG406"}) | {"LG229", "LG435", "LG238", "LG239", "LG436"}  # a block's (a recurrent layer's) number of results or inputs: not their sizes


class State:
    """What the analysers of one program share.

    defs: every definition by name (the prelude's, shadowed by the program's).
    prelude_file: the prelude's file name (its problems are reported at the
        user's call, see `at_user_code`).
    broken: definitions with syntax errors, not analysed.
    limits: the resource limits (limits.py).
    errors, warnings: the diagnostics found so far, in order.
    cache: each analysed block's ClassIR by name (None: it failed).
    ranks: each analysed block's input ranks, and where it was first called.
    active: the blocks being analysed, outermost first (for LG403, LG603).
    order: the analysed blocks, callees first.
    failed: per definition being analysed, whether it has had an error;
        after one, analysis goes on with unknown shapes to find more.
    call_notes: "in this call of `b`", per block being analysed.
    unknowns: how many tensors of unknown sizes were made (their symbols'
        numbers).
    """

    __slots__ = ("defs", "prelude_file", "broken", "limits", "errors", "warnings", "cache", "ranks", "active", "order", "failed", "call_notes", "unknowns", "reuse")

    def __init__(self, defs: dict[str, s.Definition], prelude_file: str, broken: frozenset[str], limits: Limits, reuse=None):
        self.defs = defs
        self.reuse = reuse  # analysis/reuse.py's Reuse: blocks of earlier runs (the language server's), or None
        self.prelude_file = prelude_file
        self.broken = broken
        self.limits = limits
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.cache: dict[str, ClassIR | None] = {}
        self.ranks: dict[str, tuple[tuple[int, ...], Span]] = {}
        self.active: list[str] = []
        self.order: list[ClassIR] = []
        self.failed: list[bool] = []
        self.call_notes: list[Note] = []
        self.unknowns = 0

    def at_user_code(self, diag: Diagnostic) -> Diagnostic:
        """A problem found inside the prelude is reported at the user's call
        of it, with the prelude's line as a note."""
        if diag.span.file != self.prelude_file:
            return diag
        for i, note in enumerate(diag.notes):
            if note.span is not None and note.span.file != self.prelude_file:
                inner = Note(f"inside the prelude's `{note.message.split('`')[1]}`" if "`" in note.message else "in the prelude", diag.span)
                rest = diag.notes[:i] + diag.notes[i + 1 :]
                return replace(diag, span=note.span, notes=(inner, *rest))
        return diag

    def report(self, exc: SpecError) -> None:
        """Add the errors of `exc` that are not already reported."""
        for d in exc.diagnostics:
            if d not in self.errors:
                self.errors.append(d)

    def recover(self, exc: Exception, flow: Flow | None) -> Flow:
        """After a statement failed: report its errors (only shape-free ones
        once the definition has failed before), and go on with a tensor of
        the same rank and unknown sizes.

        Raises:
            exc: outside any definition (nothing to recover in).
        """
        if not self.failed:
            raise exc
        if isinstance(exc, SpecError):
            calls = tuple(reversed(self.call_notes))
            diags = [replace(d, notes=d.notes + calls) for d in exc.diagnostics if not self.failed[-1] or d.code in SHAPE_FREE]
            if diags:
                self.report(SpecError([self.at_user_code(d) for d in diags]))
        self.failed[-1] = True
        return self.unknown(len(flow.shape) if flow is not None else 3)

    def settle_known(self, checks: list[Check]) -> None:
        """In a definition that failed: report the checks that fail without
        involving the unknown sizes that followed the failure."""
        self.settle([c for c in checks if not any(sym.key.startswith("?:") for sym in sy.free_symbols(c.cond))])

    def unknown(self, rank: int) -> Flow:
        """A tensor of unknown sizes (after an error)."""
        self.unknowns += 1
        return Flow.start(tuple(Sym(f"?:{self.unknowns}:{axis}", "?", "unknown") for axis in range(rank)))

    def settle(self, checks: list[Check]) -> list[Check]:
        """Report checks that fail outright (errors, and lint warnings once
        per place); drop those that hold; keep the rest."""
        open_checks = []
        for c in checks:
            if c.cond == sy.FALSE:
                diag = self.at_user_code(Diagnostic(c.severity, c.span, show_message(c.message), c.notes, c.hint, c.code))
                if c.severity == "error":
                    self.report(SpecError([diag]))
                elif all((w.code, w.span) != (diag.code, diag.span) for w in self.warnings):
                    self.warnings.append(diag)
            elif c.cond != sy.TRUE:
                open_checks.append(c)
        return open_checks
