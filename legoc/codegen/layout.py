"""How a generated class holds its modules: which blocks are `nn.Sequential`
subclasses, what each submodule is called, and the order `__init__`
registers them in (which is the order of the `state_dict`).

Code generation and the state_dict layout (statedict.py) both read this, so
the attribute names in generated code and the keys `legoc state-dict`
prints agree by construction. docs/language.md ("Names and state_dict
keys") states the rules for users.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..ir.nodes import Bind, ClassIR, Conditional, Layer, Node, Parallel, Repeat, Residual, Sequential
from ..core.naming import MODULE_ATTRS, class_name, py_ident
from .helpers import used_helpers


def class_names(classes: tuple[ClassIR, ...]) -> dict[str, str]:
    """The generated class of each definition, by DSL name: PascalCase
    (`conv3x3_bn_act` -> `Conv3x3BnAct`), numbered on a clash. A model keeps
    its own name; a block yields to it, to `nn` and `torch`, and to every
    constructor argument, since callers' `__init__` calls it by name
    (`model M(Foo=4)` calling `foo` gets `Foo2(3, Foo)`). Both yield to
    the helper classes the program uses (helpers.py: `StochasticDepth`)."""
    names: dict[str, str] = {}
    taken: set[str] = {"nn", "torch", *used_helpers(classes)}
    arguments = {p.code for ir in classes for p in ir.params} | {sym.code for ir in classes for sym in ir.size_params}
    for ir in sorted(classes, key=lambda c: c.kind != "model"):
        base = class_name(ir.name)
        name, n = base, 2
        while name in taken or ir.kind == "block" and name in arguments:
            name, n = f"{base}{n}", n + 1
        taken.add(name)
        names[ir.name] = name
    return names


def is_sequential(ir: ClassIR) -> bool:
    """Whether a block is generated as an `nn.Sequential` subclass.

    A block (never a model) is, when its body is layers and repeats run one
    after another: no named layer, residual, parallel branch, rearrange or
    named tensor, and no recurrent layer whose output forward must unpack.
    Its modules are then numbered 0, 1, ... (a repeat takes one number per
    repetition, a conditional's layers a number each where it holds), as
    torchvision's `Conv2dNormActivation` and ResNet stages are. A block
    whose body is one repeat with named repetitions (`repeat n as i
    "block{s}-{i}": ...`) is too, holding them under their names.
    """
    if ir.kind == "block" and len(ir.body) == 1 and isinstance(ir.body[0], Repeat) and ir.body[0].name is None and ir.body[0].each is not None:
        return True  # only named repetitions: the block holds them by name (torchvision's AnyStage, _DenseBlock)
    return (
        ir.kind == "block"
        and not ir.graph
        and all(
            isinstance(n, Repeat) and n.name is None and n.each is None
            or isinstance(n, Layer) and n.apply == "call" and n.name is None
            or isinstance(n, Conditional) and all(isinstance(c, Layer) and c.name is None for c in n.body)
            for n in ir.body
        )
    )


def keyed(node: Sequential) -> bool:
    """Whether a named group names its layers (`f: < a: ...; b: ... >`): an
    nn.Sequential whose modules are added under the names (analysis/names.py
    has checked that all or none are named)."""
    return any(getattr(n, "name", None) is not None for n in node.body) or any(
        c.name is not None for n in node.body if isinstance(n, Conditional) for c in n.body  # type: ignore[union-attr]
    )


def registered(body: tuple[Node, ...]) -> Iterator[Node]:
    """The nodes that own a module of a (non-Sequential) class, in the order
    `__init__` assigns them: forward order, except that a residual's
    shortcut comes after its body (torchvision's `downsample` follows `bn2`),
    or before it where the spec writes it first (`res add shortcut P < ... >`).
    A residual stands for its shortcut; a dataflow binding contributes its
    joining block, if any, then its stages.

    Walks with an explicit stack: nested generators would make deep
    nesting quadratic."""
    stack: list[tuple[Node, bool]] = [(n, False) for n in reversed(body)]  # node, whether its body is done
    while stack:
        n, done = stack.pop()
        if done or isinstance(n, (Layer, Repeat, Sequential)):
            yield n
        elif isinstance(n, Residual):
            if n.projection is not None and not n.shortcut_first:
                stack.append((n, True))
            stack += [(c, False) for c in reversed(n.body)]
            if n.projection is not None and n.shortcut_first:  # `res add shortcut P < body >`: P first
                stack.append((n, True))
        elif isinstance(n, Conditional):
            stack += [(c, False) for c in reversed(n.body)]
        elif isinstance(n, Parallel):
            for branch in reversed(n.branches):
                stack += [(c, False) for c in reversed(branch)]
        elif isinstance(n, Bind):
            stack += [(c, False) for c in reversed(n.stages)]
            if isinstance(n.join, Layer):
                yield n.join


def spec_name(node: Node) -> str | None:
    """The name the spec gave a module-owning node, if any."""
    if isinstance(node, Residual):
        return node.shortcut_name
    if isinstance(node, (Layer, Repeat, Sequential)):
        return node.name
    return None


def attribute_names(body: tuple[Node, ...], taken: set[str] = frozenset()) -> dict[int, str]:  # type: ignore[assignment]
    """The attribute name of each module-owning node, keyed by `id(node)`.

    A name the spec gives is kept as it is (legoc/analysis/names.py has checked it). An
    unnamed module is named after its layer (`conv`, `basic_blocks` for a
    repeat, `shortcut` for a residual's projection), numbered in order when
    several share that name (`conv1`, `conv2`), and moved aside (`conv_2`)
    when the spec or `taken` already uses the name.
    """
    owners = list(registered(body))
    explicit = {name for n in owners if (name := spec_name(n)) is not None}
    used = set(taken) | explicit
    hints = {id(n): _hint(n) for n in owners if spec_name(n) is None}
    counts: dict[str, int] = {}
    for hint in hints.values():
        counts[hint] = counts.get(hint, 0) + 1
    seen: dict[str, int] = {}
    names: dict[int, str] = {}
    for n in owners:
        name = spec_name(n)
        if name is not None:
            names[id(n)] = name
            continue
        hint = hints[id(n)]
        base = py_ident(hint)
        if base in MODULE_ATTRS:
            base += "_"
        if base.startswith("__"):  # a block `__x`: Python would mangle `self.__x_`
            base = "_" + base.lstrip("_")
        if counts[hint] > 1:
            seen[hint] = seen.get(hint, 0) + 1
            base = f"{base}{seen[hint]}"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[id(n)] = name
    return names


def _hint(node: Node) -> str:
    if isinstance(node, Residual):
        return "shortcut"
    return node.hint  # type: ignore[union-attr]
