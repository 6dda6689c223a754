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


@deep
def check_source(text: str, name: str, limits: Limits = DEFAULT) -> Analysis:
    """Parse and shape-check one spec.

    Args:
        text: the .lego source.
        name: the file name diagnostics report.
        limits: the resource limits (limits.py).

    Returns:
        The analysis: classes to generate, each model's figures with its
        default arguments, and warnings (lint rules included).

    Raises:
        SpecError: the spec has errors; `.diagnostics` lists them, and the
            warnings found before analysis stopped.
    """
    analysis, diagnostics = analyze_program(parse(text, name, limits), limits=limits)
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
    try:
        analysis = analyze(program, prelude(), broken, limits)
    except SpecError as exc:
        found = exc.diagnostics + tuple(layer_order(exc.classes, PRELUDE_NAME))
        return None, found + tuple(unused_parameters(program, exc.diagnostics, broken))
    found = (
        analysis.diagnostics
        + tuple(layer_order(analysis.classes, PRELUDE_NAME))
        + tuple(unused_parameters(program, (), broken))
        + tuple(empty_spec(program, broken))
    )
    return replace(analysis, diagnostics=found), found


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
