"""Stage 2, analysis: the syntax tree to IR, with static shape inference and lint warnings.

See docs/architecture.md."""
