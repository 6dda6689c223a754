"""Hostile specs: names, strings, comments and file names built to break out
of the generated code (docs/reliability.md, "Hostile input and code
injection").

Every file in tests/hostile/ is one attack; its first line says what it
tries. Header comments (the comment lines at the top of the file) pin what
must happen:

    # expect: LG204           the spec is rejected with exactly these error
                              codes (one line per code)
    # name: 'a\\nb.lego'      the file name passed to compile_source, as a
                              Python string literal, optionally `* N`
                              (default: the case's own file name)
    # doc: Foo 'text'         class Foo's docstring, at run time, starts so

A file without `expect` must compile, and its code must pass every check:
it compiles as Python, black leaves it unchanged, its comments are the
header and shape comments only, its AST contains only what legoc means to
emit (`_Allowed`, an allow-list written out from legoc/codegen/generate.py and
legoc/analysis/primitives.py, not computed from any output), and, run in torch, each
model's outputs and state_dict are what the compiler's own analysis says.

`test_the_compiler_never_evaluates_input` reads legoc/*.py itself: no
eval, exec, compile, __import__, pickle, os.system, shell=True, ...
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import types
from pathlib import Path

import black
import pytest
import torch

from legoc.ir import symbolic as sy
from legoc.codegen.helpers import HELPERS
from legoc.compiler import compile_source
from legoc.core.diagnostics import SourceFile, SpecError, render
from legoc.codegen.layout import class_names
from legoc.tools.inputs import bind_inputs
from legoc.tools.instance import InstanceError
from legoc.tools.statedict import state_dict_layout

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "hostile"
FILES = sorted(CORPUS.glob("*.lego"))

# --------------------------------------------------------------- the corpus


def _header(text: str) -> list[str]:
    """The comment lines at the top of a case (after a BOM)."""
    lines = []
    for line in text.lstrip("\ufeff").split("\n"):
        if not line.startswith("#"):
            break
        lines.append(line.rstrip("\r"))
    return lines


def _directives(text: str) -> dict:
    found: dict = {"expect": [], "name": None, "doc": []}
    for line in _header(text):
        if m := re.fullmatch(r"# expect: (LG\d{3})", line):
            found["expect"].append(m.group(1))
        elif line.startswith("# expect"):
            raise AssertionError(f"malformed pin {line!r}; write `# expect: LG204`")
        elif m := re.fullmatch(r"# name: (.+?)(?: \* (\d+))?", line):
            found["name"] = ast.literal_eval(m.group(1)) * int(m.group(2) or 1)
        elif m := re.fullmatch(r"# doc: (\w+) (.+)", line):
            found["doc"].append((m.group(1), ast.literal_eval(m.group(2))))
    return found


def _read(path: Path) -> str:
    # Bytes as they are: CR, CRLF, form feeds and a BOM are part of the attack.
    return path.read_bytes().decode("utf-8")


def test_the_corpus_has_at_least_40_cases_each_saying_what_it_tries():
    assert len(FILES) >= 40
    for path in FILES:
        first = _header(_read(path))
        assert first and len(first[0]) > 2, f"{path.name}: the first line must be a comment saying what the case tries"


def test_the_corpus_covers_both_outcomes():
    outcomes = {bool(_directives(_read(p))["expect"]) for p in FILES}
    assert outcomes == {True, False}


# ------------------------------------------------------ what legoc may emit

# torch.nn classes legoc emits (primitives.py, one per primitive and rank),
# plus the two base classes.
NN_CLASSES = frozenset(
    """
    Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d Linear
    BatchNorm1d BatchNorm2d BatchNorm3d LayerNorm GroupNorm ReLU ReLU6 LeakyReLU GELU SiLU Sigmoid
    Tanh Hardsigmoid Hardswish Identity Dropout Softmax LogSoftmax MaxPool1d MaxPool2d MaxPool3d AvgPool1d
    AvgPool2d AvgPool3d AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d Flatten Upsample
    PixelShuffle Embedding LSTM GRU MultiheadAttention Sequential
    """.split()
)
BASES = frozenset({"Module", "Sequential"})
TORCH_FUNCTIONS = frozenset({"cat", "split", "einsum", "matmul", "arange"})  # einsum, matmul: products.py; arange: positions.py
EINSUM_EQUATION = re.compile(r"[A-Za-z]+(,[A-Za-z]+)*->[A-Za-z]+")
# Tensor methods of rearrange/reduce recipes (patterns.py), a split's
# `x.chunk(2, dim=1)` and the input checks (`x.shape[2]`, `x.dim()`).
TENSOR_METHODS = frozenset({"unflatten", "squeeze", "unsqueeze", "permute", "flatten", "reshape", "mean", "amax", "amin", "sum", "chunk", "unbind", "expand", "dim", "transpose", "contiguous"})  # transpose, contiguous: a recurrent layer's state (codegen/recurrent.py)
# Names the generated code relies on: no parameter or local may shadow them.
CODE_NAMES = frozenset({"self", "nn", "torch", "super", "range", "min", "max", "ValueError"})
# `init` lines (codegen/inits.py): nn.init's functions and string arguments.
INIT_FUNCTIONS = frozenset(
    "kaiming_normal_ kaiming_uniform_ xavier_uniform_ xavier_normal_ orthogonal_ normal_ trunc_normal_ uniform_ constant_ ones_ zeros_".split()
)
INIT_WORDS = frozenset("fan_in fan_out linear conv1d conv2d conv3d sigmoid tanh relu leaky_relu selu".split())
UPSAMPLE_MODES = frozenset({"nearest", "linear", "bilinear", "bicubic", "trilinear"})
# The message of an input-size check: `f"{Class}: {rule} (axis {n} of {input}), got {size}"`.
# The message of an input's rank check: `"{Class}: input {x} must be [B, 3, H, W] (rank 4)"`.
RANK_MESSAGE = re.compile(r"(?P<cls>[A-Za-z_][A-Za-z0-9_]*): input (?P<input>[A-Za-z_][A-Za-z0-9_]*) must be \[B(, [^\[\]{}\\\n]+)*\] \(rank (?P<rank>\d+)\)")
CHECK_MESSAGE = re.compile(r"(?P<cls>[A-Za-z_][A-Za-z0-9_]*): [^{}\\\n]+ \(axis \d+ of [A-Za-z_][A-Za-z0-9_]*\), got ")
# A shape comment: `# [B, c, H // 2, (W - 1) // stride + 1]`.
# Sizes are expressions: arithmetic, calls (`make_divisible(...)`), floats
# (`1.0`) and a conditional layer's `a if t != 1 else b`. A split's parts
# have one shape each: `# [B, c // 2, H, W], [B, c // 2, H, W]`. Positions
# (`arange`) have no batch axis: `# [T]`, `# [T, n_embd]`.
_SIZE = r"[A-Za-z0-9_ +\-*/%(),?.!=<>]+"
_SHAPE = rf"\[(B(, {_SIZE})*|{_SIZE})\]"
SHAPE_COMMENT = re.compile(rf"# {_SHAPE}(, {_SHAPE})*", re.ASCII)
HEADER_LINE_1 = re.compile(r"# Generated by legoc \S+ from (?P<name>.*)\.")
HEADER_LINE_2 = "# Do not edit: change the .lego source and run legoc again."
# PEP 263: a comment like this on line 1 or 2 sets the file's encoding.
CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=]")
MODULE_ATTRS = frozenset(dir(torch.nn.Module())) | frozenset(vars(torch.nn.Module()))
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
# The text of a repetition's name pattern (`f"block{stage}-{i}"`, LG217).
NAME_TEXT = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def _dunder_or_mangled(name: str) -> bool:
    # `__x` is mangled inside a class, `__x__` is Python's; `__` (the soft
    # keyword `_` escaped) is neither.
    return name.startswith("__") and name.strip("_") != ""


class Rejected(AssertionError):
    pass


class _Allowed:
    """Walks a generated module and fails on anything legoc does not mean to
    emit. Every node type not handled here is rejected."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.classes: list[str] = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]

    def fail(self, node, why: str):
        raise Rejected(f"line {getattr(node, 'lineno', '?')}: {why}: {ast.dump(node)[:300]}")

    # -- module level

    def check(self) -> None:
        body = list(self.tree.body)
        if not (body and _is_docstring(body[0])):
            self.fail(self.tree, "the module does not start with its docstring")
        body = body[1:]
        imports = []
        while body and isinstance(body[0], (ast.Import, ast.ImportFrom)):
            imports.append(ast.unparse(body.pop(0)))
        if imports not in [[*first, last] for first in ([], ["import torch"]) for last in ("from torch import nn", "from torch import Tensor, nn")]:
            self.fail(self.tree, f"imports {imports}")
        if not body or not isinstance(body[0], ast.Assign):
            self.fail(self.tree, "no __all__")
        all_node = body.pop(0)
        # legoc's helpers (codegen/helpers.py: the classes StochasticDepth,
        # ..., the function _make_divisible) come first, each once and
        # exactly as legoc writes it; they are not exported.
        self.helpers: list[str] = []
        while body and isinstance(body[0], (ast.ClassDef, ast.FunctionDef)) and _is_helper(body[0]) and body[0].name not in self.helpers:
            name = body.pop(0).name
            self.helpers.append(name)
            # what a helper's source has after its definition: only
            # `torch.fx.wrap("shifted_window_attention")`, exactly
            for after in ast.parse(HELPERS[name]).body[1:]:
                if not (body and ast.dump(body[0]) == ast.dump(after)):
                    self.fail(self.tree, f"the helper {name} without what follows its definition")
                body.pop(0)
        self.dunder_all(all_node)
        if not body:
            return
        for node in body:
            if not isinstance(node, ast.ClassDef):
                self.fail(node, "only classes may follow __all__")
            self.class_def(node)

    def dunder_all(self, node: ast.Assign) -> None:
        if not (len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "__all__"):
            self.fail(node, "not __all__")
        if not isinstance(node.value, ast.List):
            self.fail(node, "__all__ is not a list")
        names = [e.value if isinstance(e, ast.Constant) else None for e in node.value.elts]
        # The models and public blocks (a subset of the file's classes, none
        # of legoc's helpers), sorted, each once; a file with classes exports
        # at least its model.
        exported = [c for c in self.classes if c not in self.helpers]
        if None in names or names != sorted(set(names)) or not set(names) <= set(exported) or (exported and not names):
            self.fail(node, f"__all__ {names} is not a sorted list of some of the classes {exported}")

    def class_def(self, node: ast.ClassDef) -> None:
        self.name(node, node.name)
        if node.decorator_list or node.keywords or len(node.bases) != 1:
            self.fail(node, "decorators, keywords or several bases")
        base = node.bases[0]
        if not (isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) and base.value.id == "nn" and base.attr in BASES):
            self.fail(base, "a base other than nn.Module or nn.Sequential")
        body = list(node.body)
        if not (body and _is_docstring(body[0])):
            self.fail(node, "a class without its docstring")
        methods = body[1:]
        names = [m.name if isinstance(m, ast.FunctionDef) else None for m in methods]
        want = ["__init__"] if base.attr == "Sequential" else ["__init__", "forward"]
        if names != want:
            self.fail(node, f"methods {names}, expected {want}")
        # The attributes __init__ assigns: all forward may read of self.
        self.assigned = {
            t.attr for t in ast.walk(methods[0]) if isinstance(t, ast.Attribute) and isinstance(t.ctx, ast.Store)
        }
        for method in methods:
            self.method(node, method)

    # -- methods

    def method(self, cls: ast.ClassDef, fn: ast.FunctionDef) -> None:
        a = fn.args
        if fn.decorator_list or a.posonlyargs or a.vararg or a.kwonlyargs or a.kw_defaults or a.kwarg:
            self.fail(fn, "a method signature legoc does not write")
        # The annotations legoc writes: `__init__(...) -> None`, and forward's
        # tensors, `forward(self, x: Tensor) -> Tensor` (or a tuple or dict of them).
        returns = ast.unparse(fn.returns) if fn.returns is not None else None
        if fn.name == "__init__" and returns != "None" or fn.name == "forward" and not re.fullmatch(r"Tensor|tuple\[Tensor(, Tensor)+\]|dict\[str, Tensor\]", returns or ""):
            self.fail(fn, f"a return annotation legoc does not write: {returns}")
        params = [arg.arg for arg in a.args]
        if not params or params[0] != "self" or len(set(params)) != len(params):
            self.fail(fn, f"parameters {params}")
        for arg in a.args:
            typed = arg.annotation is not None and fn.name == "forward" and arg.arg != "self" and ast.unparse(arg.annotation) == "Tensor"
            if arg.annotation is not None and not typed:
                self.fail(arg, "an annotation")
            if fn.name == "forward" and arg.arg != "self" and not typed:
                self.fail(arg, "an input without its `Tensor` annotation")
            self.name(arg, arg.arg)
        if fn.name == "forward" and a.defaults:
            self.fail(fn, "forward with defaults")
        for default in a.defaults:
            self.default(default)
        self.fn = fn.name
        self.cls = cls.name
        self.params = set(params)
        self.locals = {n.id for node in ast.walk(fn) for n in _targets(node)}
        # Every local is assigned, never `global`/`nonlocal`, and none is a
        # name the code relies on.
        for name in self.locals:
            self.name(fn, name)
            if name in CODE_NAMES or name in self.classes:
                self.fail(fn, f"the local `{name}` shadows a name the code uses")
        for name in self.params:
            if name != "self" and (name in CODE_NAMES or name in self.classes):
                self.fail(fn, f"the parameter `{name}` shadows a name the code uses")
        stmts = list(fn.body)
        if fn.name == "__init__":
            first = stmts.pop(0) if stmts else None
            if not (isinstance(first, ast.Expr) and _is_super_init(first.value)):
                self.fail(fn, "__init__ must start with super().__init__(...)")
            for arg in first.value.args:
                self.expr(arg)
            if first.value.keywords:
                self.fail(first, "keywords to super().__init__")
            if cls.bases[0].attr == "Module" and first.value.args:
                self.fail(first, "an nn.Module passes nothing to super().__init__")
        else:
            if not stmts or not isinstance(stmts[-1], ast.Return):
                self.fail(fn, "forward must end with return")
        for stmt in stmts:
            self.stmt(stmt)

    def default(self, node) -> None:
        # A parameter's default: a constant (a user's string is inert data),
        # a negative number, or a torch.nn class for a layer-valued parameter.
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            if isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
                return
        if self.nn_class(node):
            return
        self.fail(node, "a default legoc does not write")

    def tie(self, node) -> bool:
        """`self.lm_head.weight = self.transformer.wte.weight` in __init__, as
        legoc ties weights (analysis/ties.py): attribute paths of names from
        self to a weight or bias."""
        def path(e) -> bool:
            names = []
            while isinstance(e, ast.Attribute):
                names.append(e.attr)
                e = e.value
            return isinstance(e, ast.Name) and e.id == "self" and len(names) >= 2 and names[0] in ("weight", "bias") and all(n.isidentifier() for n in names)

        return self.fn == "__init__" and len(node.targets) == 1 and path(node.targets[0]) and path(node.value)

    def stmt(self, node) -> None:
        if isinstance(node, ast.Assign) and self.tie(node):
            return
        if isinstance(node, ast.Assign) and self.fn == "__init__" and self.init_local(node, _self_chain(node.value)):
            return
        if isinstance(node, ast.If) and self.fn == "__init__" and self.layer_guard(node):
            return
        if isinstance(node, ast.AnnAssign) and self.fn == "__init__":
            # An attribute that stays None unless a condition builds its
            # module, typed for mypy: exactly `self.NAME: nn.Module | None = None`.
            if ast.unparse(node.annotation) != "nn.Module | None" or not (isinstance(node.value, ast.Constant) and node.value.value is None and node.simple == 0):
                self.fail(node, "an annotated assignment other than `self.NAME: nn.Module | None = None`")
            self.target(node.target)
            return
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                self.fail(node, "chained assignment")
            self.target(node.targets[0])
            self.expr(node.value)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            for s in node.body + node.orelse:
                self.stmt(s)
        elif isinstance(node, ast.Expr) and self.fn == "forward":
            self.assert_(node)
        elif isinstance(node, ast.For) and self.fn == "__init__" and self.init_loop(node):
            return
        elif isinstance(node, ast.For) and self.fn == "__init__":
            self.for_(node)
        elif isinstance(node, ast.Expr) and self.fn == "__init__" and self.init_call(node.value, "self"):
            return
        elif isinstance(node, ast.Expr) and self.fn == "__init__":
            self.add_module(node, node.value)
        elif isinstance(node, ast.Return) and self.fn == "forward":
            self.return_(node)
        else:
            self.fail(node, "a statement legoc does not write")

    def target(self, node) -> None:
        if isinstance(node, ast.Name):
            return
        if isinstance(node, ast.Tuple):
            for e in node.elts:
                self.target(e)
            return
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" and self.fn == "__init__":
            self.attribute_name(node, node.attr)
            if node.attr in MODULE_ATTRS:
                self.fail(node, f"self.{node.attr} replaces an attribute of nn.Module")
            return
        self.fail(node, "an assignment target legoc does not write")

    def init_loop(self, node: ast.For) -> bool:
        """`for m in self.modules(): if isinstance(m, nn.Conv2d): nn.init...`
        (codegen/inits.py): an if/elif chain over isinstance tests of
        nn classes or generated classes, whose bodies are nn.init calls on
        `m.weight`, `m.bias` or `m.NAME.weight` (a bias maybe guarded)."""
        it = node.iter
        if not (isinstance(it, ast.Call) and not it.args and isinstance(it.func, ast.Attribute) and it.func.attr == "modules"
                and isinstance(it.func.value, ast.Name) and it.func.value.id == "self"):  # fmt: skip
            return False
        if node.orelse or not (isinstance(node.target, ast.Name) and node.target.id.strip("_") == "m") or len(node.body) != 1:
            self.fail(node, "a loop over self.modules() legoc does not write")
        var = node.target.id
        if var in self.params:
            self.fail(node, f"the loop's variable `{var}` hides a parameter")
        branch = node.body[0]
        while branch is not None:
            if not isinstance(branch, ast.If):
                self.fail(node, "a loop body other than isinstance tests")
            test = branch.test
            if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id == "isinstance" and len(test.args) == 2
                    and isinstance(test.args[0], ast.Name) and test.args[0].id == var):  # fmt: skip
                self.fail(branch, "a test other than isinstance(m, ...)")
            kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
            for k in kinds:
                if not (self.nn_class(k) or isinstance(k, ast.Name) and k.id in self.classes):
                    self.fail(branch, "isinstance of something other than a torch.nn or generated class")
            if len(branch.body) == 1 and isinstance(branch.body[0], ast.For):
                self.block_loop(branch.body[0], var)
            else:
                self.init_body(branch.body, var)
            branch = branch.orelse[0] if len(branch.orelse) == 1 else None if not branch.orelse else self.fail(branch, "else")
        return True

    def init_body(self, body: list, root: str) -> None:
        """nn.init calls on `root`'s weight and bias (a tensor maybe guarded
        with `is not None`), after the fans they use (`init_local`)."""
        for s in body:
            if isinstance(s, ast.Assign) and self.init_local(s, root):
                continue
            if isinstance(s, ast.If) and self.bias_guard(s.test, root) and not s.orelse:
                self.init_body(s.body, root)
                continue
            if not (isinstance(s, ast.Expr) and self.init_call(s.value, root)):
                self.fail(s, "a statement other than an nn.init call")

    def block_loop(self, node: ast.For, outer: str) -> None:
        """`for layer in m.modules(): if isinstance(layer, nn.Linear): ...`:
        the modules of one kind inside a block's instance (`init mlp.linear`)."""
        var = node.target.id if isinstance(node.target, ast.Name) else ""
        if not (var.strip("_") == "layer" and ast.unparse(node.iter) == f"{outer}.modules()" and not node.orelse and len(node.body) == 1
                and isinstance(node.body[0], ast.If) and not node.body[0].orelse):  # fmt: skip
            self.fail(node, "a loop over a block's modules legoc does not write")
        if var in self.params:
            self.fail(node, f"the loop's variable `{var}` hides a parameter")
        test = node.body[0].test
        kinds = test.args[1].elts if isinstance(test, ast.Call) and len(test.args) == 2 and isinstance(test.args[1], ast.Tuple) else [test.args[1]] if isinstance(test, ast.Call) and len(test.args) == 2 else []
        if not (isinstance(test, ast.Call) and ast.unparse(test.func) == "isinstance" and ast.unparse(test.args[0]) == var and kinds and all(self.nn_class(k) for k in kinds)):
            self.fail(node, "a test other than isinstance(layer, nn.X)")
        self.init_body(node.body[0].body, var)

    def init_local(self, node: ast.Assign, root: str | None) -> bool:
        """The fans of `root`'s weight, `fan_in = m.weight[0].numel()` and
        `fan_out = m.weight.shape[0] * m.weight[0][0].numel()`, and
        lecun_normal's `std = (1 / fan_in) ** 0.5 / 0.87962566103423978`,
        exactly as codegen/inits.py writes them."""
        if root is None or len(node.targets) != 1:
            return False
        written = {
            "fan_in": f"{root}.weight[0].numel()",
            "fan_out": f"{root}.weight.shape[0] * {root}.weight[0][0].numel()",
            "std": "(1 / fan_in) ** 0.5 / 0.87962566103423978",
        }
        target = node.targets[0]
        return isinstance(target, ast.Name) and target.id in written and ast.dump(node.value) == ast.dump(ast.parse(written[target.id], mode="eval").body)

    def layer_guard(self, node: ast.If) -> bool:
        """`if isinstance(self.heads.head, nn.Linear): nn.init...`: a layer in
        a group, tested as torchvision tests it, then initialised; `if
        self.conv_proj.bias is not None: nn.init...`: a named layer's
        optional tensor."""
        test = node.test
        if isinstance(test, ast.Compare) and isinstance(test.left, ast.Attribute) and test.left.attr in ("weight", "bias"):
            root = _self_chain(test.left.value)  # `if self.conv_proj.bias is not None:`
            if root is None or not self.bias_guard(test, root) or node.orelse:
                return False
            self.init_body(node.body, root)
            return True
        if not (isinstance(test, ast.Call) and ast.unparse(test.func) == "isinstance" and len(test.args) == 2 and not test.keywords):
            return False
        root = _self_chain(test.args[0])
        if root is None or not self.nn_class(test.args[1]) or node.orelse:
            self.fail(node, "an isinstance test legoc does not write")
        self.init_body(node.body, root)
        return True

    def bias_guard(self, test, root: str) -> bool:
        return (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot)
                and self.init_tensor(test.left, root) and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None)  # fmt: skip

    def init_tensor(self, e, root: str) -> bool:
        names = []
        while isinstance(e, ast.Attribute):
            names.append(e.attr)
            e = e.value
        if isinstance(e, ast.Name) and e.id == "self" and "." in root:  # a layer in a group: `self.heads.head.weight`
            return ast.unparse(e) + "." + ".".join(reversed(names[1:])) == root and len(names) > 1 and names[0] in ("weight", "bias")
        return isinstance(e, ast.Name) and e.id == root and 1 <= len(names) <= 2 and names[0] in ("weight", "bias") and all(n.isidentifier() for n in names)

    def init_call(self, call, root: str) -> bool:
        """`nn.init.kaiming_normal_(m.weight, mode="fan_out", ...)`: an nn.init
        function on a module's weight or bias, with numbers, parameters and
        nn.init's own words as arguments."""
        f = call.func if isinstance(call, ast.Call) else None
        if not (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Attribute) and f.value.attr == "init"
                and isinstance(f.value.value, ast.Name) and f.value.value.id == "nn"):  # fmt: skip
            return False
        if f.attr not in INIT_FUNCTIONS or not call.args or not self.init_tensor(call.args[0], root):
            self.fail(call, "an nn.init call legoc does not write")
        for a in [*call.args[1:], *(kw.value for kw in call.keywords)]:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                if a.value not in INIT_WORDS:
                    self.fail(call, f"nn.init argument {a.value!r}")
            else:
                self.expr(a)
        for kw in call.keywords:
            self.name(kw, kw.arg)
        return True

    def for_(self, node: ast.For) -> None:
        # Named repetitions: `for i in range(n): self[.attr].add_module(f"block{s}-{i}", Block(...))`
        if node.orelse or not isinstance(node.target, ast.Name) or len(node.body) != 1:
            self.fail(node, "a loop legoc does not write")
        if not (isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range"):
            self.fail(node, "a loop not over range(...)")
        self.expr(node.iter)
        (stmt,) = node.body
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.args[0] if stmt.value.args else None, ast.JoinedStr)):
            self.fail(node, "a loop body other than add_module(f\"...\", module)")
        self.add_module(stmt, stmt.value)

    def add_module(self, node, call) -> None:
        # A named module: `self.f.add_module("a", Block(...))` (a named group's
        # named layers), or in a loop `self.add_module(f"block{s}-{i}", ...)`.
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "add_module"):
            self.fail(node, "a statement legoc does not write")
        owner = call.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "self" or isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self"):
            self.fail(node, "add_module on something other than self or one of its attributes")
        if isinstance(owner, ast.Attribute):
            self.attribute_name(owner, owner.attr)
        if call.keywords or len(call.args) != 2:
            self.fail(node, "add_module without a name and a module")
        name = call.args[0]
        if isinstance(name, ast.Constant):
            if not (isinstance(name.value, str) and IDENT.fullmatch(name.value)):
                self.fail(node, "a module name that is not an identifier")
            self.name(name, name.value)
        elif isinstance(name, ast.JoinedStr):
            for part in name.values:
                if isinstance(part, ast.Constant):
                    if not (isinstance(part.value, str) and NAME_TEXT.fullmatch(part.value)):
                        self.fail(node, f"a module name with {part.value!r}")
                elif isinstance(part, ast.FormattedValue) and part.conversion == -1 and part.format_spec is None:
                    self.expr(part.value)
                else:
                    self.fail(node, "a formatted value legoc does not write")
        else:
            self.fail(node, "a module name legoc does not write")
        self.expr(call.args[1])

    def assert_(self, node: ast.Expr) -> None:
        """An input check (codegen/checks.py): `torch._assert(test, f"...")`
        in forward: a rank check, `x.dim() == n` with the constant message
        `"{Class}: input {x} must be [B, ...] (rank n)"`, or a size check
        whose message is the f-string `f"{Class}: {rule} (axis n of {x}), got {size}"`."""
        call = node.value
        if not (self.fn == "forward" and isinstance(call, ast.Call) and ast.unparse(call.func) == "torch._assert" and len(call.args) == 2 and not call.keywords):
            self.fail(node, "a statement legoc does not write")
        test, message = call.args
        self.expr(test)
        if isinstance(message, ast.Constant) and isinstance(message.value, str):
            rank = RANK_MESSAGE.fullmatch(message.value)
            if rank is None or rank.group("cls") != self.cls or rank.group("input") not in self.params - {"self"}:
                self.fail(node, f"rank message {message.value!r}")
            if ast.unparse(test) != f"{rank.group('input')}.dim() == {rank.group('rank')}":
                self.fail(node, "a rank check of something else")
            return
        if not isinstance(message, ast.JoinedStr) or len(message.values) != 2:
            self.fail(node, "the message is not the f-string of an input check")
        text, value = message.values
        if not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
            self.fail(node, "the message does not start with text")
        if not (isinstance(value, ast.FormattedValue) and value.conversion == -1 and value.format_spec is None):
            self.fail(node, "a formatted value legoc does not write")
        m = CHECK_MESSAGE.fullmatch(text.value)
        if m is None or m.group("cls") != self.cls:
            self.fail(node, f"message text {text.value!r}")
        if not (isinstance(value.value, ast.Name) and value.value.id in self.locals):
            self.fail(node, "the message formats something other than a local size")

    def return_(self, node: ast.Return) -> None:
        v = node.value
        if isinstance(v, ast.Name):
            self.expr(v)
            return
        if isinstance(v, ast.Dict):
            for key, value in zip(v.keys, v.values):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and IDENT.fullmatch(key.value)):
                    self.fail(node, "a dict key that is not an output's name")
                if not isinstance(value, ast.Name):
                    self.fail(node, "a dict value that is not a local")
                self.expr(value)
            return
        self.fail(node, "a return legoc does not write")

    # -- expressions

    def expr(self, node) -> None:
        if isinstance(node, ast.Name):
            self.load(node)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                self.fail(node, "a string where legoc writes none")
            if not (node.value is None or isinstance(node.value, (int, float, bool))):
                self.fail(node, "a constant legoc does not write")
        elif isinstance(node, ast.Attribute):
            self.attribute(node)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.BinOp):
            # `/` and `**`: the spec's float arithmetic (width and depth multipliers)
            if not isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.Div, ast.Pow)):
                self.fail(node, "an operator legoc does not write")
            self.expr(node.left)
            self.expr(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.Not)):
                self.fail(node, "an operator legoc does not write")
            self.expr(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self.expr(v)
        elif isinstance(node, ast.Compare):
            allowed = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot)
            if not all(isinstance(op, allowed) for op in node.ops):
                self.fail(node, "a comparison legoc does not write")
            for e in [node.left, *node.comparators]:
                self.expr(e)
        elif isinstance(node, ast.IfExp):
            for e in (node.test, node.body, node.orelse):
                self.expr(e)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for e in node.elts:
                self.expr(e)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) and self.fn == "forward":
            # `select` and `slice`: `x[:, 0]`, `x[:, :, self.k : -1 : 2]`:
            # whole axes, then one index or slice, each bound an expression
            *whole, last = node.slice.elts
            if not whole or not all(isinstance(e, ast.Slice) and e.lower is e.upper is e.step is None for e in whole):
                self.fail(node, "a subscript legoc does not write")
            for bound in (last.lower, last.upper, last.step) if isinstance(last, ast.Slice) else (last,):
                if bound is not None:
                    self.expr(bound)
            self.expr(node.value)
        elif isinstance(node, ast.Subscript):
            # `hidden[-1]`, `x.shape[2]`
            if not (isinstance(node.slice, ast.Constant) or isinstance(node.slice, ast.UnaryOp)):
                self.fail(node, "a subscript legoc does not write")
            self.expr(node.value)
            self.expr(node.slice)
        elif isinstance(node, ast.Starred):
            self.expr(node.value)
        elif isinstance(node, ast.GeneratorExp):
            # `*(Block(c, c) for _ in range(n - 1))`, or with a repeat's
            # index, `*(Block(c, p * i) for i in range(n))`
            (gen,) = node.generators
            if not (isinstance(gen.target, ast.Name) and not gen.ifs and not gen.is_async):
                self.fail(node, "a comprehension legoc does not write")
            # (the index is one of the function's locals, checked with them)
            if not (isinstance(gen.iter, ast.Call) and isinstance(gen.iter.func, ast.Name) and gen.iter.func.id == "range"):
                self.fail(node, "a comprehension not over range(...)")
            self.expr(gen.iter)
            self.expr(node.elt)
        else:
            self.fail(node, "an expression legoc does not write")

    def load(self, node: ast.Name) -> None:
        name = node.id
        if name in ("self", "nn") or name in self.params or name in self.locals:
            return
        if name == "torch" and self.fn == "forward":
            return
        if name in self.classes and self.fn == "__init__":
            return
        self.fail(node, f"the name `{name}` is neither a local, a parameter, nor one legoc uses here")

    def attribute(self, node: ast.Attribute) -> None:
        self.attribute_name(node, node.attr)
        if self.nn_class(node):
            return
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            if self.fn == "forward" and node.attr == "training":  # attention's dropout in training only
                return
            if self.fn == "forward" and node.attr not in self.assigned:
                self.fail(node, f"self.{node.attr} is not an attribute __init__ assigns")
            return
        if isinstance(node.value, ast.Name) and node.value.id == "torch" and node.attr in TORCH_FUNCTIONS and self.fn == "forward":
            return
        if node.attr in ("shape", "device") and self.fn == "forward":  # `.device`: torch.arange(T, device=idx.device)
            self.expr(node.value)
            return
        self.fail(node, f"the attribute `.{node.attr}`")

    def call(self, node: ast.Call) -> None:
        f = node.func
        for kw in node.keywords:
            if kw.arg is None:
                self.fail(node, "**kwargs")
            self.name(kw, kw.arg)
        args = [*node.args, *(kw.value for kw in node.keywords)]
        if isinstance(f, ast.Name) and f.id in self.classes and self.fn == "__init__":
            # A generated class: its arguments may include a user's string,
            # a plain constant.
            for a in args:
                if not (isinstance(a, ast.Constant) and isinstance(a.value, str)):
                    self.expr(a)
            return
        if self.nn_class(f):
            for kw in node.keywords:
                if kw.arg == "mode" and f.attr == "Upsample":
                    if not (isinstance(kw.value, ast.Constant) and kw.value.value in UPSAMPLE_MODES):
                        self.fail(kw, "an upsampling mode legoc does not write")
                elif kw.arg == "approximate" and f.attr == "GELU":  # GPT-2's gelu_new: nn.GELU(approximate="tanh")
                    if not (isinstance(kw.value, ast.Constant) and kw.value.value in ("none", "tanh")):
                        self.fail(kw, "a GELU approximation legoc does not write")
                else:
                    self.expr(kw.value)
            for a in node.args:
                self.expr(a)
            return
        values = self.learned_tensor(node)
        if values is not None:
            # `name: param [sizes] init=value`: nn.Parameter(torch.full((sizes), value)),
            # torch.zeros(sizes) or torch.empty(sizes).normal_(std=value)
            for a in values:
                self.expr(a)
            return
        if isinstance(f, ast.Name) and f.id == "range" and self.fn == "__init__":
            for a in args:
                self.expr(a)
            return
        if isinstance(f, ast.Name) and f.id in ("min", "max") and not node.keywords:
            # the spec's `min`/`max`, and `range(min(n, 1))` for the first
            # repetition of a repeat whose count is an argument
            for a in args:
                self.expr(a)
            return
        if isinstance(f, ast.Name) and (f.id in ("round", "int") or f.id in self.helpers and f.id == "_make_divisible") and self.fn == "__init__" and not node.keywords:
            # the spec's `round`, `int` and `ceil` (as `-int(-x // 1)`), and
            # `make_divisible`, torchvision's function that the module defines
            for a in args:
                self.expr(a)
            return
        if isinstance(f, ast.Name) and f.id in self.params and self.fn == "__init__" and not args:
            return  # a layer-valued parameter: `act()`
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self" and self.fn == "forward":
            self.attribute(f)
            for a in args:
                self.expr(a)
            return
        if self.attention(node):
            # `(q, k, v) -> attention` (the prelude's mhsa): its operands, and its
            # dropout in training only, `self.attn_drop if self.training else 0.0`
            for a in node.args:
                self.expr(a)
            for kw in node.keywords:
                value = kw.value
                if isinstance(value, ast.IfExp) and kw.arg == "dropout_p":
                    if not (isinstance(value.test, ast.Attribute) and isinstance(value.test.value, ast.Name) and (value.test.value.id, value.test.attr) == ("self", "training")):
                        self.fail(node, "a dropout not decided by self.training")
                    self.expr(value.body)
                    self.expr(value.orelse)
                else:
                    self.expr(value)
            return
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "torch" and f.attr in TORCH_FUNCTIONS:
            self.attribute(f)
            if f.attr == "einsum":  # its equation, letters only: torch.einsum("bchw,bdhw->bcd", f, f)
                if not (args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str) and EINSUM_EQUATION.fullmatch(args[0].value)):
                    self.fail(node, "an einsum without the equation legoc writes")
                args = args[1:]
            for a in args:
                self.expr(a)
            return
        if isinstance(f, ast.Attribute) and f.attr == "scaled_dot_product_attention" and ast.unparse(f.value) == "torch.nn.functional" and self.fn == "forward":
            if {kw.arg for kw in node.keywords} - {"attn_mask", "dropout_p", "is_causal", "scale"}:
                self.fail(node, "an attention keyword legoc does not write")
            for a in args:
                self.expr(a)
            return
        if isinstance(f, ast.Attribute) and f.attr in TENSOR_METHODS and self.fn == "forward":
            self.expr(f.value)
            for a in args:
                self.expr(a)
            return
        self.fail(node, "a call legoc does not write")

    def attention(self, node: ast.Call) -> bool:
        """`torch.nn.functional.scaled_dot_product_attention(q, k, v, ...)` in
        forward, with only the keywords legoc writes."""
        f = node.func
        return (
            self.fn == "forward"
            and ast.unparse(f) == "torch.nn.functional.scaled_dot_product_attention"
            and all(kw.arg in ("attn_mask", "dropout_p", "is_causal", "scale") for kw in node.keywords)
        )

    def learned_tensor(self, node: ast.Call) -> list | None:
        """`nn.Parameter(torch.full((sizes), init))`, `nn.Parameter(torch.zeros(*sizes))`
        or `nn.Parameter(torch.empty(*sizes).normal_(std=init))` in __init__, as
        legoc writes a learned tensor: the expressions in it, or None."""
        def attribute(f, owner: str, attr: str) -> bool:
            return isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) == (owner, attr)

        if not (self.fn == "__init__" and attribute(node.func, "nn", "Parameter") and len(node.args) == 1 and not node.keywords):
            return None
        made = node.args[0]
        if not isinstance(made, ast.Call):
            return None
        if attribute(made.func, "torch", "full") and len(made.args) == 2 and not made.keywords and isinstance(made.args[0], ast.Tuple):
            return [*made.args[0].elts, made.args[1]]
        if attribute(made.func, "torch", "zeros") and made.args and not made.keywords:
            return list(made.args)
        normal = made.func
        if (
            isinstance(normal, ast.Attribute) and normal.attr == "normal_" and not made.args
            and all(kw.arg == "std" for kw in made.keywords)
            and isinstance(normal.value, ast.Call) and attribute(normal.value.func, "torch", "empty")
            and normal.value.args and not normal.value.keywords
        ):
            return [*normal.value.args, *(kw.value for kw in made.keywords)]
        if (  # nn.init.trunc_normal_(torch.empty(*sizes), std=init): timm's pos_embed
            ast.unparse(made.func) == "nn.init.trunc_normal_" and len(made.args) == 1 and all(kw.arg == "std" for kw in made.keywords)
            and isinstance(made.args[0], ast.Call) and attribute(made.args[0].func, "torch", "empty") and made.args[0].args and not made.args[0].keywords
        ):  # fmt: skip
            return [*made.args[0].args, *(kw.value for kw in made.keywords)]
        return None

    def nn_class(self, node) -> bool:
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "nn" and node.attr in NN_CLASSES

    # -- names

    def name(self, node, name: str) -> None:
        if not IDENT.fullmatch(name) or _dunder_or_mangled(name):
            self.fail(node, f"the name `{name}` (not ASCII, or mangled or dunder inside a class)")

    def attribute_name(self, node, name: str) -> None:
        self.name(node, name)


