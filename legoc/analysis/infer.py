"""Shape inference: from the syntax tree to the analysed IR.

Each block is analysed once per input rank, with its parameters and input
sizes as symbols, giving a `ClassIR` whose sizes are expressions over its
constructor arguments. A caller uses a block's `ClassIR` as a summary: it
substitutes its own values for the block's symbols. Models are analysed the
same way; their checks are then decided with the parameters' defaults.

Every size check that cannot be decided inside a block travels up, with a
note for each call site, until a caller's values decide it.

`analyze` is the entry point. The work is split by what is analysed:
definitions.py (blocks, models, defaults), statements.py (the statements
of a sequential body: group, named layer, residual, parallel, repeat),
calls.py (layer calls: primitives, patterns, blocks, and the argument
checks that move up through block calls), dataflow.py (named tensors:
assignments, joins, outputs), arguments.py (argument expressions),
names.py (layer and identifier names). What they share is one `State`
(state.py); what flows between statements is a `Flow` (flow.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..syntax import tree as s
from ..core.diagnostics import Diagnostic, Note, SpecError, error
from ..core.limits import DEFAULT, Limits
from ..ir.nodes import ClassIR
from .definitions import Definitions
from .flow import Failed
from .primitives import PRIMITIVES
from .state import State


@dataclass(frozen=True)
class Analysis:
    """The result of shape inference over a program.

    classes: the blocks (callees first) and models to generate.
    defaults: for each model, its ClassIR with the parameters' defaults
        substituted (concrete input/output shapes and parameter count).
    diagnostics: warnings (errors are raised).
    """

    classes: tuple[ClassIR, ...]
    defaults: dict[str, ClassIR]
    diagnostics: tuple[Diagnostic, ...]


def analyze(program: s.Program, prelude: s.Program, broken: frozenset[str] = frozenset(), limits: Limits = DEFAULT, reuse=None) -> Analysis:
    """Infer shapes for every model in `program`, with `prelude`'s blocks
    available (the program's own definitions shadow them).

    `broken` names definitions with syntax errors (parser.parse_recovering):
    they are not analysed, and calls of them are not errors of their own.
    `limits` bounds block-call depth, repeat counts and sizes (limits.py).
    `reuse` (analysis/reuse.py), where given, has the blocks of earlier
    runs reused where they and their callees are unchanged, and records
    this run's (the language server's re-analysis after an edit).

    Raises:
        SpecError: with every error found.
    """
    if reuse is not None:
        reuse.begin_run()
    return _Analyzer(program, prelude, broken, limits, reuse).run()


class _Analyzer:
    """One run of shape inference: the program's definitions, the shared
    `State`, and `Definitions`, which analyses them."""

    def __init__(self, program: s.Program, prelude: s.Program, broken: frozenset[str] = frozenset(), limits: Limits = DEFAULT, reuse=None):
        defs: dict[str, s.Definition] = {d.name: d for d in prelude.definitions}
        self.state = State(defs, prelude.file, broken, limits, reuse)
        self.user: list[s.Definition] = []
        seen: dict[str, s.Definition] = {}
        for d in program.definitions:
            if d.name in seen:
                self.state.report(error("LG203", d.span, f"`{d.name}` is defined twice", notes=[Note("first defined here", seen[d.name].span)]))
                continue
            if d.name in PRIMITIVES:
                self.state.report(error("LG203", d.span, f"`{d.name}` is a primitive layer and cannot be redefined"))
                continue
            seen[d.name] = d
            defs[d.name] = d
            self.user.append(d)
        self.definitions = Definitions(self.state)

    def run(self) -> Analysis:
        """Analyse every model (and the blocks they call); see `analyze`."""
        models, defaults = [], {}
        for d in self.user:
            if d.kind != "model" or d.name in self.state.broken:
                continue
            self.state.failed.append(False)
            try:
                ir = self.definitions.model(d)
            except SpecError as exc:
                self.state.report(SpecError([self.state.at_user_code(d) for d in exc.diagnostics]))
                continue
            except Failed:
                continue
            finally:
                self.state.failed.pop()
            models.append(ir)
            defaults[d.name] = self.definitions.decide(ir, d)
        used = _reachable(self.user)
        unused = [
            Diagnostic("warning", d.span, f"block `{d.name}` is not used by any model, so no code is generated for it", code="LG510")
            for d in self.user
            if d.kind == "block" and d.name not in used and d.name not in self.state.broken
        ]
        if self.state.errors:
            exc = SpecError(self.state.errors + self.state.warnings + unused)
            exc.classes = tuple(self.state.order) + tuple(models)  # what was analysed, for lint rules
            raise exc
        return Analysis(tuple(self.state.order) + tuple(models), defaults, tuple(self.state.warnings + unused))


def _reachable(definitions: list[s.Definition]) -> set[str]:
    """The names of the blocks that some model calls, directly or through
    other blocks, as the source is written (whether or not analysis got there)."""
    calls: dict[str, set[str]] = {}
    for d in definitions:
        calls[d.name] = {n.name for stmt in d.body for n in s.walk(stmt) if isinstance(n, s.Call)}
    used: set[str] = set()
    todo = [d.name for d in definitions if d.kind == "model"]
    while todo:
        for callee in calls.get(todo.pop(), ()):
            if callee not in used:
                used.add(callee)
                todo.append(callee)
    return used
