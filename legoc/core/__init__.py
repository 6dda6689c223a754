"""Foundations every stage uses: diagnostics and their codes, resource limits, records, data files, Python names.

See docs/architecture.md."""
