"""legoc: a compiler from .lego architecture specs to standalone PyTorch code.

The compiler never imports torch. See `legoc.compiler.compile_source`.
"""

from .core.version import __version__

__all__ = ["__version__"]
