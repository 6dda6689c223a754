"""Code generation: analysed IR to one black-formatted PyTorch module.

Python decides names and lines here; the Jinja templates under `templates/`
hold the file's layout (loaded precompiled: legoc/tools/prebuild.py). jinja2 and
black are imported only when generating.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Generic, TypeVar

from ..core.version import __version__
from ..ir import symbolic as sy
from ..analysis.infer import Analysis
from .formatting import LINE_LENGTH as _LINE_LENGTH
from .formatting import Piece, format_pieces
from ..ir.nodes import ELEMENTWISE, Bind, ClassIR, Conditional, Ctor, Layer, Method, Node, Parallel, Repeat, Residual, Sequential, Shape, bodies, walk
from .helpers import HELPERS, used_helpers
from .inplace import fresh_ctor, inplace_relus, is_relu
from .products import PRODUCT_JOINS, product_call
from .layout import attribute_names, class_names, is_sequential, keyed, registered
from .expressions import arg_symbols, args_text, index_text, renamed, value_text
from .text import comment_safe, doc_lines, docstring_text, module_docstring, repetition_name, shape_text
from .tensors import expanded, parameter_ctor
from .checks import input_checks
from .recurrent import is_state_call, state_call
from ..core.naming import MODULE_ATTRS, py_ident
from ..core.resources import read_text

_FORWARD_INDENT = " " * 8
_ITEM_INDENT = " " * 12  # an item of an nn.Sequential(...) call in __init__


T = TypeVar("T")


@dataclass(frozen=True)
class _ClassCode(Generic[T]):
    """One class's code, part by part: a formatting.Piece each before
    formatting, the final (indented) text each after, which the class
    template renders."""

    header: T
    docstring: T
    init_def: T
    init_lines: tuple[T, ...]
    forward_def: T | None
    forward_lines: tuple[T, ...]

    def parts(self) -> list[T]:
        forward = [self.forward_def, *self.forward_lines] if self.forward_def is not None else []
        return [self.header, self.docstring, self.init_def, *self.init_lines, *forward]

    def with_texts(self, texts: list[str]) -> "_ClassCode[str]":
        """The same class with `texts` (in the order of `parts()`) for its parts."""
        n = len(self.init_lines)
        init, forward = texts[3 : 3 + n], texts[3 + n :]
        if self.forward_def is None:
            return _ClassCode(texts[0], texts[1], texts[2], tuple(init), None, ())
        return _ClassCode(texts[0], texts[1], texts[2], tuple(init), forward[0], tuple(forward[1:]))


def generate(analysis: Analysis, source_name: str) -> str:
    """Render the analysed program as Python source in black's format
    (formatting.py: black formats what the writer does not write in its
    style already).

    Args:
        analysis: the result of `infer.analyze`.
        source_name: the spec's file name, for the header.

    Raises:
        RuntimeError: black rejected a piece (a legoc bug); the message
            holds it. That every output is valid, black-clean Python is
            checked by the tests (examples, golden files, hostile, random
            and fuzzed specs), not here: parsing the output again would be
            a third of a 10,000-layer build.
    """
    names = class_names(analysis.classes)
    classes = [_class_pieces(ir, names, analysis.defaults.get(ir.name) if ir.kind == "model" else None) for ir in analysis.classes]
    helpers = used_helpers(analysis.classes)
    uses_torch = bool(helpers) or any("torch." in p.text for c in classes for p in (*c.forward_lines, *c.init_lines))
    typed = any(c.forward_def is not None for c in classes)  # forward's `x: Tensor`, as torchvision annotates it
    imports = (["import torch"] if uses_torch else []) + ["from torch import Tensor, nn" if typed else "from torch import nn"]
    if any("_make_divisible(" in p.text for c in classes for p in c.parts() if p is not None):
        helpers.insert(0, "_make_divisible")  # a width multiplier's make_divisible: torchvision's function
    public = sorted(names[ir.name] for ir in analysis.classes if ir.public)  # the models and `public block`s, as ruff's RUF022 sorts
    exported = Piece(0, "__all__ = [" + ", ".join(f'"{name}"' for name in public) + "]")
    texts = format_pieces([exported] + [p for c in classes for p in c.parts()])
    views, at = [], 1
    for c in classes:
        size = len(c.parts())
        views.append(c.with_texts(texts[at : at + size]))
        at += size
    env = _environment()
    models = [ir.name for ir in analysis.classes if ir.kind == "model"]
    summary = "PyTorch modules for " + (", ".join(names[m] for m in models) if models else "the spec's blocks") + "."
    text = env.get_template("module.py.j2").render(
        version=__version__,
        source=comment_safe(source_name),
        summary=module_docstring(summary),
        imports=imports,
        exported=texts[0],
        helpers=[HELPERS[name] for name in helpers],
        classes=views,
    )
    return text


TEMPLATES = ("module.py.j2", "class.py.j2")
# Jinja's settings for them (legoc/tools/prebuild.py compiles them with the same).
TEMPLATE_OPTIONS = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True, "autoescape": False}


@lru_cache(maxsize=None)
def _environment():
    """The Jinja environment, once per process: Jinja's ModuleLoader keeps
    its templates' package in sys.modules only while the loader lives."""
    return _make_environment()


