"""legoc's Python API: the functions `import legoc` exports, for notebooks,
scripts and tools (docs/api.md).

    legoc.compile(source, *, name="<string>") -> str
    legoc.check(source, *, name="<string>") -> list[Diagnostic]
    legoc.load(path_or_source, *, name=None) -> types.ModuleType
    legoc.summary(path_or_source, *, name=None, model=None, input=None, batch=1, depth=3) -> Summary
    legoc.state_dict_layout(path_or_source, *, name=None, model=None) -> tuple[Entry, ...]

This layer sits above the tools (legoc/tools/) and below the command line:
it turns their results into return values and exceptions, and prints
nothing. Only `load` imports torch (by running the generated code); the
stages and tools are imported inside each function, so that importing this
module costs no more than legoc/core/diagnostics.py.

The API reads no configuration: no `[tool.legoc]` table of a pyproject.toml
(lint rules at their default selection, the default resource limits), as
`legoc check` and `legoc FILE` run without one.
"""

from __future__ import annotations

import builtins
import hashlib
import linecache
import os
import types
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Union

from .core.diagnostics import Diagnostic, SourceFile
from .core.diagnostics import SpecError as StageError

if TYPE_CHECKING:
    from .analysis.infer import Analysis
    from .tools.statedict import Entry
    from .tools.summary import Summary

__all__ = ["compile", "check", "load", "summary", "state_dict_layout", "SpecError", "Diagnostic"]

STRING_NAME = "<string>"
"""The name a spec given as text is reported under, unless `name` says."""

PathOrSource = Union[str, "os.PathLike[str]"]


class SpecError(StageError):
    """The spec has errors: raised by `compile`, `load`, `summary` and
    `state_dict_layout`.

    Attributes:
        diagnostics: every error and warning in the spec, in source order:
            the list `legoc.check` returns for the same text and name
            (`legoc.Diagnostic` values: `.severity`, `.code` such as
            "LG301", `.message`, `.span.file`, `.span.line`,
            `.span.column`, `.notes`, `.hint`).

    `str()` of it is what `legoc check` prints for them: one
    `FILE:LINE:COL: error: message [LGxxx]` line each, with the source
    line, a caret under the place, notes and the suggested fix.

    It is a subclass of `legoc.core.diagnostics.SpecError`, the exception
    legoc's stages raise inside (`legoc.compiler.compile_source`).
    """

    __module__ = "legoc"  # a traceback says `legoc.SpecError: net.lego:4:5: error: ...`

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...], text: str | None = None):
        """`text`: the rendered diagnostics (default: rendered without the
        source lines, which only the spec's text can give)."""
        super().__init__(diagnostics)
        self.diagnostics = list(diagnostics)  # type: ignore[assignment]
        self.text = text if text is not None else _render(self.diagnostics, {})

    def __str__(self) -> str:
        return self.text

    def __reduce__(self):
        return type(self), (self.diagnostics, self.text)


def compile(source: str, *, name: str = STRING_NAME) -> str:  # noqa: A001 (legoc.compile, as black.format_str)
    """Compile a spec's text to the text of a standalone PyTorch module.

    The result is byte for byte what `legoc FILE` writes for a file named
    `name` holding `source` (line ends are translated as when the command
    line reads a file: "\\r\\n" and "\\r" become "\\n"). Nothing is
    imported from torch. Warnings are not reported here: `check` lists them.

    Args:
        source: the .lego text.
        name: the file name diagnostics report; its last component names
            the spec in the generated module's header comment.

    Returns:
        The generated Python source, black-formatted, ending in a newline.

    Raises:
        SpecError: the spec has errors; `.diagnostics` lists every error and
            warning (as `check` does).
        TypeError: `source` is not a str.
    """
    return _generate(_text(source), name)


