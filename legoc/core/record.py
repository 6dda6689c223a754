"""The common base of the syntax tree's and the IR's classes.

Every node class is a `@dataclass(frozen=True, slots=True, eq=False,
repr=False)` deriving from `Record`, which supplies, once for all of them,
the `__eq__`, `__hash__` and `__repr__` that `@dataclass` would otherwise
generate for each class: equal when of the same class with equal compared
fields; hashed on those fields; shown as `Name(field=value, ...)`.

Why: on CPython 3.11, `@dataclass` compiles each generated method when
the class is created, about 0.2 ms a class for these three, at every
start-up; for legoc's 36 node classes that is a tenth of a lint of
ResNet-50 (docs/performance.md). legoc itself barely compares nodes (the
tests do), so the shared methods cost nothing that matters.
"""

from __future__ import annotations

from dataclasses import fields


class Record:
    """A frozen dataclass: equality, hash and repr over its fields,
    as `@dataclass` defines them (fields with `compare=False`, such as
    source spans, take no part in equality and hashing; fields with
    `repr=False` are not shown)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _compared(self) == _compared(other)

    def __hash__(self) -> int:
        return hash(_compared(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in (f.name for f in fields(self) if f.repr))
        return f"{type(self).__qualname__}({shown})"


def _compared(node: Record) -> tuple:
    return tuple(getattr(node, name) for name in (f.name for f in fields(node) if f.compare))