def _make_environment():
    """A Jinja environment for the templates: loading them precompiled from
    legoc/codegen/_templates (legoc/tools/prebuild.py) where those were compiled from
    these very templates by this Jinja version, else compiling them."""
    import jinja2

    try:
        from . import _templates as compiled
    except ImportError:  # pragma: no cover - the directory ships with legoc
        compiled = None
    current = compiled is not None and compiled.JINJA_VERSION == jinja2.__version__
    if current and all(compiled.SOURCES.get(name) == read_text("templates", name) for name in TEMPLATES):
        loader = jinja2.ModuleLoader(str(Path(compiled.__file__).parent))
    else:
        loader = jinja2.FunctionLoader(lambda name: read_text("templates", name))
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, **TEMPLATE_OPTIONS)


class _Writer:
    """Builds one class's `__init__` and `forward` lines."""

    def __init__(self, ir: ClassIR, names: dict[str, str]):
        self.names = names
        self.init: list[str] = []
        self.forward: list[str] = []
        # Constructor arguments that forward needs (rearrange sizes) are kept
        # as attributes of the same name, moved aside from the layers' names
        # (which statedict.py computes the same way) and from nn.Module's own.
        kept = sorted(
            {sym.code for n in walk(ir.body) if isinstance(n, Method) for _, args in n.ops for sym in arg_symbols(args)}
            | {sym.code for n in walk(ir.body) if isinstance(n, Bind) for sym in arg_symbols((*n.sizes, *(v for _, v in n.options)))}
            | {sym.code for r in ir.dim_rules if r.cond is not None for sym in sy.free_symbols(r.cond) if sym.key.startswith("p:")}
        )
        self.attrs = attribute_names(ir.body)
        taken = set(self.attrs.values()) | MODULE_ATTRS
        self.kept: dict[str, str] = {}
        for code in kept:
            attr, k = code, 2
            while attr in taken:
                attr, k = f"{code}_{k}", k + 1
            taken.add(attr)
            self.kept[code] = attr
        self.locals: set[str] = {"x", "self", "torch", "nn"}
        self.next_index: dict[str, int] = {}
        self.sizes: dict[str, str] = {}  # input sizes read into locals: `H` -> `h` (checks.py, products.py)
        self.shape_text: dict[Shape, str] = {}
        self.inplace = inplace_relus(ir.body)
        self.locals |= {p.code for p in ir.inputs} | {n.target for n in ir.body if isinstance(n, Bind)}
        self.locals |= {code for n in ir.body if isinstance(n, Bind) for code, _ in n.parts}
        # Modules built only under a condition (`if c: layer`), and the
        # attribute that holds each optional residual's `use_res_connect`.
        self.condition: dict[int, Expr] = {id(c): n.cond for n in walk(ir.body) if isinstance(n, Conditional) for c in n.body}
        self.flags: dict[int, str] = {}
        for n in walk(ir.body):
            if isinstance(n, Residual) and n.skip != sy.TRUE and n.skip != sy.FALSE:
                attr, k = "use_res_connect", 2
                while attr in taken:
                    attr, k = f"use_res_connect_{k}", k + 1
                taken.add(attr)
                self.flags[id(n)] = attr
        self.indent = ""  # forward lines inside an `if`
        self.batched = True  # whether the shapes written now have the batch axis

    def line(self, code: str, shape: Shape | None = None) -> None:
        """Add a forward line, with the shape after it as a trailing comment,
        or as a comment line above it where the two would not fit in 88
        columns (black would otherwise wrap the call around the comment)."""
        code = self.indent + code
        if shape is None:
            self.forward.append(code)
        elif len(_FORWARD_INDENT) + len(code) + 4 + len(self.shape(shape)) <= _LINE_LENGTH:
            self.forward.append(f"{code}  # {self.shape(shape)}")
        else:
            self.forward += [f"{self.indent}# {self.shape(shape)}", code]

    def shape(self, shape: Shape) -> str:
        """`shape_text(shape)`, remembered: a model's shapes repeat."""
        text = self.shape_text.get(shape) if self.batched else "[" + shape_text(shape)[4:]  # [T, 768]: no batch axis
        if text is None:
            text = self.shape_text[shape] = shape_text(shape)
        return text

    def fresh(self, base: str) -> str:
        """The first of `base`, `base_1`, `base_2`, ... not yet a local name
        (searching from where the last search for `base` ended: names only
        ever become taken, so the earlier ones still are)."""
        k = self.next_index.get(base, 0)
        while (name := f"{base}_{k}" if k else base) in self.locals:
            k += 1
        self.next_index[base] = k + 1
        self.locals.add(name)
        return name

    def register(self, node: Node) -> None:
        """The `__init__` lines that build one module-owning node (under an
        `if`, the attribute first set to None, typed `nn.Module | None`)."""
        cond = self.condition.get(id(node))
        if cond is None:
            self.build(node)
            return
        start = len(self.init)
        self.build(node)
        built = ["\n".join("    " + line for line in code.split("\n")) for code in self.init[start:]]
        self.init[start:] = [f"self.{self.attrs[id(node)]}: nn.Module | None = None", f"if {sy.to_text(cond, code=True)}:", *built]

    def build(self, node: Node) -> None:
        """The `__init__` lines that build one module-owning node, always."""
        attr = self.attrs[id(node)]
        if isinstance(node, Layer):
            self.init.append(f"self.{attr} = {self.ctor(node.ctor, id(node) in self.inplace)}")
        elif isinstance(node, Repeat) and node.each is not None:
            self.init.append(f"self.{attr} = nn.Sequential()")
            self.named_repetitions(node, f"self.{attr}")
        elif isinstance(node, Repeat):
            self.init.append(f"self.{attr} = nn.Sequential({self.repeated(node)})")
        elif isinstance(node, Sequential) and keyed(node):  # keys as torchvision's nn.Sequential(OrderedDict(...))
            self.init.append(f"self.{attr} = nn.Sequential()")
            for item in node.body:
                if isinstance(item, Conditional):
                    self.init.append(f"if {sy.to_text(item.cond, code=True)}:")
                    self.init += [f'    self.{attr}.add_module("{n.name}", {self.ctor(n.ctor, id(n) in self.inplace)})' for n in item.body]  # type: ignore[union-attr]
                else:
                    self.init.append(f'self.{attr}.add_module("{item.name}", {self.ctor(item.ctor, id(item) in self.inplace)})')  # type: ignore[union-attr]
        elif isinstance(node, Sequential):
            self.init.append("\n".join([f"self.{attr} = nn.Sequential(", *self.items(node.body), ")"]))
        else:
            assert isinstance(node, Residual) and node.projection is not None
            built = self.ctor(node.projection)
            if node.needs_projection == sy.TRUE:
                self.init.append(f"self.{attr} = {built}")
            else:
                # None, or the module: typed for mypy, as torchvision's `downsample: Optional[nn.Module]`
                self.init += [f"self.{attr}: nn.Module | None = None", f"if {sy.to_text(node.needs_projection, code=True)}:", f"    self.{attr} = {built}"]

    def named_repetitions(self, node: Repeat, owner: str) -> None:
        """The loop that adds named repetitions to `owner`, as torchvision's
        DenseNet and RegNet do: `owner.add_module(f"denselayer{i + 1}", ...)`."""
        i = sy.to_text(node.index, code=True)  # type: ignore[arg-type]
        self.init.append(f"for {i} in range({sy.to_text(node.count, code=True)}):")
        built = self.ctor(node.first) if node.rest is None else f"{self.ctor(node.first)} if {i} == 0 else {self.ctor(node.rest)}"
        self.init.append(f"    {owner}.add_module({repetition_name(node.each)}, {built})")  # type: ignore[arg-type]

    def repeated(self, node: Repeat, split: bool = False):
        """A repeat's modules as arguments of nn.Sequential(...): one string,
        or with `split` a list of the (one or two) arguments.

        Where the first repetition is built differently, it is an argument
        of its own: the module itself for a count known to be at least 1,
        else a comprehension over `range(min(n, 1))`, so that the class
        builds exactly `n` repetitions for every `n` it is given, 0 included."""
        count = sy.to_text(node.count, code=True)
        if node.rest is None:
            i = "_" if node.index is None else sy.to_text(node.index, code=True)
            parts = [f"*({self.ctor(node.first)} for {i} in range({count}))"]
        else:
            once = sy.minimum(node.count, sy.ONE)
            first = self.ctor(node.first)
            if once != sy.ONE:
                first = f"*({first} for _ in range({sy.to_text(once, code=True)}))"
            rest = sy.to_text(sy.sub(node.count, 1), code=True)
            if node.index is None:
                parts = [first, f"*({self.ctor(node.rest)} for _ in range({rest}))"]
            else:  # the others see their index
                parts = [first, f"*({self.ctor(node.rest)} for {sy.to_text(node.index, code=True)} in range(1, {count}))"]
        return parts if split else ", ".join(parts)

    def items(self, nodes: tuple[Node, ...]) -> list[str]:
        """The arguments of an nn.Sequential(...) call, one module (or one
        repeat) a line, each with the shape after it as a comment."""
        lines = []
        for node in nodes:
            if isinstance(node, Conditional):  # its layers where the condition holds: torchvision's `layers.append`
                modules = ", ".join(self.ctor(n.ctor, id(n) in self.inplace) for n in node.body)  # type: ignore[union-attr]
                lines += [f"    # {self.shape(node.out)}", f"    *([{modules}] if {sy.to_text(node.cond, code=True)} else []),"]
                continue
            # A repeat whose first module differs gives two arguments, each
            # on its own line as black puts them, the comment after the last.
            *first, code = self.repeated(node, split=True) if isinstance(node, Repeat) else [self.ctor(node.ctor, id(node) in self.inplace)]  # type: ignore[union-attr]
            comment = f"# {self.shape(node.out)}"  # type: ignore[union-attr]
            if len(_ITEM_INDENT) + len(code) + 3 + len(comment) <= _LINE_LENGTH:
                lines += [f"    {c}," for c in first] + [f"    {code},  {comment}"]
            else:
                lines += [f"    {comment}", *(f"    {c}," for c in first), f"    {code},"]
        return lines

    def ctor(self, c: Ctor, inplace: bool = False) -> str:
        """A constructor call; `inplace`: a ReLU that may overwrite its input."""
        if c.kind == "param":
            return f"{c.target}()"
        if c.kind == "tensor":  # a learned tensor: nn.Parameter(torch.full((C, 1, 1), init)), torch.zeros(...), ...
            return parameter_ctor(c, value_text)
        if c.kind == "sequential":
            items = [self.ctor(a, is_relu(a) and fresh_ctor(prev)) for prev, a in zip((None, *c.args), c.args)]  # type: ignore[arg-type]
            return f"nn.Sequential({', '.join(items)})"
        target = self.names[c.target] if c.kind == "block" else c.target
        # A block's keywords are its parameters' DSL names; the class takes
        # them under their Python names (`lambda` -> `lambda_`, as analysis does).
        keys = [py_ident(k) if c.kind == "block" else k for k, _ in c.kwargs]
        args = [value_text(a) for a in c.args] + [f"{k}={value_text(v)}" for k, (_, v) in zip(keys, c.kwargs)]  # type: ignore[arg-type]
        if inplace:
            args.append("inplace=True")
        return f"{target}({', '.join(args)})"

    def nodes(self, nodes: tuple[Node, ...], src: str, dst: str) -> None:
        for node in nodes:
            self.node(node, src, dst)
            src = dst

    def node(self, node: Node, src: str, dst: str) -> None:
        if isinstance(node, Layer):
            attr = self.attrs[id(node)]
            if node.apply == "tensor":
                return  # a learned tensor: an operand, read as self.<name>
            if node.apply == "call":
                self.line(f"{dst} = self.{attr}({src})", node.out)
            elif node.apply == "sequence":
                self.line(f"{dst}, _ = self.{attr}({src})", node.out)
            elif node.apply == "attention":  # nn.MultiheadAttention as torchvision's ViT calls it
                self.line(f"{dst}, _ = self.{attr}({src}, {src}, {src}, need_weights=False)", node.out)
            else:
                hidden = self.fresh("hidden")
                state = f"({hidden}, _)" if node.apply == "lstm_hidden" else hidden
                self.line(f"_, {state} = self.{attr}({src})")
                both = sy.value_of(dict(node.ctor.kwargs).get("bidirectional", sy.FALSE))  # type: ignore[arg-type]
                last = f"torch.cat([{hidden}[-2], {hidden}[-1]], dim=1)" if both else f"{hidden}[-1]"
                self.line(f"{dst} = {last}", node.out)
        elif isinstance(node, Method):
            from ..analysis.patterns import REDUCTIONS  # here: only rearrange and reduce make methods

            as_attrs = {code: f"self.{attr}" for code, attr in self.kept.items()}
            render = lambda args: args_text(args, as_attrs)  # noqa: E731
            if len(node.ops) == 1 and node.ops[0][0] in ELEMENTWISE:  # `mul 0.5`: x * 0.5
                (name, (value,)), = node.ops
                self.line(f"{dst} = {src} {ELEMENTWISE[name]} {sy.operand_text(renamed(value, as_attrs))}", node.out)
                return
            if len(node.ops) == 1 and node.ops[0][0] in ("select", "slice"):  # `select 0`: x[:, 0]
                self.line(f"{dst} = {src}[{index_text(node.ops[0], as_attrs)}]", node.out)
                return
            if len(node.ops) == 1 and node.ops[0][0] == "roll":  # torch.roll(x, shifts=(-3, -3), dims=(1, 2))
                self.line(f"{dst} = torch.roll({src}, shifts={render(node.ops[0][1][:1])}, dims={render(node.ops[0][1][1:])})", node.out)
                return
            chain = "".join(
                f".{name}(dim={render(args)})" if name in REDUCTIONS.values() else f".{name}({render(args)})" for name, args in node.ops
            )
            if chain:
                self.line(f"{dst} = {src}{chain}", node.out)
            elif src != dst:
                self.line(f"{dst} = {src}", node.out)
        elif isinstance(node, (Repeat, Sequential)):
            self.line(f"{dst} = self.{self.attrs[id(node)]}({src})", node.out)
        elif isinstance(node, Residual):
            self.residual(node, src, dst)
        elif isinstance(node, Conditional):
            if src != dst:
                self.line(f"{dst} = {src}")
            self.line(f"if self.{self.attrs[id(node.body[0])]} is not None:")
            self.indent += "    "
            self.nodes(node.body, dst, dst)
            self.indent = self.indent[:-4]
        elif isinstance(node, Parallel):
            self.parallel(node, src, dst)
        else:
            self.bind(node)

    def bind(self, node: Bind) -> None:
        """`target = (sources) -> join -> stages` as plain assignments."""
        target, src = node.target, node.sources[0]
        if is_state_call(node.join):  # `(y, h, c) = (x, h0, c0) -> lstm 64`: recurrent.py
            whole = node.unpack and not node.stages
            state_call(node.join, self.attrs[id(node.join)], node.sources, node.parts if whole else (), target, self.line)  # type: ignore[arg-type]
            if whole:
                return None
        if node.unpack and not node.stages:  # `y, skip = self.down(a, b)`: the block joins the tuple
            return self.split(node, f"self.{self.attrs[id(node.join)]}({', '.join(node.sources)})")
        stages = node.stages[:-1] if node.unpack else node.stages
        if is_state_call(node.join):
            src = target
        elif isinstance(node.join, Layer):
            attr = self.attrs[id(node.join)]
            self.line(f"{target} = self.{attr}({', '.join(node.sources)})", node.joined)
            src = target
        elif node.join == "cat":
            sources = expanded(node, self.fresh, self.line)  # a class token: `self.class_token.expand(n, -1, -1)`
            self.line(f"{target} = torch.cat([{', '.join(sources)}], dim=1)", node.joined)
            src = target
        elif node.join in ELEMENTWISE:
            self.line(f"{target} = {f' {ELEMENTWISE[node.join]} '.join(node.sources)}", node.joined)
            src = target
        elif node.join in PRODUCT_JOINS:
            self.batched = not node.batchless
            *before, call = product_call(node, {code: f"self.{attr}" for code, attr in self.kept.items()}, self.sizes, self.fresh)
            self.forward += [self.indent + line for line in before]
            self.line(f"{target} = {call}", node.joined)
            src = target
        elif not node.stages and src != target:
            self.line(f"{target} = {src}", node.out)
        self.batched = not node.batchless  # positions (analysis/positions.py) have no batch axis
        self.nodes(stages, src, target)
        self.batched = True
        if node.unpack and is_state_call(node.stages[-1]):  # `(y, h, c) = x -> lstm 64`: from the zero state
            state_call(node.stages[-1], self.attrs[id(node.stages[-1])], (target if stages or node.join is not None else src,), node.parts, target, self.line)  # type: ignore[arg-type]
        elif node.unpack:  # `y, skip = self.down(x)`: a block that returns several tensors
            self.split(node, f"self.{self.attrs[id(node.stages[-1])]}({target if stages or node.join is not None else src})")
        elif node.parts:
            self.split(node)

    def split(self, node: Bind, call: str | None = None) -> None:
        """`(a, b) = ... -> chunk 2` as torchvision writes it: `a, b =
        x.chunk(2, dim=1)`, or `torch.split(x, [s1, s2], dim=1)`, or
        `q, k, v = qkv.unbind(1)`; or a block's results: `y, skip = call`."""
        names = ", ".join(code for code, _ in node.parts)
        shapes = ", ".join(self.shape(shape) for _, shape in node.parts)
        if call is not None:
            code = f"{self.indent}{names} = {call}"
        elif node.unbind is not None:
            code = f"{self.indent}{names} = {node.target}.unbind({node.unbind + 1})"
        elif node.sizes:
            sizes = args_text(node.sizes, {code: f"self.{attr}" for code, attr in self.kept.items()})
            code = f"{self.indent}{names} = torch.split({node.target}, [{sizes}], dim=1)"
        else:
            code = f"{self.indent}{names} = {node.target}.chunk({len(node.parts)}, dim=1)"
        if len(_FORWARD_INDENT) + len(code) + 4 + len(shapes) <= _LINE_LENGTH:
            self.forward.append(f"{code}  # {shapes}")
        else:
            self.forward += [f"{self.indent}# {shapes}", code]

    def dim_checks(self, ir: ClassIR, class_name: str) -> None:
        """`torch._assert` the input's rank and the model's size rules (checks.py)."""
        for line in input_checks(ir, class_name, self.kept, self.sizes, self.fresh):
            self.line(line)

    def residual(self, node: Residual, src: str, dst: str) -> None:
        if node.skip == sy.FALSE:  # `shortcut none` on a body that never keeps the shape
            self.nodes(node.body, src, dst)
            return
        if node.skip != sy.TRUE:  # `shortcut none`: the skip where `use_res_connect`
            skip = self.fresh("identity")
            self.line(f"{skip} = {src}")
            self.nodes(node.body, src, dst)
            self.line(f"if self.{self.flags[id(node)]}:")
            self.indent += "    "  # a shape comment too long to trail goes above, indented
            self.line(f"{dst} = {dst} + {skip}", node.out)
            self.indent = self.indent[:-4]
            return
        skip = self.fresh("identity")
        if node.projection is None:
            self.line(f"{skip} = {src}")
        elif node.needs_projection == sy.TRUE:
            self.line(f"{skip} = self.{self.attrs[id(node)]}({src})")
        else:
            attr = self.attrs[id(node)]
            self.line(f"{skip} = {src} if self.{attr} is None else self.{attr}({src})")
        self.nodes(node.body, src, dst)
        if node.mode == "add":
            self.line(f"{dst} = {dst} + {skip}", node.out)
        else:
            self.line(f"{dst} = torch.cat([{skip}, {dst}], dim=1)", node.out)

    def parallel(self, node: Parallel, src: str, dst: str) -> None:
        outs = []
        for branch in node.branches:
            if not branch:
                outs.append(src)
                continue
            var = self.fresh("branch")
            self.nodes(branch, src, var)
            outs.append(var)
        if node.mode == "cat":
            self.line(f"{dst} = torch.cat([{', '.join(outs)}], dim=1)", node.out)
        else:
            self.line(f"{dst} = {f' {ELEMENTWISE[node.mode]} '.join(outs)}", node.out)


