"""Shared helpers for legoc's tests.

Golden files live in tests/__snapshots__/ and are managed by syrupy;
regenerate them with `pytest tests/test_golden.py --snapshot-update`.

Hypothesis profiles (docs/reliability.md, "Deterministic tests"):

- `ci`: derandomized (the same examples on every run), no deadline, no example
  database, failing examples printed as reproducible blobs. Chosen when the
  environment variable CI is set to anything but "", "0" or "false" (CI
  services and `.ci/run` set CI=true), or with `--hypothesis-profile=ci`.
- `dev` (the default otherwise): hypothesis's defaults, randomized (new
  examples on each run), with its example database in .hypothesis/. Long
  randomized runs raise the tests' own example counts (README,
  "Development"): LEGOC_LALR_EXAMPLES, LEGOC_FUZZ_EXAMPLES,
  LEGOC_DIFFERENTIAL_EXAMPLES.

Every test also starts with Python's and torch's random generators seeded
(`_seeded`), so that what they draw is the same on every run.
"""

from __future__ import annotations

import functools
import os
import random
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# legoc's syntax-tree and IR classes are frozen in the tests, so that an
# assignment to a built node fails here; the command line leaves them
# unfrozen, which is cheaper to import (legoc/core/record.py, FROZEN). Set
# before legoc is imported; subprocesses inherit it.
os.environ["LEGOC_FROZEN_NODES"] = "1"
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", parent=settings.get_profile("default"))  # not the default now: hypothesis loads its own "ci" when CI is set at all
# Loaded here, before the test modules: their `@settings(...)` inherit the
# profile chosen now. `--hypothesis-profile` (hypothesis's pytest plugin)
# loads its profile later and overrides this one.
settings.load_profile("ci" if os.environ.get("CI", "").lower() not in ("", "0", "false") else "dev")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REFERENCE = Path(__file__).resolve().parent / "reference" / "architectures.md"