def _self_chain(e) -> str | None:
    """`self.a.b` for the weight's owner in `self.a.b.weight[0].numel()`
    (any expression whose innermost attribute chain starts at self and reaches
    `.weight`), else None."""
    for sub in ast.walk(e):
        if isinstance(sub, ast.Attribute) and sub.attr == "weight":
            owner = sub.value
            parts = []
            while isinstance(owner, ast.Attribute) and IDENT.fullmatch(owner.attr):
                parts.append(owner.attr)
                owner = owner.value
            if isinstance(owner, ast.Name) and owner.id == "self" and parts:
                return "self." + ".".join(reversed(parts))
            return None
    if isinstance(e, ast.Attribute):  # isinstance(self.heads.head, ...)
        parts = []
        while isinstance(e, ast.Attribute) and IDENT.fullmatch(e.attr):
            parts.append(e.attr)
            e = e.value
        if isinstance(e, ast.Name) and e.id == "self" and parts:
            return "self." + ".".join(reversed(parts))
    return None


def _targets(node) -> list[ast.Name]:
    """The names a statement or comprehension binds."""
    def names(target) -> list[ast.Name]:
        if isinstance(target, ast.Name):
            return [target]
        if isinstance(target, (ast.Tuple, ast.List)):
            return [n for e in target.elts for n in names(e)]
        return []  # `self.attr = ...` binds no local

    if isinstance(node, ast.Assign):
        return [n for t in node.targets for n in names(t)]
    if isinstance(node, (ast.comprehension, ast.For)):  # a loop: only `for i in range(n)` in __init__ (_Allowed.for_)
        return names(node.target)
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Attribute):
        return []  # `self.attr: nn.Module | None = None` binds no local (_Allowed.stmt checks the rest)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.With, ast.NamedExpr, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom)):
        raise Rejected(f"line {node.lineno}: {type(node).__name__} is not written by legoc")
    return []