def _class_pieces(ir: ClassIR, names: dict[str, str], defaults: ClassIR | None) -> _ClassCode[Piece]:
    writer = _Writer(ir, names)
    params = ["self"] + [sy.to_text(p, code=True) for p in ir.size_params]
    for p in ir.params:
        params.append(p.code if p.default is None else f"{p.code}={value_text(p.default)}")
    docstring = Piece(1, docstring_text(doc_lines(ir, defaults), kept=len(ir.doc)), "docstring")
    init_def = Piece(1, f"def __init__({', '.join(params)}) -> None:", "header")
    if is_sequential(ir) and isinstance(ir.body[0], Repeat) and ir.body[0].each is not None:  # torchvision's AnyStage: named repetitions
        writer.init = ["super().__init__()"]
        writer.named_repetitions(ir.body[0], "self")
        return _ClassCode(Piece(0, f"class {names[ir.name]}(nn.Sequential):", "header"), docstring, init_def, tuple(_piece(2, line) for line in writer.init), None, ())
    if is_sequential(ir):
        init = "\n".join(["super().__init__(", *writer.items(ir.body), ")"])
        return _ClassCode(Piece(0, f"class {names[ir.name]}(nn.Sequential):", "header"), docstring, init_def, (Piece(2, init),), None, ())
    writer.init = ["super().__init__()"] + [f"self.{attr} = {code}" for code, attr in writer.kept.items()]
    flagged = {id(n): n for n in walk(ir.body) if id(n) in writer.flags}
    writer.init += [f"self.{attr} = {sy.to_text(flagged[key].skip, code=True)}" for key, attr in writer.flags.items()]  # type: ignore[union-attr]
    for node in registered(ir.body):
        writer.register(node)
    writer.init += [f"self.{target} = self.{source}" for target, source in ir.ties]  # analysis/ties.py: as torch ties weights
    if ir.inits:
        from .inits import init_lines  # here: only a model with `init` lines needs it

        writer.init += init_lines(ir.inits, names, {p.code for p in ir.params})
    writer.dim_checks(ir, names[ir.name])
    if ir.graph:
        writer.nodes(ir.body, ir.inputs[0].code, ir.inputs[0].code)
    else:
        writer.nodes(ir.body, "x", "x")
    if len(ir.outputs) == 1 or ir.kind == "block":  # a block's several results: a tuple, `return x, skip`
        writer.line(f"return {', '.join(p.code for p in ir.outputs)}")
    else:
        writer.line("return {" + ", ".join(f'"{p.name}": {p.code}' for p in ir.outputs) + "}")
    return _ClassCode(
        header=Piece(0, f"class {names[ir.name]}(nn.Module):", "header"),
        docstring=docstring,
        init_def=init_def,
        init_lines=tuple(_piece(2, line) for line in writer.init),
        forward_def=Piece(1, f"def forward({', '.join(['self', *(f'{p.code}: Tensor' for p in ir.inputs)])}) -> {_returns(ir)}:", "header"),
        forward_lines=tuple(_piece(2, line) for line in writer.forward),
    )


def _returns(ir: ClassIR) -> str:
    """forward's return annotation: one tensor, a block's tuple of them
    (`return y, skip`) or a model's dict of its outputs."""
    if len(ir.outputs) == 1:
        return "Tensor"
    return f"tuple[{', '.join(['Tensor'] * len(ir.outputs))}]" if ir.kind == "block" else "dict[str, Tensor]"


def _piece(depth: int, line: str) -> Piece:
    """One of a writer's lines (indented relative to the method body, and
    continued on further lines for an nn.Sequential) as a Piece."""
    text = line.lstrip(" ")
    depth += (len(line) - len(text)) // 4
    if text.startswith("#"):
        return Piece(depth, text, "comment")
    return Piece(depth, text, "header" if text.endswith(":") else "statement")

