"""Stage 1, syntax: .lego text to a syntax tree (LALR tables, the parser, error recovery).

See docs/architecture.md."""