def _is_helper(node: ast.ClassDef | ast.FunctionDef) -> bool:
    """Whether a class or function is one of legoc's helpers, exactly."""
    return node.name in HELPERS and ast.dump(node) == ast.dump(ast.parse(HELPERS[node.name]).body[0])


def _is_docstring(node) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_super_init(node) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "__init__"
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "super"
        and not node.func.value.args
        and not node.func.value.keywords
    )


def check_generated(code: str) -> ast.Module:
    """Every static check on a generated module; returns its tree."""
    # It is Python (compile, not run: duplicate arguments and `__debug__`
    # are caught only here), and black leaves it as it is.
    compile(code, "<generated>", "exec", dont_inherit=True)
    assert black.format_str(code, mode=black.Mode()) == code
    tree = ast.parse(code)
    # Read back as the bytes of a file, as `import` reads it (honouring any
    # encoding declaration), it is the same program.
    assert ast.dump(ast.parse(code.encode("utf-8"))) == ast.dump(tree)
    _Allowed(tree).check()
    # The only bare strings are the module's, the classes' and the helper
    # function's docstrings (the helper itself is checked exactly above).
    docstrings = {id(tree.body[0])} | {id(c.body[0]) for c in tree.body if isinstance(c, (ast.ClassDef, ast.FunctionDef))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and id(node) not in docstrings:
            raise Rejected(f"line {node.lineno}: a bare constant outside the docstrings")
    # Comments: the two header lines and shape comments, nothing else.
    lines = code.split("\n")
    m = HEADER_LINE_1.fullmatch(lines[0])
    assert m is not None, lines[0]
    assert lines[1] == HEADER_LINE_2
    for line in lines[:2]:
        assert not CODING_COOKIE.match(line), f"an encoding declaration: {line!r}"
    assert m.group("name").isprintable()
    comments = [(t.start[0], t.string) for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type == tokenize.COMMENT]
    # ... and a helper's own comments, on their lines of the helper.
    helper_comments = {
        (node.lineno + t.start[0] - 1, t.string)
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and _is_helper(node)
        for t in tokenize.generate_tokens(io.StringIO(HELPERS[node.name]).readline)
        if t.type == tokenize.COMMENT
    }
    # A shape comment too long for a line goes on over the next comment
    # lines, each with a hanging indent (codegen/wrapping.py): the break was
    # one space.
    joined: list[tuple[int, str, int]] = []  # (first line, text, last line)
    for number, comment in comments:
        if comment.startswith("#     ") and joined and joined[-1][2] == number - 1 and (number - 1, joined[-1][1]) not in helper_comments:
            first, text, _ = joined[-1]
            joined[-1] = (first, f"{text} {comment[len('#     '):]}", number)
        else:
            joined.append((number, comment, number))
    for number, comment, _ in joined:
        if number > 2 and not SHAPE_COMMENT.fullmatch(comment) and (number, comment) not in helper_comments:
            raise Rejected(f"line {number}: the comment {comment!r} is not a shape comment")
    return tree


def _sizes(ir) -> dict:
    """Values for a model's symbolic input sizes that meet its rules."""
    for size in (32, 48, 64, 16, 96, 24, 40, 8):
        shapes = [(p.name, tuple(int(sy.value_of(d)) if sy.is_const(d) else size for d in p.shape)) for p in ir.inputs]
        try:
            return bind_inputs(ir, shapes), shapes
        except InstanceError:
            continue
    raise AssertionError(f"no input size fits {ir.name}'s rules")


def check_runs(code: str, analysis) -> types.ModuleType:
    """Run the generated module: each model, with its defaults, gives the
    shapes and the state_dict the analysis gives."""
    module = types.ModuleType("hostile")
    exec(compile(code, "<hostile>", "exec"), module.__dict__)
    names = class_names(analysis.classes)
    for ir in analysis.classes:
        if ir.kind != "model":
            continue
        model = getattr(module, names[ir.name])().eval()
        decided = analysis.defaults[ir.name]
        mapping, shapes = _sizes(decided)
        torch.manual_seed(0)
        with torch.no_grad():
            out = model(*[torch.randn(2, *shape) for _, shape in shapes])
        expected = {p.name: (2, *(sy.value_of(sy.substitute(d, mapping)) for d in p.shape)) for p in decided.outputs}
        got = {k: tuple(v.shape) for k, v in out.items()} if isinstance(out, dict) else {decided.outputs[0].name: tuple(out.shape)}
        assert got == expected
        layout = [(e.key, e.shape) for e in state_dict_layout(analysis, ir.name)]
        assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == layout
    for ir in analysis.classes:
        if ir.doc:
            doc = _doc(getattr(module, names[ir.name]))
            assert doc.startswith("\n".join(ir.doc) + "\n\n"), (doc, ir.doc)
    return module


def _doc(cls) -> str:
    """A class's docstring at run time, less the indentation legoc adds
    (inspect.cleandoc would also expand tabs and strip other whitespace)."""
    first, *rest = cls.__doc__.split("\n")
    return "\n".join([first, *(line[4:] if line.startswith("    ") else line for line in rest)])


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_hostile_spec(path):
    text = _read(path)
    pins = _directives(text)
    name = pins["name"] if pins["name"] is not None else path.name
    if pins["expect"]:
        with pytest.raises(SpecError) as info:
            compile_source(text, name)
        codes = sorted(d.code for d in info.value.diagnostics if d.severity == "error")
        assert codes == sorted(pins["expect"])
        return
    result = compile_source(text, name)
    check_generated(result.code)
    module = check_runs(result.code, result.analysis)
    for cls, prefix in pins["doc"]:
        assert _doc(getattr(module, cls)).startswith(prefix)


def test_a_diagnostic_shows_its_own_line_after_a_form_feed_in_a_comment():
    # Comments may hold CR, form feeds and line separators; lines are still
    # counted at "\n" only, so the excerpt is the line the error is on.
    text = "# a\x0cb\u2028c\rd\nmodel M():\n    input [3, 8, 8]\n    conv 4 groups=3\n"
    with pytest.raises(SpecError) as info:
        compile_source(text, "ff.lego")
    (diag,) = info.value.diagnostics
    assert diag.span.line == 4
    rendered = render(diag, {"ff.lego": SourceFile("ff.lego", text)})
    assert rendered.split("\n")[1] == "      conv 4 groups=3"


# ------------------------------------------------- the allow-list itself


def _example_code(name: str) -> tuple[str, object]:
    path = ROOT / "examples" / f"{name}.lego"
    result = compile_source(path.read_text(), str(path))
    return result.code, result.analysis


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "examples").glob("*.lego")))
def test_every_example_passes_the_allow_list(name):
    code, _ = _example_code(name)
    check_generated(code)


