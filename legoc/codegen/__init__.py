"""Stage 3, code generation: IR to one black-formatted PyTorch module.

See docs/architecture.md."""