def check(source: str, *, name: str = STRING_NAME) -> list[Diagnostic]:
    """Every problem in a spec: syntax errors (parsing goes on after each),
    the errors of every definition, and the lint rules' warnings at their
    default selection, as `legoc check` reports them without a config.

    Args:
        source: the .lego text ("\\r\\n" and "\\r" read as "\\n").
        name: the file name the diagnostics' spans carry (`.span.file`).

    Returns:
        The diagnostics sorted by position (line, column, code); an empty
        list when the spec is clean. Each has `.severity` ("error" or
        "warning"), `.code` ("LG301"), `.message`, `.span` (`.file`,
        `.line`, `.column`, `.end_line`, `.end_column`; 1-based, end
        exclusive), `.notes` and `.hint` (docs/diagnostics.md).

    Raises:
        TypeError: `source` is not a str. Never raises for a mistake in
            the spec.
    """
    from .tools.check import check_text

    return check_text(_text(source), name)


def load(path_or_source: PathOrSource, *, name: str | None = None) -> types.ModuleType:
    """Compile a spec and run the generated code as a new module.

    This imports torch (the generated code does). Each call returns a new
    module; it is not put in `sys.modules`, so it cannot be imported by
    name, and pickling a model by reference to its class (`torch.save` of
    the module object) fails: save its `state_dict()`, or write
    `compile`'s code to a file to import. The code is registered with
    `linecache` under a file name such as
    `<legoc: examples/resnet18.lego 0123abcd>` (the module's `__file__`),
    so that tracebacks and `inspect.getsource` of its functions show the
    generated lines.

    Args:
        path_or_source: a path to a .lego file, or its text. An
            `os.PathLike`, or a str without a newline that names an existing
            file or ends in ".lego", is a path, read as UTF-8; any other str
            is the spec's text.
        name: the file name diagnostics report (default: the path as given,
            or "<string>" for text). The module's `__name__` is its stem:
            "resnet18" for "examples/resnet18.lego".

    Returns:
        The module: one class per block and model (`module.ResNet18`), as
        in the file `legoc FILE` writes.

    Raises:
        SpecError: the spec has errors.
        OSError: the path cannot be read (FileNotFoundError, ...).
        UnicodeDecodeError: the file is not UTF-8.
        TypeError: `path_or_source` is neither a str nor a path.
        ImportError: torch (or einops, for a spec that uses `rearrange`)
            is not installed.
    """
    text, name = _read(path_or_source, name)
    code = _generate(text, name)
    filename = f"<legoc: {name} {hashlib.sha256(code.encode()).hexdigest()[:8]}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    module = types.ModuleType(_module_name(name))
    module.__file__ = filename
    exec(builtins.compile(code, filename, "exec"), module.__dict__)
    return module