SMUGGLED = {
    "an import": ("from torch import Tensor, nn\n", "from torch import Tensor, nn\nimport os\n"),
    "eval": ("x = self.relu(x)", "x = eval(x)"),
    "a dunder attribute": ("x = self.relu(x)", "x = self.__class__(x)"),
    "getattr": ("x = self.relu(x)", "x = getattr(self, 'relu')(x)"),
    "a string argument": ("nn.ReLU()", "nn.ReLU('x')"),
    "a builtin": ("x = self.relu(x)", "x = print(x)"),
    "a lambda": ("x = self.relu(x)", "x = (lambda y: y)(x)"),
    "a module-level statement": ("\n\nclass M(", "\nprint(1)\n\n\nclass M("),
    "a shadowing parameter": ("def __init__(self) -> None:", "def __init__(self, nn=1) -> None:"),
    "another annotation": ("def forward(self, x: Tensor) -> Tensor:", "def forward(self, x: Tensor) -> print(1):"),
    "an annotation on an argument": ("def __init__(self) -> None:", "def __init__(self, a: print(1) = 1) -> None:"),
    "a non-shape comment": ("x = self.relu(x)  # [B, 3, 8, 8]", "x = self.relu(x)  # hello"),
    "a docstring closed early": ('    """The model `M`.', '    """The model `M`."""; import os; """'),
    "a shadowed builtin": ("x = self.relu(x)", "ValueError = self.relu(x)\n        x = ValueError"),
    "a mangled attribute": ("self.relu = nn.ReLU()", "self.__relu = nn.ReLU()"),
    "a module attribute replaced": ("self.relu = nn.ReLU()", "self.training = nn.ReLU()"),
    "a module method called": ("x = self.relu(x)", "x = self.train(x)"),
    "an unknown nn class": ("nn.ReLU()", "nn.Module()"),
    "an f-string outside a size check": ("x = self.relu(x)", 'x = self.relu(f"{x}")'),
    "another call as a statement": ("torch._assert(", "torch.save("),
    "an input check's message formatting a call": ('"M: input x must be [B, 3, 8, 8] (rank 4)"', 'f"M: input x must be [B, 3, 8, 8] (rank 4) {self.train()}"'),
    "an input check naming another class": ('"M: input x', '"N: input x'),
    "a rank check of another rank": ("x.dim() == 4", "x.dim() == 5"),
    "an expression statement": ("x = self.relu(x)", "self.relu(x)\n        x = self.relu(x)"),
    "an encoding declaration": ("# Generated by legoc", "# coding: utf-7 Generated by legoc"),
}


