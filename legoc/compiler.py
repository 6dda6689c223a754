"""The compiler's entry points: text in, analysis or Python source out.

    parse (syntax/parser.py) -> shape inference (analysis/infer.py) -> code generation (codegen/generate.py)

Nothing here imports torch; jinja2 and black are imported only by
`compile_source`, when code is generated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from .syntax import tree as syntax
from .core.diagnostics import Diagnostic, SourceFile, SpecError
from .analysis.infer import Analysis, analyze
from .ir.nodes import ClassIR
from .core.limits import DEFAULT, Limits, deep
from .analysis.lint import empty_spec, layer_order, unused_parameters
from .syntax.parser import parse
from .core.resources import read_text

PRELUDE_NAME = "<prelude>"


@lru_cache(maxsize=1)
def prelude_source() -> SourceFile:
    """The prelude's text, for showing the lines diagnostics point at."""
    return SourceFile(PRELUDE_NAME, read_text("grammar", "prelude.lego"))


@lru_cache(maxsize=1)
def prelude() -> syntax.Program:
    """The prelude's blocks (conv1x1, conv3x3_bn_act, ...), parsed once."""
    return parse(prelude_source().text, PRELUDE_NAME)


class UnknownSetting(ValueError):
    """`--set NAME=VALUE` named no parameter of the spec's models: `name`,
    and `close`, the nearest parameter name (or None)."""

    def __init__(self, name: str, close: str | None):
        self.name, self.close = name, close
        super().__init__(f"no model of the spec has a parameter `{name}`" + (f"; did you mean `{close}`?" if close else ""))


def model_parameters(program: syntax.Program) -> set[str]:
    """The names of the parameters of `program`'s models."""
    return {p.name for d in program.definitions if d.kind == "model" for p in d.params}


def with_settings(program: syntax.Program, settings: dict[str, object], strict: bool = True) -> syntax.Program:
    """`program` with its models' parameters given the values `settings`
    (name -> int, float, bool or str) as their defaults, so that analysis,
    its checks and every tool see the model built with them. A value that
    does not suit the model is the diagnostic its default would have.

    Raises:
        UnknownSetting: with `strict`, a name that is no model's parameter
            (without, such names are left out).
    """
    from .core.naming import close_match

    known = model_parameters(program)
    for key in settings:
        if key not in known and strict:
            raise UnknownSetting(key, close_match(key, known))

    def model(d: syntax.Definition) -> syntax.Definition:
        params = tuple(
            replace(p, default=syntax.Literal(settings[p.name], p.default.span if p.default is not None else p.span)) if p.name in settings else p
            for p in d.params
        )
        return replace(d, params=params)

    return replace(program, definitions=tuple(model(d) if d.kind == "model" else d for d in program.definitions))


@deep
def check_source(text: str, name: str, limits: Limits = DEFAULT, settings: dict[str, object] | None = None) -> Analysis:
    """Parse and shape-check one spec.

    Args:
        text: the .lego source.
        name: the file name diagnostics report.
        limits: the resource limits (limits.py).
        settings: values for the models' parameters, in place of their
            defaults (`--set NAME=VALUE`; see `with_settings`).

    Returns:
        The analysis: classes to generate, each model's figures with its
        default arguments, and warnings (lint rules included).

    Raises:
        SpecError: the spec has errors; `.diagnostics` lists them, and the
            warnings found before analysis stopped.
        UnknownSetting: a setting that names no model parameter.
    """
    program = parse(text, name, limits)
    if settings:
        program = with_settings(program, settings)
    analysis, diagnostics = analyze_program(program, limits=limits)
    if analysis is None:
        raise SpecError(diagnostics)
    return analysis


@deep
def analyze_program(
    program: syntax.Program, broken: frozenset[str] = frozenset(), limits: Limits = DEFAULT
) -> tuple[Analysis | None, tuple[Diagnostic, ...]]:
    """Shape inference and the lint rules over a parsed program.

    `broken` names definitions with syntax errors (see
    `parser.parse_recovering`), which are skipped. Returns the analysis
    (None when the program has errors) and every diagnostic found: errors,
    then warnings.
    """
    analysis, found, _ = analyze_partial(program, broken, limits)
    return analysis, found


@deep
def analyze_partial(
    program: syntax.Program, broken: frozenset[str] = frozenset(), limits: Limits = DEFAULT, reuse=None
) -> tuple[Analysis | None, tuple[Diagnostic, ...], tuple[ClassIR, ...]]:
    """`analyze_program`, and the classes analysed: all of them, or where
    the program has errors those analysed before and around them (the
    language server's shapes of the definitions without errors). `reuse`:
    the blocks of earlier runs to reuse (analysis/reuse.py; `analyze`)."""
    memo = reuse.memo if reuse is not None else None
    try:
        analysis = analyze(program, prelude(), broken, limits, reuse)
    except SpecError as exc:
        found = exc.diagnostics + tuple(layer_order(exc.classes, PRELUDE_NAME, memo))
        found += tuple(unused_parameters(program, exc.diagnostics, broken, memo))
        if reuse is not None:
            reuse.prune((*exc.classes, *program.definitions))
        return None, found, tuple(exc.classes)
    found = (
        analysis.diagnostics
        + tuple(layer_order(analysis.classes, PRELUDE_NAME, memo))
        + tuple(unused_parameters(program, (), broken, memo))
        + tuple(empty_spec(program, broken))
    )
    if reuse is not None:
        reuse.prune((*analysis.classes, *program.definitions))
    return replace(analysis, diagnostics=found), found, analysis.classes


@dataclass(frozen=True)
class Compiled:
    """A generated module and the analysis it came from."""

    code: str
    analysis: Analysis

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return self.analysis.diagnostics


@deep
def compile_source(text: str, name: str, limits: Limits = DEFAULT) -> Compiled:
    """Compile one spec to the text of a standalone PyTorch module.

    The same text and name always give the same bytes.

    Raises:
        SpecError: the spec has errors; `.diagnostics` lists them.
    """
    from .codegen.generate import generate

    analysis = check_source(text, name, limits)
    return Compiled(generate(analysis, name.replace("\\", "/").rsplit("/", 1)[-1]), analysis)
