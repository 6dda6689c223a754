"""The intermediate representation: symbolic sizes and the IR nodes that analysis builds and code generation reads.

See docs/architecture.md."""
