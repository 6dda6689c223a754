"""record.Record gives the syntax tree's and the IR's frozen dataclasses the
equality, hash and repr `@dataclass` would generate for them."""

from dataclasses import FrozenInstanceError, dataclass, field, fields, is_dataclass

import pytest

from legoc.ir import nodes as ir
from legoc.syntax import tree as syntax
from legoc.core.diagnostics import Span
from legoc.core.record import Record

SPAN = Span("a.lego", 1, 2, 1, 5)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Pair(Record):
    left: object
    right: object = 0
    span: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class GeneratedPair:  # the same fields, with the methods @dataclass generates
    left: object
    right: object = 0
    span: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OtherPair(Record):
    left: object
    right: object = 0


CASES = [(1, 2), ("x", (1, 2)), (None, [3]), (Pair(1), Pair(2, "s"))]


@pytest.mark.parametrize("left, right", CASES)
def test_repr_is_what_dataclass_writes(left, right):
    ours, theirs = repr(Pair(left, right, SPAN)), repr(GeneratedPair(left, right, SPAN))
    assert ours == theirs.replace("GeneratedPair", "Pair")


def test_equality_and_hash_are_what_dataclass_defines():
    assert Pair(1, 2, SPAN) == Pair(1, 2, None)  # compare=False fields take no part
    assert hash(Pair(1, 2, SPAN)) == hash(Pair(1, 2, None))
    assert Pair(1, 2) != Pair(1, 3)
    assert Pair(1, 2) != OtherPair(1, 2)  # another class is never equal, as with @dataclass
    assert Pair(1, 2) != (1, 2)
    assert (Pair(1, 2) == GeneratedPair(1, 2)) is (GeneratedPair(1, 2) == Pair(1, 2)) is False
    assert len({Pair(1, 2), Pair(1, 2, SPAN), Pair(2, 1)}) == 2


def test_records_stay_frozen_dataclasses():
    record = Pair(1, 2)
    with pytest.raises(FrozenInstanceError):
        record.left = 3  # type: ignore[misc]
    assert is_dataclass(record) and [f.name for f in fields(record)] == ["left", "right", "span"]


def test_every_syntax_and_ir_class_is_a_record():
    for module in (syntax, ir):
        classes = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__]
        assert classes and all(is_dataclass(c) and issubclass(c, Record) for c in classes if c is not Record)
        for c in classes:  # no per-class methods: they would be generated at every start-up
            assert not {"__eq__", "__repr__"} & set(vars(c)), c


def test_spans_are_left_out_of_syntax_equality():
    assert syntax.Name("x", SPAN) == syntax.Name("x", None)
    assert repr(syntax.Name("x", SPAN)) == "Name(id='x')"


def test_nodes_are_frozen_in_the_tests_and_not_on_the_command_line():
    """`record.node` freezes the classes where LEGOC_FROZEN_NODES is set (the
    tests: conftest.py), so that a stray assignment to a built node fails
    here; without it (the command line) they are plain slotted dataclasses,
    which are cheaper to create at start-up."""
    import subprocess
    import sys

    call = syntax.Name("x", SPAN)
    with pytest.raises(FrozenInstanceError):
        call.id = "y"  # type: ignore[misc]
    probe = (
        "from legoc.syntax import tree\n"
        "n = tree.Name('x')\n"
        "n.id = 'y'\n"
        "print(n.id, tree.Name.__dataclass_params__.frozen)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "LEGOC_FROZEN_NODES"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["y", "False"]
