"""`legoc lsp`: a language server for .lego specs over standard input and
output, built on pygls (the optional extra `pip install 'legoc[lsp]'`).

    legoc lsp

This module is what the command line imports; it imports pygls only when
the server starts (legoc/tools/lsp/server.py), and says how to install it
when it is missing. legoc/tools/lsp/document.py is the analysis of one
spec the server answers from, without pygls.
"""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = (
    "Run the legoc language server over standard input and output (the Language Server Protocol): "
    "diagnostics as you type, the shape after every statement, hover, go to definition, completion, "
    "code actions. Needs the lsp extra: pip install 'legoc[lsp]'."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`legoc lsp`'s description and options, on its subparser."""
    p.description = DESCRIPTION
    p.add_argument("--stdio", action="store_true", help="talk over standard input and output (the default and only transport)")


def run(args: argparse.Namespace) -> int:
    """Serve until the client exits; returns the exit status (2 when pygls
    is not installed)."""
    try:
        from .server import serve
    except ImportError as exc:
        if exc.name is None or not exc.name.split(".")[0] in ("pygls", "lsprotocol", "cattrs"):
            raise
        print(
            f"legoc lsp: error: the language server needs pygls ({exc.name} is not installed); "
            "install it with: pip install 'legoc[lsp]'",
            file=sys.stderr,
        )
        return 2
    serve()
    return 0
