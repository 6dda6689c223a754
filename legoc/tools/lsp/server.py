"""The language server itself: pygls's `LanguageServer` with legoc's
features, answering from legoc/tools/lsp/document.py's `Document` (one per
open file, rebuilt after each change) and legoc/tools/lsp/answers.py (hover
text, completion items).

Positions: legoc's spans are 1-based (line, column), a column counting
characters; the protocol's are 0-based, in the code units of the encoding
agreed with the client (`Positions`).
Diagnostics are published on open at once and after changes once the
typing pauses (`DEBOUNCE` seconds).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from ...core.diagnostics import Diagnostic, Span, SpecError
from ...core.version import __version__
from ..report import help_uri

if TYPE_CHECKING:
    from .document import Document

# The compiler (document.py, answers.py) is imported when the first file is
# opened, not at start-up: the client's `initialize` is answered sooner.

DEBOUNCE = 0.2
"""Seconds after the last change before a spec is analysed again."""

COMPLETION_KINDS = {"Function": t.CompletionItemKind.Function, "Class": t.CompletionItemKind.Class, "Property": t.CompletionItemKind.Property}
SEVERITY = {"error": t.DiagnosticSeverity.Error, "warning": t.DiagnosticSeverity.Warning}


class Positions:
    """Positions in one document between legoc (lines and columns 1-based,
    a column counting characters) and the protocol (0-based, a character
    counting the code units of the encoding agreed with the client: UTF-16
    unless it asked for another). `lines` is the text the spans are of."""

    def __init__(self, lines: list[str], codec) -> None:
        self.lines, self.codec = lines, codec

    def _text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def position(self, line: int, column: int) -> t.Position:
        """legoc's (line, column) for the protocol."""
        text = self._text(line)
        char = max(column - 1, 0)
        if not text.isascii():
            char = self.codec.client_num_units(text[:char])
        return t.Position(line - 1, char)

    def range(self, span: Span) -> t.Range:
        """A legoc span (end exclusive) as a protocol range."""
        return t.Range(self.position(span.line, span.column), self.position(span.end_line, span.end_column))

    def legoc(self, pos: t.Position) -> tuple[int, int]:
        """The protocol's position as legoc's (line, column)."""
        text = self._text(pos.line + 1)
        char = pos.character
        if not text.isascii():
            units = 0
            for i, ch in enumerate(text):
                if units >= pos.character:
                    char = i
                    break
                units += self.codec.client_num_units(ch)
            else:
                char = len(text)
        return pos.line + 1, char + 1


def to_diagnostic(diag: Diagnostic, uri: str, doc: Document, pos: Positions) -> t.Diagnostic:
    """One legoc diagnostic for the protocol: notes with a place become
    related information (in this file; the prelude's have no URI) and the
    others and the hint join the message; a fix travels in `data`."""
    message = diag.message
    related = []
    for note in diag.notes:
        if note.span is not None and note.span.file == doc.name:
            related.append(t.DiagnosticRelatedInformation(t.Location(uri, pos.range(note.span)), note.message))
        else:
            message += f"\nnote: {note.message}"
    if diag.hint:
        message += f"\nhelp: {diag.hint}"
    fix = doc.fix_of(diag)
    data = None if fix is None else {"title": fix.title, "range": _json_range(pos.range(fix.span)), "text": fix.replacement}
    uri = help_uri(diag.code) if diag.code else None  # the code's documentation, as ruff's server links it
    return t.Diagnostic(
        range=pos.range(diag.span),
        message=message,
        severity=SEVERITY.get(diag.severity, t.DiagnosticSeverity.Error),
        code=diag.code or None,
        code_description=None if uri is None else t.CodeDescription(href=uri),
        source="legoc",
        related_information=related or None,
        data=data,
    )


def _json_range(r: t.Range) -> dict:
    return {"start": {"line": r.start.line, "character": r.start.character}, "end": {"line": r.end.line, "character": r.end.character}}


