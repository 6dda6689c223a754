"""Parse .lego text into a `syntax.Program`: `parse` and `parse_recovering`.

Lark analyses legoc/grammar/legoc.lark into LALR tables, prebuilt into
legoc/syntax/_parse_tables.py (see legoc/tools/prebuild.py), and legoc.syntax.lalr runs them:
parsing never imports Lark. Syntax errors become diagnostics at the
offending token, never tracebacks.

The stages, one module each: legoc.syntax.automaton (the parser, once per
process), legoc.syntax.indentation (indentation to tokens), legoc.syntax.sizes
(the limits on a spec's size), legoc.syntax.builder (parse tree to
syntax nodes); on an error, legoc.syntax.errors (its diagnostic) and
legoc.syntax.recovery (every error of a file, for `legoc check`).
"""

from __future__ import annotations

from . import tree as s
from ..core.diagnostics import Diagnostic, SpecError
from ..core.limits import DEFAULT, Limits
from .automaton import lalr_parser
from .builder import ToSyntax
from .lalr import UnexpectedInput
from .indentation import IndentError, Layout
from .sizes import check_file_size, check_size


def parse(text: str, file: str, limits: Limits = DEFAULT) -> s.Program:
    """Parse the text of one .lego file.

    Args:
        text: the source.
        file: the name diagnostics report (a path, or "<stdin>").
        limits: the file size, nesting and layer count allowed (limits.py).

    Raises:
        SpecError: the text has a syntax error (one diagnostic, at its token)
            or crosses a limit.
    """
    check_file_size(text, file, limits)
    if text.startswith("\ufeff"):  # a UTF-8 byte order mark
        text = text[1:]
    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = lalr_parser().parse(text, Layout().process)
    except (IndentError, UnexpectedInput) as exc:
        from .errors import parse_error  # (only on an error)

        raise parse_error(exc, text, file) from None
    check_size(tree, file, limits)
    # Lines as the lexer counts them: split at "\n" only, not at the
    # CR, form feed or line separator a comment may hold (splitlines).
    return ToSyntax(file, text.split("\n"), limits).transform(tree)


def parse_recovering(text: str, file: str, limits: Limits = DEFAULT) -> tuple[s.Program, tuple[Diagnostic, ...], frozenset[str]]:
    """Parse, reporting every syntax error instead of the first: after an
    error, the offending line of a definition's body is replaced by a
    placeholder layer (or, for an error in a header or one that persists,
    the whole definition is blanked) and parsing starts again.

    Returns the program that finally parses, the syntax errors in source
    order, and the names of the definitions that had errors: their
    analysis would only repeat those errors, so callers skip them. A file
    over `limits.max_file_bytes` gives that one error and an empty program.

    The outcome is that of parsing the whole file again after each error
    (`_recover_whole`), but the work stays linear in the file's size,
    whatever the number of errors: after the first error, the file is
    parsed one top-level definition at a time, each from the parser state
    the whole parse has there, and after an error in a definition's body
    parsing starts again at the line break before the edited line, from
    the parser's state there: a syntax error costs a parse of one line, an
    error found after parsing (LG602, or a number's or an argument's) one
    of its definition. A file whose layer calls pass `limits.max_layers`
    (LG604, a count over the whole file) is recovered the old way, parsed
    whole after each error.
    """
    try:
        check_file_size(text, file, limits)
    except SpecError as exc:
        return s.Program(file, ()), exc.diagnostics, frozenset()
    try:
        return parse(text, file, limits), (), frozenset()
    except SpecError:
        pass
    from .recovery import Recovery  # (only on an error)

    found = Recovery(text, file, limits).run()
    return found if found is not None else _recover_whole(text, file, limits)


def _recover_whole(text: str, file: str, limits: Limits) -> tuple[s.Program, tuple[Diagnostic, ...], frozenset[str]]:
    """`parse_recovering` by parsing the whole file again after each error:
    quadratic in the number of errors. Used where the layer count of the
    whole file matters (LG604), and by tests as the reference."""
    from .recovery import broken_definitions, edit_out

    lines = text.split("\n")
    diags: list[Diagnostic] = []
    changed: set[int] = set()
    blanked: set[str] = set()
    program = s.Program(file, ())
    for _ in range(len(lines) + 1):
        try:
            program = parse("\n".join(lines), file, limits)
            break
        except SpecError as exc:
            diag = exc.diagnostics[0]
            diags.append(diag)
            if edit_out(lines, changed, blanked, diag) is None:
                break
    diags.sort(key=lambda d: (d.span.line, d.span.column))
    return program, tuple(diags), broken_definitions(program, lines, changed, blanked)
