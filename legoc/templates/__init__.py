"""Data: the Jinja templates of the generated module, read by legoc/core/resources.py (compiled into legoc/codegen/_templates/ by `python -m legoc.tools.prebuild`)."""
