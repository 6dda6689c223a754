"""The common base of the syntax tree's and the IR's classes.

Every node class is a `@node` (a `@dataclass(slots=True, eq=False,
repr=False)`, frozen in the tests: `FROZEN`) deriving from `Record`, which supplies, once for all of them,
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

import os
from dataclasses import dataclass, fields

FROZEN = os.environ.get("LEGOC_FROZEN_NODES", "") not in ("", "0")
"""Whether node classes are frozen (`dataclasses.FrozenInstanceError` on
assignment). legoc never assigns to a node after building it; the tests
set LEGOC_FROZEN_NODES=1 (tests/conftest.py) so that an assignment that
slips in fails there, and the command line leaves it unset: a frozen
dataclass costs about 0.09 ms more to create at import (its `__setattr__`
and `__delattr__` are compiled for it), about 4 ms of every start-up over
the syntax tree's and the IR's classes (docs/performance.md)."""

# Not `from typing import TYPE_CHECKING`: importing typing would slow every
# start-up (legoc/__init__.py); type checkers read this constant as typing's.
TYPE_CHECKING = False
# Type checkers see `@node` as the dataclass decorator it is (PEP 681), and so
# each node class's fields as its constructor's parameters.
if TYPE_CHECKING:
    from typing import TypeVar

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")

    @dataclass_transform(eq_default=False)
    def node(cls: type[_T], /) -> type[_T]:
        """The decorator of every syntax-tree and IR class."""
        ...

else:
    node = dataclass(frozen=FROZEN, slots=True, eq=False, repr=False)
    """The decorator of every syntax-tree and IR class: `@node class X(Record)`."""


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


def field_values(node: Record) -> dict[str, object]:
    """The fields a node is built from (those of its `__init__`), by name,
    with their values: `dataclasses.replace(node, **changed)` rebuilds it."""
    return {name: getattr(node, name) for name in (f.name for f in fields(node) if f.init)}  # type: ignore[arg-type]
