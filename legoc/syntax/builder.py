"""The syntax-tree builder: a parse tree (legoc.syntax.lalr's) to syntax nodes.

`ToSyntax` turns the parse tree of a .lego file into the dataclasses of
legoc.syntax.tree, one method per grammar rule, attaching each node's
span. It also reports what only shows once a rule is whole: a number
glued to a name, a positional argument after a keyword one, a number too
large or too small.
"""

from __future__ import annotations

import math
import re

from ..core.diagnostics import Span, SpecError, error
from ..core.limits import Limits
from . import tree as s
from .lalr import Token, Tree


def _touching(left: Span, right: Span) -> bool:
    """Whether `right` starts where `left` ends, with nothing between."""
    return (left.end_line, left.end_column) == (right.line, right.column)


def token_span(file: str, tok: Token) -> Span:
    """Where `tok` is in `file`, from its first character to just after its last."""
    return Span(file, tok.line, tok.column, tok.end_line, tok.end_column)


class ToSyntax:
    """Parse tree to `syntax` dataclasses, attaching spans: one method per
    grammar rule, called with the tree node (for its position) and its
    children, already converted."""

    def __init__(self, file: str, lines: list[str], limits: Limits):
        self.file = file
        self.lines = lines
        self.limits = limits
        self.rules = {
            "start": self.start, "definition": self.definition, "params": self.params, "param": self.param,
            "inputs": self.inputs, "line": self.line, "assign": self.assign, "split_assign": self.split_assign, "return_stmt": self.return_stmt, "return_many": self.return_many,
            "output": self.output, "learned": self.learned, "tie": self.tie, "init": self.init, "path": self.path, "scale": self.scale, "pipeline": self.pipeline, "source": self.source, "merge": self.merge,
            "seq": self.seq, "call": self.call, "keyword": self.keyword, "named": self.named,
            "residual": self.residual, "residual_first": self.residual_first, "parallel": self.parallel, "repeat": self.repeat, "input": self.input,
            "group": self.group, "shape": self.shape, "binop": self.binop, "neg": self.neg, "int": self.int,
            "float": self.float, "string": self.string, "bool": self.bool, "name": self.name, "func": self.func,
            "conditional": self.conditional, "boolop": self.boolop, "not_test": self.not_test, "compare": self.compare, "ifexp": self.ifexp,
            "tuple": self.tuple,
        }  # fmt: skip

    def transform(self, tree: Tree, consume: bool = True):
        """The syntax object for `tree`, built bottom-up with an explicit
        stack (no recursion, and no per-node wrappers as Lark's Transformer
        makes: a third of parsing time on large specs).

        This consumes the tree: each node hands its children to the stack
        (its `children` become empty), so that every subtree is freed as
        soon as it is converted and the parse tree and the syntax objects
        are never both whole in memory (a 100,000-layer spec's tree is
        over 100 MiB). With `consume` False the tree is left whole."""
        done: list = []  # converted subtrees and tokens, in order
        stack: list[tuple[object, int]] = [(tree, -1)]  # node, its children's count once expanded (-1: not yet)
        while stack:
            node, count = stack.pop()
            if not isinstance(node, Tree):  # a token, or None for an absent optional part
                done.append(node)
            elif count < 0:
                if consume:
                    children = node.children
                    node.children = []
                else:
                    children = list(node.children)
                stack.append((node, len(children)))
                children.reverse()
                stack.extend([(child, -1) for child in children])
                del children
            else:
                at = len(done) - count
                children = done[at:]
                del done[at:]
                done.append(self.rules[node.data](node, children))
        return done[0]

    def _span(self, node) -> Span:
        return Span(self.file, node.line, node.column, node.end_line, node.end_column)

    def start(self, node, children):
        return s.Program(self.file, tuple(children))

    def definition(self, node, children):
        public, kind, name, params, inputs, *lines = children
        body = tuple(stmt for line in lines for stmt in line)
        return s.Definition(
            kind=str(kind),
            name=str(name),
            params=tuple(params or ()),
            inputs=inputs,
            body=body,
            doc=self._doc_comment(kind.line),
            span=token_span(self.file, name),
            public=public is not None or str(kind) == "model",
        )

    def _doc_comment(self, line: int) -> tuple[str, ...]:
        """The comment lines right above a definition's header on `line`
        (1-based), without their `#`, first line first. Read bottom-up and
        reversed once: linear in the comment's length."""
        doc: list[str] = []
        index = line - 2
        while index >= 0:
            text = self.lines[index].lstrip()
            if not text.startswith("#"):
                break
            doc.append(text[1:].strip())
            index -= 1
        doc.reverse()
        return tuple(doc)

    def params(self, node, children):
        return [c for c in children if c is not None]

    def param(self, node, children):
        name, default = children
        if isinstance(default, s.Group):  # `c=< relu >`: an error in inference, as for a keyword
            default = s.GroupValue(default, default.span)
        return s.Param(str(name), default, token_span(self.file, name))

    def inputs(self, node, children):
        return tuple(s.Name(str(t), token_span(self.file, t)) for t in children if t is not None)

    def line(self, node, children):
        (item,) = children
        return item if isinstance(item, tuple) else (item,)

    def assign(self, node, children):
        target, value = children
        return s.Assign(str(target), value, self._span(node), token_span(self.file, target))

    def split_assign(self, node, children):
        *targets, value = children
        parts = tuple(s.Name(str(t), token_span(self.file, t)) for t in targets if t is not None)
        return s.Assign(parts[0].id, value, self._span(node), parts[0].span, parts)

    def return_stmt(self, node, children):
        return s.Return(children[0], self._span(node))

    def return_many(self, node, children):
        names = tuple(s.Name(str(t), token_span(self.file, t)) for t in children if t is not None)
        return s.Return(s.Pipeline(names, (), self._span(node)), self._span(node), several=True)

    def output(self, node, children):
        name, value = children
        return s.Output(str(name), value, self._span(node), token_span(self.file, name))

    def scale(self, node, children):
        mode, operand = children
        return s.Scale(str(mode), operand, self._span(node))

    def learned(self, node, children):
        name, kind, shape, *keywords = children
        if str(kind) != "param":
            raise error("LG101", token_span(self.file, kind), f"expected `param` before a learned tensor's shape, not `{kind}`", hint="write `name: param [C, 1, 1] init=0.0`")
        return s.Learned(str(name), shape.dims if isinstance(shape, s.Input) else tuple(shape), tuple(keywords), self._span(node), token_span(self.file, name))

    def tie(self, node, children):
        (target, target_span), (source, source_span) = children
        return s.Tie(target, source, self._span(node), target_span, source_span)

    def init(self, node, children):
        cond, target, *rest = children
        if isinstance(target, tuple):
            target, target_span = target
        else:
            target, target_span = (str(target),), token_span(self.file, target)
        scheme = rest[0] if rest and isinstance(rest[0], s.Call) else None
        keywords = tuple(k for k in rest if isinstance(k, s.Keyword))
        return s.Init(target, scheme, keywords, cond, self._span(node), target_span)

    def path(self, node, children):
        return tuple(str(t) for t in children), self._span(node)

    def pipeline(self, node, children):
        sources, *stages = children
        return s.Pipeline(sources, tuple(stages), self._span(node))

    def source(self, node, children):
        return tuple(s.Name(str(t), token_span(self.file, t)) for t in children if t is not None)

    def merge(self, node, children):
        return s.Merge(str(children[0]), self._span(node))

    def seq(self, node, children):
        return tuple(children)

    def call(self, node, children):
        name, *args = children
        keywords = tuple(a for a in args if isinstance(a, s.Keyword))
        positional = tuple(a for a in args if not isinstance(a, s.Keyword))
        for before, after in zip(args, args[1:]):
            value = before.value if isinstance(before, s.Keyword) else before
            if isinstance(value, s.Literal) and isinstance(after, (s.Name, s.Keyword)) and _touching(value.span, after.span):
                glued = after.id if isinstance(after, s.Name) else after.name
                underscore = "_" in glued  # `1.0_`, `1e_5`, `1_000_`: the lexer reads a number, then a name
                raise error(
                    "LG101", after.span,
                    "a number runs into a name here" + (": an underscore in a number goes between two digits" if underscore else ""),
                    hint="write numbers as Python does: `1_000`, `0.000_1`, `1e-5`, `1e1_0`" if underscore else "put a space between the number and the name",
                )
            if isinstance(before, s.Keyword) and not isinstance(after, s.Keyword):
                raise error("LG104", after.span, "a positional argument cannot follow a keyword argument")
        return s.Call(str(name), positional, keywords, self._span(node), token_span(self.file, name))

    def keyword(self, node, children):
        name, value = children
        if isinstance(value, s.Group):
            value = s.GroupValue(value, value.span)
        return s.Keyword(str(name), value, self._span(node))

    def named(self, node, children):
        name, layer = children
        if name.type == "STRING":  # `"block{stage}-{i}": ...`, without its quotes
            return s.Named(str(name)[1:-1], layer, self._span(node), token_span(self.file, name), pattern=True)
        return s.Named(str(name), layer, self._span(node), token_span(self.file, name))

    def residual(self, node, children):
        mode, body, shortcut = children
        if isinstance(shortcut, Token):  # `shortcut none`
            return s.Residual(str(mode), body, None, self._span(node), optional=True)
        return s.Residual(str(mode), body, shortcut, self._span(node))

    def residual_first(self, node, children):
        mode, shortcut, body = children
        return s.Residual(str(mode), body, shortcut, self._span(node), first=True)

    def conditional(self, node, children):
        test, layer = children
        return s.Conditional(test, layer, self._span(node))

    def boolop(self, node, children):
        left, op, right = children
        return s.BoolOp(str(op), left, right, self._span(node))

    def not_test(self, node, children):
        return s.Not(children[1], self._span(node))

    def ifexp(self, node, children):
        body, left, op, right, orelse = children
        test = s.Compare(str(op), left, right, Span(left.span.file, left.span.line, left.span.column, right.span.end_line, right.span.end_column))
        return s.IfExp(test, body, orelse, self._span(node))

    def compare(self, node, children):
        left, op, right = children
        return s.Compare(str(op), left, right, self._span(node))

    def parallel(self, node, children):
        mode, *branches = children
        return s.Parallel(str(mode), tuple(branches), self._span(node))

    def repeat(self, node, children):
        count, index, body = children
        return s.Repeat(count, body, self._span(node), None if index is None else str(index), None if index is None else token_span(self.file, index))

    def input(self, node, children):
        name, shape = children
        return s.Input(shape, None if name is None else str(name), self._span(node))

    def group(self, node, children):
        (body,) = children
        return s.Group(body, self._span(node))

    def shape(self, node, children):
        return tuple(c for c in children if c is not None)

    def binop(self, node, children):
        left, op, right = children
        return s.BinOp(str(op), left, right, self._span(node))

    def neg(self, node, children):
        return s.Neg(children[1], self._span(node))

    def int(self, node, children):
        digits = str(children[0]).replace("_", "").lstrip("0") or "0"
        # Compare lengths first: int() of a huge digit string is slow, and
        # refused past 4,300 digits.
        if len(digits) > len(str(self.limits.max_size)) or int(digits) > self.limits.max_size:
            raise self._too_large(node)
        return s.Literal(int(digits), self._span(node))

    def float(self, node, children):
        text = str(children[0]).replace("_", "")
        value = float(text)
        if math.isinf(value):
            raise error("LG107", self._span(node), f"`{children[0]}` is too large for a float: it would be inf")
        if value == 0.0 and any(ch in "123456789" for ch in re.split("[eE]", text)[0]):
            raise error("LG107", self._span(node), f"`{children[0]}` is too small for a float: it would be 0.0", hint="write 0.0 if you mean zero")
        if abs(value) > self.limits.max_size:
            raise self._too_large(node)
        return s.Literal(value, self._span(node))

    def _too_large(self, node) -> SpecError:
        return error(
            "LG606", self._span(node), f"this number is over the limit of {self.limits.max_size:,} for a size",
            hint="raise `max-size` under [tool.legoc.limits]",
        )

    def string(self, node, children):
        return s.Literal(str(children[0])[1:-1], self._span(node))

    def bool(self, node, children):
        return s.Literal(str(children[0]) == "true", self._span(node))

    def name(self, node, children):
        return s.Name(str(children[0]), self._span(node))

    def tuple(self, node, children):
        return s.Tuple(tuple(c for c in children if c is not None), self._span(node))

    def func(self, node, children):
        name, *args = children
        return s.Func(str(name), tuple(args), self._span(node))
