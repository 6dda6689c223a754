"""A definition's names: its layers' attribute names, and the Python identifiers its names become.

Checked before a definition's shapes, since they do not depend on them: a
layer name is a valid attribute, used once, and only where the layer is an
attribute of the definition's class (not inside a repeat, a named group, a
residual or a parallel); parameters, inputs, tensors and input sizes become
identifiers that Python does not mangle and that do not collide.
"""

from __future__ import annotations

from ..syntax import tree as s
from ..core.diagnostics import Note, Span, error
from ..core.naming import attribute_problem, local_ident, py_ident


def check_names(d: s.Definition) -> None:
    """A definition's layer names: valid attribute names, each used once, and
    only where the layer is an attribute of the definition's class."""
    seen: dict[str, Span] = {}
    in_repeat = "a repeat's repetitions are numbered 0, 1, ... in its nn.Sequential and cannot be named; name the repeat instead: `blocks: repeat ...`, or name the repetitions `layer1`, `layer2`, ... with an index: `repeat n as i layer: ...`"

    def visit(stmt, nameless: str | None) -> None:
        if isinstance(stmt, s.Named) and stmt.pattern:
            raise error(
                "LG217", stmt.name_span, f"a quoted name \"{stmt.name}\" names the repetitions of an indexed repeat, and only those",
                hint=f'write `repeat n as i "{stmt.name}": ...`, or name the layer without quotes',
            )
        if isinstance(stmt, s.Named):
            if nameless:
                raise error("LG204", stmt.name_span, nameless)
            problem = attribute_problem(stmt.name)
            if problem:
                raise error("LG205", stmt.name_span, problem, hint=f"call it `{stmt.name.strip('_')}_` or another name" if stmt.name.strip("_") else None)
            if stmt.name in seen:
                raise error("LG206", stmt.name_span, f"two layers are named `{stmt.name}`", notes=[Note(f"`{stmt.name}` is first used here", seen[stmt.name])])
            seen[stmt.name] = stmt.name_span
            if isinstance(stmt.layer, (s.Residual, s.Parallel)):
                what = "a residual" if isinstance(stmt.layer, s.Residual) else "a parallel"
                raise error(
                    "LG204",
                    stmt.name_span,
                    f"{what} has no module of its own to name: its layers are attributes of `{d.name}`; name those, "
                    "or put it in a block and name the call",
                )
            if isinstance(stmt.layer, s.Group) and _all_named(stmt.layer):  # an nn.Sequential with the names as keys
                keys: dict[str, Span] = {}
                for item in stmt.layer.body:
                    item = item.layer if isinstance(item, s.Conditional) else item
                    if item.name in keys:
                        raise error("LG206", item.name_span, f"two layers of `{stmt.name}` are named `{item.name}`", notes=[Note(f"`{item.name}` is first used here", keys[item.name])])
                    keys[item.name] = item.name_span
                    problem = attribute_problem(item.name)
                    if problem:
                        raise error("LG205", item.name_span, problem)
                    visit(item.layer, "a layer in a named layer of a named group is inside its module; name it in a block")
                return
            inner = (
                f"the layers of the named group `{stmt.name}` are numbered 0, 1, ... in its nn.Sequential; name all of them "
                "(their names are then its keys) or none"
            )
            visit(stmt.layer, inner if isinstance(stmt.layer, s.Group) else None)
        elif isinstance(stmt, s.Learned):
            problem = attribute_problem(stmt.name)
            if problem:
                raise error("LG205", stmt.name_span, problem)
            if stmt.name in seen:
                raise error("LG206", stmt.name_span, f"two layers are named `{stmt.name}`", notes=[Note(f"`{stmt.name}` is first used here", seen[stmt.name])])
            seen[stmt.name] = stmt.name_span
        elif isinstance(stmt, s.Group):
            for item in stmt.body:
                visit(item, nameless)
        elif isinstance(stmt, s.Residual):
            visit(stmt.body, nameless)
            if stmt.shortcut is not None:
                visit(stmt.shortcut, nameless)
        elif isinstance(stmt, s.Parallel):
            for branch in stmt.branches:
                for item in branch:
                    visit(item, nameless)
        elif isinstance(stmt, s.Repeat) and stmt.index is not None and isinstance(stmt.body, s.Named):
            # `repeat n as i denselayer: ...`: the repetitions are denselayer1 ... denselayerN
            problem = None if stmt.body.pattern else attribute_problem(stmt.body.name + "1")  # a pattern: checked with the index (indexed.py)
            if problem:
                raise error("LG205", stmt.body.name_span, problem)
            visit(stmt.body.layer, in_repeat)
        elif isinstance(stmt, s.Repeat):
            visit(stmt.body, in_repeat)
        elif isinstance(stmt, (s.Assign, s.Return)) or isinstance(stmt, s.Output) and stmt.value is not None:
            for stage in stmt.value.stages:  # type: ignore[union-attr]
                visit(stage, nameless)

    _check_python_names(d)
    for stmt in d.body:
        visit(stmt, None)