def summary(
    path_or_source: PathOrSource,
    *,
    name: str | None = None,
    model: str | None = None,
    input: object = None,  # noqa: A002 (the command line's --input)
    batch: int = 1,
    depth: int | None = 3,
    dtype: str = "float32",
) -> Summary:
    """What `legoc summary` prints, as data: each layer's output shape,
    parameters and mult-adds (torchinfo's definitions), and the totals with
    a memory estimate; from shape inference alone, without torch.

    Args:
        path_or_source: a .lego file's path or its text, as for `load`.
        name: the file name diagnostics report, as for `load`.
        model: the model to describe; needed only when the spec has several.
        input: the input sizes without the batch axis, binding the spec's
            symbolic sizes (`H`) and replacing its fixed ones where the
            model takes them, as `--input` does (docs/summary.md):
            `(3, 224, 224)`, or `"3,224,224"` as `--input` takes it; for several inputs, a list of those in
            order, or a dict from input name to sizes. None: sizes the spec
            leaves symbolic stay symbolic (and figures that depend on them
            are None).
        batch: the batch size (a whole number of at least 1).
        depth: keep rows down to this depth (1: the model's top level);
            None keeps every row. The totals always count every layer.
        dtype: "float16", "bfloat16", "float32" or "float64": the values'
            type the memory figures assume (`--dtype`).

    Returns:
        A `legoc.tools.summary.Summary`: `.model`, `.class_name`, `.batch`,
        `.inputs` ((name, shape) pairs, batch axis first), `.rows`
        (`Row`s in execution order: `.path` such as "layer1.0.conv1" or
        None for a tensor operation, `.kind`, `.depth`, `.shape`, `.params`,
        `.buffers`, `.mult_adds`, `.other_ops`, `.leaf`, `.input_shape`,
        `.kernel`), `.totals`
        (`Totals`: counts, and memory in MB of 10^6 bytes). A shape's sizes
        are ints, or `legoc.ir.symbolic.Expr`s where the input's size was
        not given; a figure is None where it depends on such a size.
        `legoc.tools.summary.to_json(result, depth)` gives the JSON that
        `legoc summary --format json` prints (docs/summary.md).

    Raises:
        SpecError: the spec has errors, or the model does not hold at the
            given input size (each diagnostic with a note saying so).
        ValueError: no such model (or several and none chosen), an input
            size that does not fit the spec (or builds other layers than
            the spec's size) or is over the limits, a bad `batch`, `depth`
            or `dtype`; the message says which.
        OSError, UnicodeDecodeError, TypeError: as for `load`.
    """
    from dataclasses import replace

    from .compiler import check_source
    from .core.limits import DEFAULT
    from .tools.modelcli import build_instance
    from .tools.resize import check_resized, resized_analysis
    from .tools.summary import DTYPES, summarize

    _whole("batch", batch)
    if depth is not None:
        _whole("depth", depth)
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    given = _inputs(input)
    analysis, chosen = _model(path_or_source, name, model)
    resized = None
    if given:  # in place of a fixed input size: the spec checked again at the given one (docs/summary.md)
        text, file = _read(path_or_source, name)
        try:
            resized = resized_analysis(text, file, analysis, chosen, given, lambda new: check_source(new, file), DEFAULT.max_size)
        except StageError as exc:
            raise _spec_error(text, file, exc.diagnostics) from None
    instance = build_instance(resized or analysis, chosen, given, batch, DEFAULT)
    if resized is not None:
        check_resized(analysis, chosen, given, instance)
    result = summarize(instance, batch, dtype)
    if depth is None:
        return result
    return replace(result, rows=tuple(r for r in result.rows if r.depth <= depth))


def state_dict_layout(path_or_source: PathOrSource, *, name: str | None = None, model: str | None = None) -> tuple[Entry, ...]:
    """What `legoc state-dict` prints, as data: the keys and shapes of
    `Model().state_dict()` of the generated module, built with the model's
    default arguments, in the order torch gives them; without torch.

    Args:
        path_or_source: a .lego file's path or its text, as for `load`.
        name: the file name diagnostics report, as for `load`.
        model: the model to describe; needed only when the spec has several.

    Returns:
        `legoc.tools.statedict.Entry` records: `.key` ("layer1.0.conv1.weight"),
        `.shape` (a tuple of ints; `()` for a 0-dim tensor) and `.buffer`
        (True for batch norm's running statistics, False for a parameter).

    Raises:
        SpecError: the spec has errors.
        ValueError: no such model (or several and none chosen), or the model
            unrolls to more modules than legoc describes.
        OSError, UnicodeDecodeError, TypeError: as for `load`.
    """
    from .tools import statedict

    analysis, chosen = _model(path_or_source, name, model)
    return statedict.state_dict_layout(analysis, chosen)


# ------------------------------------------------------------------ helpers


def _generate(text: str, name: str) -> str:
    """`compile` of text whose line ends are translated already."""
    from .compiler import compile_source

    try:
        return compile_source(text, name).code
    except StageError as exc:
        raise _spec_error(text, name, exc.diagnostics) from None


def _spec_error(text: str, name: str, found: tuple[Diagnostic, ...]) -> SpecError:
    """The `SpecError` for a spec (`text`, reported as `name`) that a stage
    rejected with the diagnostics `found`: it carries what `check` finds,
    every error and warning (a stage stops at the first syntax error; check
    goes on), or `found` should check find no error."""
    everything = check(text, name=name)
    if not any(d.severity == "error" for d in everything):
        everything = list(found)
    return SpecError(everything, _render(everything, {name: SourceFile(name, text)}))