def _rejects_smuggled(spec: str, old: str, new: str) -> None:
    """The code legoc writes for `spec` passes the allow-list, and fails it
    once `old` is replaced by `new`."""
    code = compile_source(spec, "m.lego").code
    check_generated(code)
    assert old in code
    smuggled = black.format_str(code.replace(old, new, 1), mode=black.Mode())
    with pytest.raises((Rejected, AssertionError)):
        check_generated(smuggled)


# The same for the names legoc writes as data: a named group's keys and a
# repetition's f-string name (`"block{stage}-{i}"`, LG217).
NAMED = """\
block stage(c, n, stage):
    repeat n as i "block{stage}-{i}": conv c kernel_size=1

model M():
    input [3, 8, 8]
    f: < a: conv 4 kernel_size=1; b: stage 4 2 1 >
"""
SMUGGLED_NAMES = {
    "a dot in a module name": ('f"block{stage}-{i}"', 'f"block{stage}.{i}"'),
    "a quote in a module name": ('f"block{stage}-{i}"', 'f"block{stage}\\"-{i}"'),
    "a call in a module name": ('f"block{stage}-{i}"', 'f"block{print(stage)}-{i}"'),
    "a formatted value with a spec": ('f"block{stage}-{i}"', 'f"block{stage!r}-{i}"'),
    "add_module on another object": ("self.add_module(", "nn.add_module("),
    "a loop over something else": ("for i in range(n):", "for i in [n]:"),
    "a module key that is not a name": ('self.f.add_module("a", nn.Conv2d', 'self.f.add_module("a.b", nn.Conv2d'),
    "a module key that is computed": ('self.f.add_module("a", nn.Conv2d', 'self.f.add_module(str(1), nn.Conv2d'),
    "a module key that is a dunder": ('self.f.add_module("a", nn.Conv2d', 'self.f.add_module("__class__", nn.Conv2d'),
    "another method of a module": ('self.f.add_module("a", nn.Conv2d', 'self.f.register_module("a", nn.Conv2d'),
    "a loop body of another statement": ('self.add_module(\n                f"block', 'print(\n                f"block'),
}