def write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text) under `directory`, making the
    folders they need; returns `directory`."""
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.lego"))


@dataclass(frozen=True)
class BuiltExample:
    """An example compiled, with its (only) model unrolled for `sizes`: the
    given input shapes (no batch axis), and for each input whether it holds
    token ids (read by an embedding) rather than floats."""

    compiled: object
    ir: object
    sizes: tuple[tuple[int, ...], ...]
    instance: object
    token_ids: tuple[bool, ...]


def build_example(name: str, side: int) -> BuiltExample:
    """Compile examples/NAME.lego and unroll its model, built with its default
    arguments, with every symbolic input size set to `side`."""
    from legoc.ir import symbolic as sy
    from legoc.compiler import compile_source
    from legoc.tools.inputs import bind_inputs
    from legoc.tools.instance import instantiate, model_names

    compiled = compile_source((EXAMPLES / f"{name}.lego").read_text(), f"{name}.lego")
    (model,) = model_names(compiled.analysis)
    # The model with its default arguments: an input size that is a model
    # parameter (`input [in_chans, 224, 224]`) is its default, as built.
    ir = compiled.analysis.defaults[model]
    sizes = tuple(tuple(side if sy.value_of(e) is None else sy.value_of(e) for e in port.shape) for port in ir.inputs)
    instance = instantiate(compiled.analysis, model, bind_inputs(ir, [(None, s) for s in sizes]))
    return BuiltExample(compiled, ir, sizes, instance, instance.token_ids())


def load_module(code: str, name: str = "generated") -> types.ModuleType:
    """Execute generated code as a fresh module."""
    module = types.ModuleType(name)
    exec(compile(code, f"<{name}>", "exec"), module.__dict__)
    return module


def torchvision_definitions(path: str, *names: str, **needs) -> dict:
    """`names` (classes and functions) as torchvision defines them in
    `torchvision/<path>` ("models/densenet.py", "ops/misc.py"), run from
    its source with torch; `needs` gives the names they use from other
    torchvision modules (`Conv2dNormActivation=...`, from
    `torchvision_definitions("ops/misc.py", ...)`).

    torchvision (a test dependency, pyproject.toml) is here for its
    pure-Python definitions, the references of exactness: its package is
    never imported, since the compiled ops of the torchvision build that
    pairs with torch 2.13.0 do not load beside torch's CPU build
    ("operator torchvision::nms does not exist"). Skips the test when
    torchvision is not installed.
    """
    return _torchvision_definitions(path, names, tuple(sorted(needs.items())))


@functools.lru_cache(maxsize=None)
def _torchvision_definitions(path: str, names: tuple[str, ...], needs: tuple) -> dict:
    import ast
    import collections
    import importlib.util
    import itertools
    import typing
    import warnings

    import torch

    spec = importlib.util.find_spec("torchvision")  # finds the package without importing it
    if spec is None:
        pytest.skip("torchvision is not installed")
    source = (Path(spec.origin).parent / path).read_text(encoding="utf-8")
    wanted = [node for node in ast.parse(source).body if getattr(node, "name", None) in names]
    assert sorted(n.name for n in wanted) == sorted(names), f"torchvision/{path} defines no {sorted(set(names) - {n.name for n in wanted})}"
    env = {
        "__name__": "torchvision_" + path.replace("/", "_").removesuffix(".py"),
        **{name: getattr(typing, name) for name in ("Any", "Callable", "List", "Optional", "Tuple", "Union")},
        "Sequence": collections.abc.Sequence,
        "collections": collections,
        "repeat": itertools.repeat,
        "partial": functools.partial,
        "warnings": warnings,
        "torch": torch,
        "nn": torch.nn,
        "F": torch.nn.functional,
        "Tensor": torch.Tensor,
        "_log_api_usage_once": lambda obj: None,  # torchvision's usage logging
        **dict(needs),
    }
    # dont_inherit: the definitions are compiled without this file's `from __future__ import annotations`, as torchvision runs them (a dataclass would look for its module in sys.modules to read string annotations)
    exec(compile(ast.Module(wanted, []), f"torchvision/{path}", "exec", dont_inherit=True), env)
    return {name: env[name] for name in names}


def torchvision_module(name: str) -> types.ModuleType:
    """torchvision's pure-Python module `torchvision.<name>`
    ("models.feature_extraction"), imported from its source folder without
    running torchvision's package `__init__`.

    That `__init__` registers meta kernels for compiled ops that the
    torchvision build pairing with torch 2.13.0 cannot load beside torch's
    CPU build ("operator torchvision::nms does not exist"). So the first
    call puts in `sys.modules` a `torchvision` package whose `__init__` is
    empty and whose submodules are torchvision's own files, read from its
    source folder as they are imported; nothing compiled is loaded (a
    submodule that needs it fails to import). Skips the test when
    torchvision is not installed.
    """
    import importlib

    torchvision_package()
    return importlib.import_module(f"torchvision.{name}")


def torchvision_package() -> types.ModuleType:
    """The `torchvision` package of `torchvision_module`, with an empty
    `__init__`, put in `sys.modules` on the first call."""
    import importlib.util

    if "torchvision" not in sys.modules:
        spec = importlib.util.find_spec("torchvision")
        if spec is None:
            pytest.skip("torchvision is not installed")
        package = types.ModuleType("torchvision")
        package.__path__ = [str(Path(spec.origin).parent)]
        package.__file__ = spec.origin
        package.__spec__ = spec  # torchvision_definitions' find_spec reads it once the stub is in sys.modules
        sys.modules["torchvision"] = package
    return sys.modules["torchvision"]


def timm_create_model(name: str, **kwargs):
    """timm's `timm.create_model(name, pretrained=False, **kwargs)`: a
    reference of exactness from timm's pure-Python model code (a test
    dependency, pyproject.toml).

    timm imports torchvision (its transforms, `FrozenBatchNorm2d`): the
    first call installs torchvision's package without its `__init__`
    (`torchvision_package`) before timm imports it. Skips the test when timm
    or torchvision is not installed.
    """
    torchvision_package()
    timm = pytest.importorskip("timm")
    return timm.create_model(name, pretrained=False, **kwargs)


def reference_table() -> dict[str, dict[str, str]]:
    """Rows of the reference table, keyed by architecture name."""
    rows = {}
    for line in REFERENCE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[\d,]+", cells[4]):
            rows[cells[0]] = {"reference": cells[1], "input": cells[2], "output": cells[3], "parameters": cells[4]}
    return rows


class PythonSnapshot(SingleFileSnapshotExtension):
    """Golden files stored as plain .py files, one per test."""

    _write_mode = WriteMode.TEXT
    file_extension = "py"


@pytest.fixture(autouse=True)
def _seeded():
    """Python's and (when a test has imported it) torch's random generators
    in the same state at the start of every test."""
    random.seed(0)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch):
    """No test inherits FORCE_COLOR from the shell or the CI service that
    runs it (legoc colours its diagnostics when it is set, as
    https://force-color.org says); the colour tests set it themselves."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture
def golden(snapshot):
    return snapshot.use_extension(PythonSnapshot)
