"""Resource limits: how big a spec legoc accepts, so that no input, however
large or hostile, makes it crash, hang or run out of memory.

Each limit gives an error with its own code (LG601-LG606) at the place that
crosses it, and can be raised or lowered under `[tool.legoc.limits]` in
pyproject.toml:

    [tool.legoc.limits]
    max-file-bytes = 4000000
    max-nesting = 100

docs/reliability.md lists them with their defaults and reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """The limits a compilation runs under.

    Attributes:
        max_file_bytes: the size of one spec file, in bytes of UTF-8 (LG601).
        max_nesting: how deeply brackets, residuals, parallels, repeats and
            arithmetic operators may nest inside one another (LG602).
        max_call_depth: how deeply block calls may nest: a block calling a
            block calling a block... (LG603).
        max_layers: layer calls in one file, counted in the text, before
            blocks and repeats multiply them (LG604).
        max_repeat: the count of one `repeat` (LG605).
        max_size: any one size: a channel or feature count, a spatial size, a
            number in the spec (LG606). A tensor's element count and a
            model's parameter count must fit in a signed 64-bit integer
            (torch's `numel`) whatever this is.
    """

    max_file_bytes: int = 4_000_000
    max_nesting: int = 100
    max_call_depth: int = 50
    max_layers: int = 100_000
    max_repeat: int = 10_000
    max_size: int = 2**31 - 1

    @staticmethod
    def setting(name: str) -> str:
        """The pyproject.toml key of a field: `max_file_bytes` -> `max-file-bytes`."""
        return name.replace("_", "-")


DEFAULT = Limits()

SETTINGS = {Limits.setting(f.name): f.name for f in fields(Limits)}
"""pyproject.toml key -> field name."""