@pytest.mark.parametrize("what", sorted(SMUGGLED_NAMES))
def test_the_allow_list_rejects_names_legoc_never_writes(what):
    _rejects_smuggled(NAMED, *SMUGGLED_NAMES[what])


@pytest.mark.parametrize("what", sorted(SMUGGLED))
def test_the_allow_list_rejects_what_legoc_never_writes(what):
    _rejects_smuggled("model M():\n    input [3, 8, 8]\n    relu\n", *SMUGGLED[what])


NAMED_REPETITIONS = "block l(c):\n    conv c\nmodel M(n=2):\n    input [3, 8, 8]\n    blocks: repeat n as i layer: l 3\n"
SMUGGLED_IN_A_LOOP = {
    "a key formatting another value": ('f"layer{i + 1}"', 'f"layer{__import__(\'os\')}"'),
    "a key that is not a name": ('f"layer{i + 1}"', 'f"la.yer{i + 1}"'),
    "a key with a conversion": ('f"layer{i + 1}"', 'f"layer{i + 1!r}"'),
    "a loop over something other than range": ("in range(n)", "in iter([1])"),
    "another method in the body": ("self.blocks.add_module(", "self.blocks.register_buffer("),
    "a second statement in the body": ("L(3, 3))", "L(3, 3))\n            print(i)"),
    "a loop with an else": ("L(3, 3))", "L(3, 3))\n        else:\n            pass"),
    "a loop in forward": ("x = self.blocks(x)", "for i in range(1):\n            self.blocks.add_module(f\"layer{i + 1}\", L(3, 3))\n        x = self.blocks(x)"),
}


