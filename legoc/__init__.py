"""legoc: a compiler from .lego architecture specs to standalone PyTorch code.

The Python API (legoc/api.py, docs/api.md):

    legoc.compile(source, *, name="<string>") -> str           # the generated module's code
    legoc.check(source, *, name="<string>") -> list[Diagnostic]  # every error and warning
    legoc.load(path_or_source, *, name=None) -> types.ModuleType # run it (imports torch)
    legoc.summary(path_or_source, *, model=None, input=None, batch=1, depth=3)
    legoc.state_dict_layout(path_or_source, *, model=None)
    legoc.SpecError, legoc.Diagnostic

These are imported on first use (the module's `__getattr__`), so that
`import legoc`, and with it `legoc --version` and `legoc check`, imports
nothing but the version. The compiler never imports torch; only `load` does.
"""

from .core.version import __version__

# Not `from typing import TYPE_CHECKING`: importing typing takes longer than
# legoc's own start-up (type checkers read this constant as typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers and editors; at run time, __getattr__ below
    from .api import Diagnostic, SpecError, check, compile, load, state_dict_layout, summary

_API = ("compile", "check", "load", "summary", "state_dict_layout", "SpecError", "Diagnostic")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    """`legoc.compile` and the rest of the API, imported from legoc/api.py
    when first asked for."""
    if name in _API:
        from .api import Diagnostic, SpecError, check, compile, load, state_dict_layout, summary

        exported = dict(compile=compile, check=check, load=load, summary=summary, state_dict_layout=state_dict_layout, SpecError=SpecError, Diagnostic=Diagnostic)
        globals().update(exported)  # asked once: later lookups find them here
        return exported[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