class LegocServer(LanguageServer):
    """pygls's server with the analysed documents and the pending analyses."""

    def __init__(self) -> None:
        super().__init__("legoc", __version__)
        self.documents: dict[str, Document] = {}
        self.sessions: dict[str, object] = {}
        self.configs: dict[str, object] = {}  # [tool.legoc] settings by folder  # document.py's Session: what the next analysis of a file reuses
        self.pending: dict[str, asyncio.TimerHandle] = {}

    def analyse(self, uri: str) -> Document:
        """Analyse the open file `uri` now and publish its diagnostics."""
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        from .document import Document, Session

        text_doc = self.workspace.get_text_document(uri)
        name, config = self.settings(uri)
        try:
            doc = Document(text_doc.source, name, config, session=self.sessions.setdefault(uri, Session()))
            pos = self.positions(doc)
            diags = [to_diagnostic(d, uri, doc, pos) for d in doc.diagnostics if d.span.file == doc.name]
        except Exception as exc:  # a bug in legoc: say so, keep serving, start afresh next time
            self.sessions.pop(uri, None)
            message = f"legoc: internal error on {name}: {type(exc).__name__}: {exc}. This is a bug in legoc, not in your spec; please report it with the spec."
            self.window_show_message(t.ShowMessageParams(t.MessageType.Error, message))
            doc, diags = Document("", name, config), []
        self.documents[uri] = doc
        self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=text_doc.version))
        return doc

    def positions(self, doc: Document) -> Positions:
        """Position conversion for `doc`'s text."""
        return Positions(doc.lines, self.workspace.position_codec)

    def settings(self, uri: str):
        """The name `uri` is checked under (its path relative to the
        server's working directory, the workspace, as `legoc check` run
        there names it, for `per-file-ignores`) and the `[tool.legoc]`
        settings of the nearest pyproject.toml above it, as `legoc check`
        finds them (the defaults where there is none; where it is not
        valid, the defaults and an error message naming the file, shown once
        per folder, as every command refuses it)."""
        from ..config import Config, ConfigError, discover

        path = to_fs_path(uri)
        if path is None:
            return _file_name(uri), Config()
        folder = os.path.dirname(os.path.abspath(path))
        config = self.configs.get(folder)
        if config is None:
            try:
                config = discover(Path(folder))
            except (ConfigError, OSError) as exc:
                config = Config()
                self.window_show_message(t.ShowMessageParams(t.MessageType.Error, f"legoc: {exc}; using the default settings"))
            self.configs[folder] = config
        rel = os.path.relpath(path)
        return (path if rel.startswith("..") else rel), config

    def document(self, uri: str) -> Document:
        """The analysis of `uri`'s current text (analysing it now if a
        change is still waiting for its turn)."""
        if uri in self.pending or uri not in self.documents:
            return self.analyse(uri)
        return self.documents[uri]


def _answers():
    from . import answers

    return answers


def _file_name(uri: str) -> str:
    """The name diagnostics report for `uri`: its last path segment."""
    return uri.rstrip("/").rsplit("/", 1)[-1] or uri