@pytest.mark.parametrize("what", sorted(SMUGGLED_IN_A_LOOP))
def test_the_allow_list_accepts_only_the_loop_of_named_repetitions(what):
    _rejects_smuggled(NAMED_REPETITIONS, *SMUGGLED_IN_A_LOOP[what])


_SCALED = """\
block scaled(p, init=1e-6)(x):
    gamma: param [in_channels, 1, 1] init=init
    y = (gamma, x) -> mul -> stochastic_depth p
    return (y, x) -> add

block stage(n, p):
    repeat n as i scaled p * i / (n + 1)

model M(n=3):
    input [3, 8, 8]
    stage n 0.1
"""


@pytest.mark.parametrize(
    "old, new",
    [
        ("nn.Parameter(torch.full((in_channels, 1, 1), init))", "nn.Parameter(torch.load(init))"),
        ("nn.Parameter(torch.full((in_channels, 1, 1), init))", 'nn.Parameter(torch.full((in_channels, 1, 1), init, device="cuda"))'),
        ("nn.Parameter(torch.full((in_channels, 1, 1), init))", "nn.Parameter(torch.full(in_channels, init))"),
        ("for i in range(n)", "for nn in range(n)"),
        ("for i in range(n)", "for i in range(n) if i"),
        ("for i in range(n)", "for i in iter(n)"),
    ],
    ids=["another tensor", "a keyword", "not a tuple of sizes", "a shadowing index", "a filter", "not over range"],
)
def test_learned_tensors_and_indexed_repeats_are_allowed_only_as_legoc_writes_them(old, new):
    """`name: param [...] init=...` is `nn.Parameter(torch.full((sizes), init))`
    and `repeat n as i` a comprehension over range with the index; `/` is
    the spec's float arithmetic."""
    assert " / " in compile_source(_SCALED, "m.lego").code
    _rejects_smuggled(_SCALED, old, new)


_TOKENS = """\
model M(dim=8):
    input x: [4, 8]
    cls: param [1, dim] batch=1 init=zeros
    pos: param [5, dim] batch=1 init=normal std=0.02
    y = (cls, x) -> cat
    output z = (y, pos) -> add -> attn: mha 2
"""


@pytest.mark.parametrize(
    "old, new",
    [
        ("torch.zeros(1, 1, dim)", "torch.zeros(1, 1, dim, device=\"cuda\")"),
        ("torch.zeros(1, 1, dim)", "torch.load(1, 1, dim)"),
        ("torch.empty(1, 5, dim).normal_(std=0.02)", "torch.empty(1, 5, dim).normal_(mean=print(0))"),
        ("torch.empty(1, 5, dim).normal_(std=0.02)", "torch.empty(1, 5, dim).exponential_(std=0.02)"),
        ("self.cls.expand(n, -1, -1)", "self.cls.expand(print(n), -1, -1)"),
        ("need_weights=False", "need_weights=print(0)"),
    ],
    ids=["a keyword", "another function", "another keyword of normal_", "another fill", "a call in expand", "a call in a keyword"],
)
def test_class_tokens_and_attention_are_allowed_only_as_legoc_writes_them(old, new):
    """`batch=1` learned tensors are `nn.Parameter(torch.zeros(...))` or
    `nn.Parameter(torch.empty(...).normal_(std=...))`, expanded in forward;
    `mha` is called with (x, x, x, need_weights=False)."""
    code = compile_source(_TOKENS, "m.lego").code
    assert "self.cls.expand(n, -1, -1)" in code and "need_weights=False" in code
    _rejects_smuggled(_TOKENS, old, new)


_ATTENTION = """\
model M():
    input x: [4, 8]
    output y = x -> attn: mhsa 2 attn_drop=0.1
"""


@pytest.mark.parametrize(
    "old, new",
    [
        ("self.training", "print(0)"),
        ("dropout_p=", "enable_gqa=print(0), dropout_p="),
        ("torch.nn.functional.scaled_dot_product_attention(", "torch.nn.functional.dropout("),
    ],
    ids=["a dropout decided otherwise", "another keyword", "another function"],
)
def test_attention_is_allowed_only_as_legoc_writes_it(old, new):
    """`(q, k, v) -> attention` is torch.nn.functional.scaled_dot_product_attention,
    its dropout given in training only."""
    _rejects_smuggled(_ATTENTION, old, new)



_SWIN = "model M():\n    input [8, 8, 4]\n    shifted_window_attention 4 2 2\n"


@pytest.mark.parametrize(
    "old, new",
    [
        ('torch.fx.wrap("shifted_window_attention")', 'torch.fx.wrap("eval")'),
        ('torch.fx.wrap("shifted_window_attention")', 'torch.fx.wrap("shifted_window_attention")\nprint(0)'),
        ('torch.fx.wrap("shifted_window_attention")', ""),
    ],
    ids=["another function wrapped", "a statement after the wrap", "the wrap left out"],
)
def test_a_helpers_fx_wrap_is_allowed_only_as_legoc_writes_it(old, new):
    """The one module-level statement a helper brings, `torch.fx.wrap` of
    the Swin function (codegen/swin_source.py), exactly where it is written."""
    _rejects_smuggled(_SWIN, old, new)


INDEXED = """\
block head(k)(x):
    cls = x -> select 0
    mid = x -> slice k (-1) step=2 dim=1
    (a, b, c) = x -> slice 0 3 -> unbind 0
    return (cls, a) -> add

model M():
    input [10, 8]
    head 2
"""
SMUGGLED_INDEXES = {
    "a call as an index": ("x[:, 0]", "x[:, print(0)]"),
    "a string as an index": ("x[:, 0]", 'x[:, "a"]'),
    "an index before the batch axis": ("x[:, 0]", "x[0, :]"),
    "a bound that is a call": ("x[:, :, self.k : -1 : 2]", "x[:, :, self.k : len(x) : 2]"),
    "a dunder attribute as a bound": ("x[:, :, self.k : -1 : 2]", "x[:, :, self.__dict__ : -1 : 2]"),
    "another method than unbind": ("parts.unbind(1)", "parts.tolist(1)"),
}


@pytest.mark.parametrize("what", sorted(SMUGGLED_INDEXES))
def test_the_allow_list_accepts_only_the_indexing_legoc_writes(what):
    _rejects_smuggled(INDEXED, *SMUGGLED_INDEXES[what])


# ------------------------------------------ the compiler evaluates nothing

# Calls that run or load code: by name, and by module.function.
FORBIDDEN_NAMES = frozenset({"eval", "exec", "compile", "__import__", "breakpoint", "execfile", "input"})
FORBIDDEN_ATTRS = {
    "os": {"system", "popen", "execv", "execve", "execl", "execlp", "execvp", "spawnl", "spawnv", "startfile"},
    "importlib": {"import_module", "__import__"},
    "builtins": {"eval", "exec", "compile", "__import__"},
    "jinja2": {"Template"},
}
# Modules that load or run code: not imported at all.
FORBIDDEN_MODULES = frozenset({"pickle", "marshal", "shelve", "dill", "runpy", "code", "codeop", "ctypes"})
# getattr/setattr with a name that is not a literal: allowed only where the
# name comes from the compiler's own constants (summary.py: `f` runs over a
# literal tuple of _Cost's field names; record.py and expressions.py: `name`
# runs over a dataclass's own field names).
DYNAMIC_GETATTR_OK = {("summary.py", "f"), ("record.py", "name"), ("expressions.py", "name")}
# `legoc.load` (api.py) exists to run the module legoc has just generated:
# the one place that executes code, and only code the compiler wrote, whose
# every statement tests/test_hostile.py's allow-list holds to legoc's own.
RUNS_GENERATED_CODE_OK = ["api.py: calls builtins.compile", "api.py: calls exec"]


