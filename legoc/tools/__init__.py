"""The commands around the compiler: check, summary, graph, state-dict, and what they share.

See docs/architecture.md."""