def create() -> LegocServer:
    """A server with every feature registered (not yet started)."""
    server = LegocServer()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LegocServer, params: t.DidOpenTextDocumentParams) -> None:
        ls.analyse(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LegocServer, params: t.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        old = ls.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        ls.pending[uri] = asyncio.get_running_loop().call_later(DEBOUNCE, ls.analyse, uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LegocServer, params: t.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        handle = ls.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        ls.documents.pop(uri, None)
        ls.sessions.pop(uri, None)
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(t.TEXT_DOCUMENT_INLAY_HINT)
    def inlay_hints(ls: LegocServer, params: t.InlayHintParams) -> list[t.InlayHint]:
        doc = ls.document(params.text_document.uri)
        pos = ls.positions(doc)
        first, last = params.range.start.line + 1, params.range.end.line + 1
        return [
            t.InlayHint(pos.position(h.line, h.column), f"  {h.label}", kind=t.InlayHintKind.Type, padding_left=True)
            for h in doc.hints()
            if first <= h.line <= last
        ]

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: LegocServer, params: t.HoverParams) -> t.Hover | None:
        doc = ls.document(params.text_document.uri)
        pos = ls.positions(doc)
        found = _answers().hover(doc, *pos.legoc(params.position))
        if found is None:
            return None
        text, span = found
        return t.Hover(t.MarkupContent(t.MarkupKind.Markdown, text), pos.range(span))

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: LegocServer, params: t.DefinitionParams) -> t.Location | None:
        doc = ls.document(params.text_document.uri)
        pos = ls.positions(doc)
        sym = doc.definition_of(*pos.legoc(params.position))
        return None if sym is None else t.Location(params.text_document.uri, pos.range(sym.span))

    @server.feature(t.TEXT_DOCUMENT_REFERENCES)
    def references(ls: LegocServer, params: t.ReferenceParams) -> list[t.Location]:
        doc = ls.document(params.text_document.uri)
        pos = ls.positions(doc)
        spans = doc.references(*pos.legoc(params.position), params.context.include_declaration)
        return [t.Location(params.text_document.uri, pos.range(sp)) for sp in spans]

    @server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: LegocServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
        doc = ls.document(params.text_document.uri)
        return _answers().outline(doc, ls.positions(doc).range)

    @server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=[" "]))
    def completion(ls: LegocServer, params: t.CompletionParams) -> t.CompletionList:
        uri = params.text_document.uri
        doc = ls.documents.get(uri) or ls.document(uri)  # names from the last analysis: typing need not wait for a new one
        lines = ls.workspace.get_text_document(uri).source.split("\n")
        line_no, column = Positions(lines, ls.workspace.position_codec).legoc(params.position)
        line = lines[line_no - 1][: column - 1] if line_no <= len(lines) else ""
        items = [
            t.CompletionItem(label, kind=COMPLETION_KINDS[kind], detail=detail, documentation=doc_text, insert_text=insert)
            for label, kind, detail, doc_text, insert in _answers().completions(doc, line)
        ]
        return t.CompletionList(is_incomplete=False, items=items)

    @server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=[t.CodeActionKind.QuickFix]))
    def code_actions(ls: LegocServer, params: t.CodeActionParams) -> list[t.CodeAction]:
        uri = params.text_document.uri
        actions = []
        for diag in params.context.diagnostics:
            data = diag.data
            if diag.source != "legoc" or not isinstance(data, dict) or "text" not in data:
                continue
            r = data["range"]
            edit = t.TextEdit(
                t.Range(t.Position(r["start"]["line"], r["start"]["character"]), t.Position(r["end"]["line"], r["end"]["character"])), data["text"]
            )
            actions.append(
                t.CodeAction(data["title"], kind=t.CodeActionKind.QuickFix, diagnostics=[diag], is_preferred=True, edit=t.WorkspaceEdit(changes={uri: [edit]}))
            )
        return actions

    _add_formatting(server)
    return server


def _add_formatting(server: LegocServer) -> None:
    """Document formatting: `legoc fmt`'s layout (tools/formatter.py). A
    spec that does not parse, or that the formatter cannot lay out, is left
    as it is (its diagnostics say why)."""
    from ..formatter import FormatError, format_text

    @server.feature(t.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: LegocServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
        text = ls.workspace.get_text_document(params.text_document.uri).source
        try:
            new = format_text(text)
        except (SpecError, FormatError):
            return None
        if new == text:
            return []
        lines = text.split("\n")
        return [t.TextEdit(t.Range(t.Position(0, 0), t.Position(len(lines), 0)), new)]


def serve() -> None:
    """Run the server over standard input and output until the client exits."""
    create().start_io()