def _module_name(name: str) -> str:
    """A loaded module's `__name__`: the stem of the file name `name`
    ("resnet18" for "examples/resnet18.lego"); `name` itself when it has
    no stem ("<string>")."""
    return PurePosixPath(name.replace("\\", "/")).stem or name


def _render(found: list[Diagnostic], sources: dict[str, SourceFile]) -> str:
    from .compiler import PRELUDE_NAME, prelude_source
    from .tools.report import format_text

    return format_text(found, {PRELUDE_NAME: prelude_source(), **sources}, color=False)


def _text(source: object) -> str:
    """Spec text with line ends as the command line reads them."""
    if not isinstance(source, str):
        raise TypeError(f"a spec's text must be a str, not {type(source).__name__}")
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _read(path_or_source: object, name: str | None) -> tuple[str, str]:
    """(text, name) of a path or a spec's text (see `load`).

    Raises:
        OSError, UnicodeDecodeError: the file cannot be read.
        TypeError: neither a str nor a path.
    """
    if isinstance(path_or_source, os.PathLike) or (
        isinstance(path_or_source, str)
        and "\n" not in path_or_source
        and (path_or_source.endswith(".lego") or os.path.exists(path_or_source))
    ):
        path = os.fsdecode(os.fspath(path_or_source))
        with open(path, encoding="utf-8") as f:  # line ends translated, as `legoc FILE` reads
            return f.read(), path if name is None else name
    if not isinstance(path_or_source, str):
        raise TypeError(f"expected a path or a spec's text (str), not {type(path_or_source).__name__}")
    return _text(path_or_source), STRING_NAME if name is None else name


def _analysis(path_or_source: object, name: str | None) -> Analysis:
    from .compiler import check_source

    text, name = _read(path_or_source, name)
    try:
        return check_source(text, name)
    except StageError as exc:
        raise _spec_error(text, name, exc.diagnostics) from None


def _model(path_or_source: object, name: str | None, requested: str | None) -> tuple[Analysis, str]:
    """The checked spec and the model chosen (`requested`, or its only one).

    Raises:
        SpecError: the spec has errors.
        ValueError (InstanceError): no such model, or several and none chosen.
    """
    from .tools.instance import InstanceError
    from .tools.modelcli import pick_model

    analysis = _analysis(path_or_source, name)
    try:
        return analysis, pick_model(analysis, requested)
    except InstanceError as exc:
        hint = "; choose one with model=NAME" if "its models are" in str(exc) else ""
        raise InstanceError(f"the spec {exc}{hint}") from None


def _whole(what: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a whole number of at least 1, not {value!r}")


def _inputs(given: object) -> list[tuple[str | None, tuple[int, ...]]]:
    """`summary`'s `input` as (input name or None, sizes) pairs.

    Raises:
        ValueError: a size that is not a positive whole number, or text
            that is not `C,H,W` / `NAME=C,H,W`.
    """
    if given is None:
        return []
    if isinstance(given, Mapping):
        return [(str(key), _sizes(value)[1]) for key, value in given.items()]
    if isinstance(given, str) or _all_ints(given):
        return [_sizes(given)]
    if isinstance(given, (list, tuple)):
        return [_sizes(item) for item in given]
    raise ValueError(f"input must be sizes such as (3, 224, 224) or '3,224,224', a list of those, or a dict; not {given!r}")


def _all_ints(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value) and len(value) > 0


def _sizes(value: object) -> tuple[str | None, tuple[int, ...]]:
    if isinstance(value, str):
        from argparse import ArgumentTypeError

        from .tools.modelcli import input_shape

        try:
            return input_shape(value)
        except ArgumentTypeError as exc:
            raise ValueError(str(exc)) from None
    if not _all_ints(value):
        raise ValueError(f"{value!r} is not an input's sizes: give whole numbers, such as (3, 224, 224)")
    sizes = tuple(value)  # type: ignore[arg-type]
    if any(size < 1 for size in sizes):
        raise ValueError(f"{value!r} is not an input's sizes: every size must be at least 1")
    return None, sizes
