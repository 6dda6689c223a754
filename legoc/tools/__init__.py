"""The commands around the compiler: build, check, summary, graph, state-dict, and what they share.

Each command's module adds its options to its subparser (`add_arguments`)
and runs it (`run`); legoc/cli.py wires them. See docs/architecture.md."""