def _compiler_sources() -> list[Path]:
    return sorted((ROOT / "legoc").rglob("*.py"))


def evaluation_problems(paths: list[Path]) -> list[str]:
    """Each place in `paths` that could run or load code it was given."""
    problems = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for module in modules:
                    if module.split(".")[0] in FORBIDDEN_MODULES:
                        problems.append(f"{where}: imports {module}")
                if isinstance(node, ast.ImportFrom):
                    top = (node.module or "").split(".")[0]
                    banned = FORBIDDEN_ATTRS.get(top)
                    if banned and any(a.name in banned for a in node.names):
                        problems.append(f"{where}: imports {[a.name for a in node.names]} from {node.module}")
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id in FORBIDDEN_NAMES:
                problems.append(f"{where}: calls {f.id}")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if f.attr in FORBIDDEN_ATTRS.get(f.value.id, set()):
                    problems.append(f"{where}: calls {f.value.id}.{f.attr}")
            if isinstance(f, ast.Attribute) and f.attr in ("from_string",):
                problems.append(f"{where}: renders a template from a string")
            if isinstance(f, ast.Name) and f.id in ("getattr", "setattr", "delattr", "hasattr"):
                name = node.args[1] if len(node.args) > 1 else None
                if not isinstance(name, ast.Constant):
                    ok = isinstance(name, ast.Name) and (path.name, name.id) in DYNAMIC_GETATTR_OK
                    if not ok:
                        problems.append(f"{where}: {f.id} with a computed name")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    problems.append(f"{where}: shell=")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "subprocess":
                argv = node.args[0] if node.args else None
                if not isinstance(argv, (ast.List, ast.Tuple)):
                    problems.append(f"{where}: subprocess without a literal argv list")
    return problems


def test_the_compiler_never_evaluates_input():
    problems = [re.sub(r":[0-9?]+:", ":", p, count=1) for p in evaluation_problems(_compiler_sources())]
    # The exemption stays exact: load's one exec, once.
    assert sorted(problems) == RUNS_GENERATED_CODE_OK


def test_the_source_check_catches_what_it_looks_for(tmp_path):
    bad = (
        "import pickle\nimport subprocess\nfrom importlib import import_module\n"
        'eval(x)\nexec(x)\ncompile(x, "f", "exec")\n__import__(x)\nos.system(x)\n'
        'subprocess.run("dot " + x, shell=True)\ngetattr(m, name)\njinja2.Template(x)\nenv.from_string(x)\n'
    )
    (tmp_path / "bad.py").write_text(bad)
    found = "\n".join(evaluation_problems([tmp_path / "bad.py"]))
    for what in (
        "imports pickle", "imports ['import_module']", "calls eval", "calls exec", "calls compile", "calls __import__",
        "calls os.system", "shell=", "literal argv", "getattr with a computed name", "calls jinja2.Template", "from a string",
    ):
        assert what in found


# ------------------------------------------------ long lines in diagnostics


def _warnings_output(repetitions: int) -> str:
    from legoc.tools.config import Config
    from legoc.tools.specfile import enabled

    text = "model M():\n    input [8, 8, 8]\n    " + "relu; " * repetitions + "conv 8\n"
    sources = {"long.lego": SourceFile("long.lego", text)}
    warnings = enabled(compile_source(text, "long.lego").warnings, sources, Config())
    return "\n".join(render(d, sources) for d in warnings)


def test_diagnostics_output_grows_linearly_with_the_spec():
    """`relu; ` x 5000 on one line: every warning echoed the whole 30 KB line
    (450 MB of output); a window around the caret keeps each one small."""
    small, large = _warnings_output(1000), _warnings_output(5000)
    assert 4.5 < len(large) / len(small) < 5.5, (len(small), len(large))
    assert max(map(len, large.splitlines())) <= 120


def test_a_long_line_is_cut_around_the_caret():
    line = "x" * 300 + "BAD" + "y" * 300
    sources = {"f.lego": SourceFile("f.lego", line + "\n")}
    from legoc.core.diagnostics import Diagnostic, Span

    out = render(Diagnostic("warning", Span("f.lego", 1, 301, 1, 304), "here", code="LG501"), sources).splitlines()
    excerpt, caret = out[1], out[2]
    assert excerpt.startswith("  ...x") and excerpt.endswith("y...") and len(excerpt) <= 2 + 3 + 100 + 3
    assert excerpt[caret.index("^") : caret.index("^") + 3] == "BAD" and caret.strip() == "^~~"
    short = render(Diagnostic("warning", Span("f.lego", 1, 2, 1, 3), "here"), {"f.lego": SourceFile("f.lego", "abc\n")}).splitlines()
    assert short[1:] == ["  abc", "   ^"]  # a short line is shown whole, as before


@pytest.mark.parametrize(
    "old, new",
    [
        ("noise = noise.bernoulli_(survival_rate)", "noise = noise.bernoulli_(survival_rate)\n        import os"),
        ("return x * noise", "return eval('x') * noise"),
        ('if self.mode == "row":', 'if self.mode == "col":'),
    ],
    ids=["an import", "eval", "a changed constant"],
)
def test_a_helper_class_is_allowed_only_exactly_as_legoc_writes_it(old, new):
    code = compile_source("model M():\n    input [3, 8, 8]\n    stochastic_depth 0.1\n", "m.lego").code
    check_generated(code)
    assert old in code
    with pytest.raises((Rejected, AssertionError)):
        check_generated(black.format_str(code.replace(old, new, 1), mode=black.Mode()))



@pytest.mark.parametrize(
    "old, new",
    [
        ("new_v += divisor", "new_v += divisor\n        import os"),
        ("if new_v < 0.9 * v:", "if new_v < 0.8 * v:"),
        ("return new_v", "return eval('new_v')"),
    ],
    ids=["an import", "a changed constant", "eval"],
)
def test_the_helper_function_is_allowed_only_exactly_as_legoc_writes_it(old, new):
    code = compile_source("model M(w=1.0):\n    input [3, 8, 8]\n    conv make_divisible(32 * w, 8)\n", "m.lego").code
    check_generated(code)
    assert old in code
    with pytest.raises((Rejected, AssertionError)):
        check_generated(black.format_str(code.replace(old, new, 1), mode=black.Mode()))

PRODUCT = 'model M()(a, b):\n    input a: [3, 4]\n    input b: [4, 4]\n    g = (a, b) -> einsum "i k, k j -> i j"\n    output y = (g, b) -> matmul\n'
SMUGGLED_EQUATIONS = {
    "an equation that is not letters": ('"bik,bkj->bij"', '"bik,bkj->bij" if print() else "x"'),
    "another string": ('"bik,bkj->bij"', '"__import__(\'os\')"'),
    "an einsum with no equation": ('torch.einsum("bik,bkj->bij", a, b)', "torch.einsum(a, b)"),
    "a matmul of something else": ("torch.matmul(g, b)", "torch.matmul(g, print())"),
}


@pytest.mark.parametrize("what", sorted(SMUGGLED_EQUATIONS))
def test_products_are_allowed_only_as_legoc_writes_them(what):
    _rejects_smuggled(PRODUCT, *SMUGGLED_EQUATIONS[what])


ATTENTION = (
    "model M(vocab=10, p=0.1)(idx):\n    input idx: [T]\n    tok = idx -> wte: embedding vocab 8\n"
    "    pos = idx -> arange -> wpe: embedding 16 8\n    x = (tok, pos) -> add\n"
    '    (q, k, v) = x -> linear 24 -> rearrange "t (s h d) -> s h t d" s=3 h=2 -> unbind 0\n'
    "    a = (q, k, v) -> attention causal=true dropout=p\n"
    '    output y = a -> rearrange "h t d -> t (h d)" -> lm_head: linear vocab bias=false\n    lm_head.weight = wte.weight\n'
)
SMUGGLED_ATTENTION = {
    "another keyword": ("is_causal=True", "is_causal=True, enable_gqa=print()"),
    "another function of torch.nn.functional": ("torch.nn.functional.scaled_dot_product_attention(", "torch.nn.functional.interpolate("),
    "another attribute of self in forward": ("if self.training", "if self.__dict__"),
    "an arange on another device": ("device=idx.device", "device=print()"),
    "a tie of something else": ("self.lm_head.weight = self.wte.weight", "self.lm_head.weight = print()"),
    "a tie that is not a weight": ("self.lm_head.weight = self.wte.weight", "self.lm_head.forward = self.wte.forward"),
}


@pytest.mark.parametrize("what", sorted(SMUGGLED_ATTENTION))
def test_attention_positions_and_ties_are_allowed_only_as_legoc_writes_them(what):
    _rejects_smuggled(ATTENTION, *SMUGGLED_ATTENTION[what])
