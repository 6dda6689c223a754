"""The limits on a spec's size that parsing enforces.

A file over `max-file-bytes` (LG601), a parse tree nested deeper than
`max-nesting` (LG602), more than `max-layers` layer calls (LG604): checked
on the text and on the parse tree, walking it without recursion, before
any recursive stage sees it (legoc/core/limits.py holds the limits).
"""

from __future__ import annotations

from ..core.diagnostics import Span, SpecError, error
from ..core.limits import Limits
from .lalr import Tree


def check_file_size(text: str, file: str, limits: Limits) -> None:
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > limits.max_file_bytes:
        raise error(
            "LG601", Span(file, 1, 1, 1, 1), f"the file is {size:,} bytes, over the limit of {limits.max_file_bytes:,}",
            hint="raise `max-file-bytes` under [tool.legoc.limits] in pyproject.toml",
        )


# Tree nodes that nest in the user's terms: brackets and constructs that
# hold layers, and arithmetic operators.
_NESTING = frozenset({"group", "residual", "parallel", "repeat", "binop", "neg", "func"})


def check_size(tree: Tree, file: str, limits: Limits, count_only: bool = False) -> int:
    """Reject a parse tree nested deeper than `limits.max_nesting` (LG602)
    or with more than `limits.max_layers` layer calls (LG604), walking it
    without recursion, so that later, recursive stages stay well inside
    Python's recursion limit. Returns the number of layer calls; with
    `count_only`, only counts them (LG602 is still raised)."""
    layers = 0
    stack: list[tuple[Tree, int, bool]] = [(tree, 0, True)]  # node, depth outside it, whether it adds a level
    while stack:
        node, depth, counts = stack.pop()
        if node.data in _NESTING and counts:
            depth += 1
            if depth > limits.max_nesting:
                raise _too_deep(node, file, limits)
        elif node.data == "call":
            layers += 1
            if layers > limits.max_layers and not count_only:
                span = Span(file, node.line, node.column, node.line, node.column + 1)
                raise error("LG604", span, f"the file has more than {limits.max_layers:,} layer calls", hint="raise `max-layers` under [tool.legoc.limits]")
        # The `< ... >` of a residual or a repeat is on the same level as it.
        holder = node.data in ("residual", "repeat")
        stack.extend((child, depth, not (holder and child.data == "group")) for child in node.children if isinstance(child, Tree))
    return layers


def measure(tree: Tree, file: str, limits: Limits) -> tuple[int, SpecError | None]:
    """The number of layer calls in `tree`, and the error `check_size`
    meets first for nesting in it (LG602), if any: it walks in the same
    order."""
    layers, too_deep = 0, None
    stack: list[tuple[Tree, int, bool]] = [(tree, 0, True)]
    while stack:
        node, depth, counts = stack.pop()
        if node.data in _NESTING and counts:
            depth += 1
            if depth > limits.max_nesting and too_deep is None:
                too_deep = _too_deep(node, file, limits)
        elif node.data == "call":
            layers += 1
        holder = node.data in ("residual", "repeat")
        stack.extend((child, depth, not (holder and child.data == "group")) for child in node.children if isinstance(child, Tree))
    return layers, too_deep


def _too_deep(node: Tree, file: str, limits: Limits) -> SpecError:
    span = Span(file, node.line, node.column, node.line, node.column + 1)
    return error(
        "LG602", span, f"this is nested more than {limits.max_nesting} levels deep (brackets, residuals, repeats and operators)",
        hint="define a block for the inner part, or raise `max-nesting` under [tool.legoc.limits]",
    )
