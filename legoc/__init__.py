"""legoc: a compiler from .lego architecture specs to standalone PyTorch code.

The compiler never imports torch. See `legoc.compiler.compile_source`.
"""

__version__ = "0.1.0"