def _all_named(group: s.Group) -> bool:
    """Whether every statement of a named group names its layer (`a: ...`,
    `if t: a: ...`): the group is then an
    nn.Sequential with the names as keys, as torchvision's BottleneckTransform
    (an nn.Sequential of an OrderedDict)."""
    items = [i.layer if isinstance(i, s.Conditional) else i for i in group.body]
    return bool(items) and all(isinstance(i, s.Named) and not i.pattern and isinstance(i.layer, s.Call) for i in items)


def _check_python_names(d: s.Definition) -> None:
    """The names that become Python identifiers (parameters, inputs, tensors,
    symbolic input sizes): none starting with `__`, which Python mangles
    inside a class (a caller's `b(__p=2)` misses the parameter `__p_`, and
    `__debug_` would be `__debug__`), and no two that naming.py's trailing
    `_` makes one (`lambda` and `lambda_`, an input `H` and the size `H`)."""
    params = [(p.name, p.span) for p in d.params]
    inputs = [(n.id, n.span) for n in d.inputs or ()]
    inputs += [(st.name, st.span) for st in d.body if isinstance(st, s.Input) and st.name is not None]
    tensors = [(st.target, st.target_span) for st in d.body if isinstance(st, s.Assign)]
    tensors += [(st.name, st.name_span) for st in d.body if isinstance(st, s.Output)]
    sizes = [
        (dim.id, dim.span)
        for st in d.body
        if isinstance(st, s.Input)
        for dim in st.dims
        if isinstance(dim, s.Name) and dim.id not in {p.name for p in d.params}
    ]
    for what, names in (("a parameter", params), ("an input", inputs), ("a tensor", tensors), ("an input size", sizes)):
        for name, span in names:
            if name.startswith("__"):
                raise error("LG204", span, f"`{name}` starts with `__`, which Python mangles inside a class, so it cannot name {what}")
    _one_python_name(params, py_ident, "LG203", "parameters")
    _one_python_name(inputs + tensors, local_ident, "LG208", "tensors")
    _one_python_name(sizes, py_ident, "LG203", "input sizes")
    locals_ = {local_ident(name): name for name, _ in inputs}
    for name, span in sizes:
        if py_ident(name) in locals_:
            raise error(
                "LG204",
                span,
                f"the input size `{name}` and the input `{locals_[py_ident(name)]}` would both be `{py_ident(name)}` in forward",
                hint="rename one",
            )


def _one_python_name(names: list[tuple[str, Span]], ident, code: str, what: str) -> None:
    """No two of `names` that `ident` makes one identifier (error `code`)."""
    seen: dict[str, str] = {}
    for name, span in names:
        first = seen.setdefault(ident(name), name)
        if first != name:
            raise error(code, span, f"{what} `{first}` and `{name}` would both be `{ident(name)}` in the generated code", hint="rename one")
