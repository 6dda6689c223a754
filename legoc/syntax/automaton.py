"""The parser of legoc's grammar, built once per process.

It runs the tables prebuilt into legoc/syntax/_parse_tables.py (by
`python -m legoc.tools.prebuild`) with legoc.syntax.lalr, so that parsing
never imports Lark; only when those tables were made from another grammar
does it ask Lark to analyse legoc/grammar/legoc.lark now (legoc.syntax.tables).
"""

from __future__ import annotations

from functools import lru_cache

from ..core.resources import read_text
from .lalr import Parser


@lru_cache(maxsize=None)
def lalr_parser() -> Parser:
    """The parser, once per process: the tables in legoc/syntax/_parse_tables.py
    (written by `python -m legoc.tools.prebuild`) when they were made from this
    grammar, else the grammar analysed by Lark now (slow, not wrong)."""
    from . import _parse_tables

    if _parse_tables.GRAMMAR == read_text("grammar", "legoc.lark"):
        return Parser(vars(_parse_tables))
    from .tables import tables

    return Parser(tables())
