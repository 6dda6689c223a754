"""`legoc lsp` driven end to end by a real LSP client over stdio (pytest-lsp):
diagnostics on open at the right range with their code, an empty list
after a didChange that fixes the spec, inlay hints and hover with the
shapes `legoc check`'s analysis computes, go to definition, completion of
a primitive and a code action that fixes a diagnostic. One server for the
whole module, so that the test takes a second or two."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as t  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from legoc.tools.lsp.document import Document  # noqa: E402

BROKEN = """\
# Two convolutions, the second one misspelt.
block pair(c):
    conv c
    rellu

model Net(classes=10):
    input [3, 32, 32]
    pair 16
    conv 32 stride=2 bias=false
    bn
    flatten
    linear classes
"""
FIXED = BROKEN.replace("rellu", "relu")
URI = "file:///tmp/lsp-test/net.lego"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "legoc", "lsp"]), scope="module")
async def client(lsp_client: LanguageClient):
    # Start-up time is measured by benchmarks/lsp_latency.py, not here.
    await lsp_client.initialize_session(t.InitializeParams(capabilities=t.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, text: str, version: int = 1) -> None:
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(URI, "lego", version, text)))


def _change(client: LanguageClient, text: str, version: int) -> None:
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(t.VersionedTextDocumentIdentifier(version, URI), [t.TextDocumentContentChangeWholeDocument(text)])
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_session(client: LanguageClient):
    # 1. diagnostics on open: LG201 at `rellu` (line 4, columns 5-10; 0-based 3, 4-9), with its fix
    _open(client, BROKEN)
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diag,) = client.diagnostics[URI]
    assert diag.code == "LG201"
    assert diag.code_description.href.endswith("diagnostics.md#lg201")
    assert diag.severity == t.DiagnosticSeverity.Error
    assert diag.range == t.Range(t.Position(3, 4), t.Position(3, 9))
    assert "unknown layer `rellu`" in diag.message

    # 2. a code action from the diagnostic's fix, and applying it
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(t.TextDocumentIdentifier(URI), diag.range, t.CodeActionContext([diag]))
    )
    assert [a.title for a in actions] == ["replace with `relu`"]
    (edit,) = actions[0].edit.changes[URI]
    lines = BROKEN.split("\n")
    line = lines[edit.range.start.line]
    lines[edit.range.start.line] = line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character :]
    assert "\n".join(lines) == FIXED

    # 3. the fix as a didChange: an empty list after the debounce
    _change(client, FIXED, 2)
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[URI]) == []

    # 4. inlay hints: the shape after every statement, as the analysis has it
    hints = await client.text_document_inlay_hint_async(t.InlayHintParams(t.TextDocumentIdentifier(URI), t.Range(t.Position(0, 0), t.Position(12, 0))))
    shown = {h.position.line + 1: h.label.strip() for h in hints}
    expected = {h.line: h.label for h in Document(FIXED, "net.lego").hints()}
    assert shown == expected
    assert shown[9] == "[32, 16, 16]" and shown[3] == "[c, H, W]" and shown[12] == "[classes]"
    # ... and as the generated module's shape comments say, batch axis aside
    import legoc

    comments = [line.split("# [B, ", 1)[1] for line in legoc.compile(FIXED).split("\n") if "# [B, " in line]
    assert comments == [shown[n][1:] for n in (3, 4, 8, 9, 10, 11, 12)]
    assert hints[0].position == t.Position(2, len("    conv c"))

    # 5. hover on a layer call: signature, arguments, input and output shapes
    hover = await client.text_document_hover_async(t.HoverParams(t.TextDocumentIdentifier(URI), t.Position(8, 5)))
    text = hover.contents.value
    assert "conv(out_channels" in text and "nn.Conv2d(" in text
    assert "input: `[16, 32, 32]`" in text and "output: `[32, 16, 16]`" in text
    hover = await client.text_document_hover_async(t.HoverParams(t.TextDocumentIdentifier(URI), t.Position(7, 5)))
    assert "parameters: `448`" in hover.contents.value  # conv 3 -> 16, 3x3, with its bias
    hover = await client.text_document_hover_async(t.HoverParams(t.TextDocumentIdentifier(URI), t.Position(1, 8)))
    assert "Two convolutions, the second one misspelt." in hover.contents.value

    # 6. go to the block's definition from its call
    loc = await client.text_document_definition_async(t.DefinitionParams(t.TextDocumentIdentifier(URI), t.Position(7, 6)))
    assert loc.range == t.Range(t.Position(1, 6), t.Position(1, 10))
    refs = await client.text_document_references_async(
        t.ReferenceParams(context=t.ReferenceContext(include_declaration=False), text_document=t.TextDocumentIdentifier(URI), position=t.Position(1, 7))
    )
    assert [r.range.start for r in refs] == [t.Position(7, 4)]

    # 7. completion of a primitive's name, and a call's keywords with PyTorch's names
    done = await client.text_document_completion_async(t.CompletionParams(t.TextDocumentIdentifier(URI), t.Position(10, 4)))
    labels = [i.label for i in done.items]
    assert "maxpool" in labels and "conv" in labels and "pair" in labels and "conv3x3_bn_act" in labels
    done = await client.text_document_completion_async(t.CompletionParams(t.TextDocumentIdentifier(URI), t.Position(8, 20)))
    assert done.items[0].label == "out_channels=" and "kernel_size=" in [i.label for i in done.items]

    # 8. the outline
    symbols = await client.text_document_document_symbol_async(t.DocumentSymbolParams(t.TextDocumentIdentifier(URI)))
    assert [(s.name, s.detail) for s in symbols] == [("pair", "block"), ("Net", "model")]


@pytest.mark.asyncio(loop_scope="module")
async def test_bias_fix_and_warning(client: LanguageClient):
    uri = "file:///tmp/lsp-test/bias.lego"
    text = "model M():\n    input [3, 8, 8]\n    conv 16 bias=true\n    bn\n"
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(uri, "lego", 1, text)))
    await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diag,) = client.diagnostics[uri]
    assert diag.code == "LG501" and diag.severity == t.DiagnosticSeverity.Warning
    assert diag.related_information[0].message == "followed by this layer"
    assert diag.related_information[0].location.range.start == t.Position(3, 4)
    actions = await client.text_document_code_action_async(t.CodeActionParams(t.TextDocumentIdentifier(uri), diag.range, t.CodeActionContext([diag])))
    (edit,) = actions[0].edit.changes[uri]
    assert (edit.range, edit.new_text) == (t.Range(t.Position(2, 12), t.Position(2, 21)), "bias=false")


def _python(code: str):
    import subprocess

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_without_pygls_it_says_how_to_install_it():
    result = _python("import sys; sys.modules['pygls'] = None; from legoc.cli import main; sys.exit(main(['lsp']))")
    assert result.returncode == 2
    assert "pip install 'legoc[lsp]'" in result.stderr and "Traceback" not in result.stderr


def test_the_compiler_and_check_do_not_import_pygls(tmp_path):
    spec = tmp_path / "net.lego"
    spec.write_text(FIXED)
    code = f"import sys; from legoc.cli import main; main(['check', {str(spec)!r}]); main(['build', {str(spec)!r}, '-o', {str(tmp_path / 'net.py')!r}]); print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'cattrs') or m.startswith('legoc.tools.lsp')))"
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_settings_are_those_legoc_check_finds(tmp_path):
    from legoc.tools.lsp.server import create

    (tmp_path / "pyproject.toml").write_text('[tool.legoc]\nignore = ["LG501"]\n')
    (tmp_path / "specs").mkdir()
    name, config = create().settings((tmp_path / "specs" / "net.lego").as_uri())
    assert name.endswith("net.lego") and config.ignore == ("LG501",)
    doc = Document("model M():\n    input [3, 8, 8]\n    conv 16\n    bn\n", name, config)
    assert doc.diagnostics == []
    assert [d.code for d in Document("model M():\n    input [3, 8, 8]\n    conv 16\n    bn\n", name).diagnostics] == ["LG501"]


@pytest.mark.asyncio(loop_scope="module")
async def test_formatting_is_legoc_fmt(client: LanguageClient):
    from legoc.tools.formatter import format_text

    uri = "file:///tmp/lsp-test/messy.lego"
    messy = "model M( classes = 10 ):\n    input [3, 8, 8]\n    conv  16 kernel_size = 5   # a comment\n    linear classes\n"
    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(uri, "lego", 1, messy)))
    (edit,) = await client.text_document_formatting_async(
        t.DocumentFormattingParams(t.TextDocumentIdentifier(uri), t.FormattingOptions(tab_size=4, insert_spaces=True))
    )
    assert edit.new_text == format_text(messy) != messy
    assert "model M(classes=10):\n" in edit.new_text and "    conv 16 kernel_size=5  # a comment\n" in edit.new_text
    assert edit.range == t.Range(t.Position(0, 0), t.Position(len(messy.split("\n")), 0))
    # a spec that does not parse is left as it is
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(t.VersionedTextDocumentIdentifier(2, uri), [t.TextDocumentContentChangeWholeDocument("model M(:\n")])
    )
    assert await client.text_document_formatting_async(
        t.DocumentFormattingParams(t.TextDocumentIdentifier(uri), t.FormattingOptions(tab_size=4, insert_spaces=True))
    ) is None


def test_help():
    import subprocess

    result = subprocess.run([sys.executable, "-m", "legoc", "lsp", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "language server" in result.stdout.lower() and "legoc[lsp]" in result.stdout


def test_positions_count_the_clients_code_units():
    from pygls.workspace.position_codec import PositionCodec

    from legoc.core.diagnostics import Span
    from legoc.tools.lsp.server import Positions

    lines = ["    conv 16 \U0001f642 rellu", "    bn"]  # a character outside the BMP: two UTF-16 units
    pos = Positions(lines, PositionCodec(t.PositionEncodingKind.Utf16))
    span = Span("x", 1, 15, 1, 20)  # `rellu`, 1-based characters
    assert lines[0][span.column - 1 : span.end_column - 1] == "rellu"
    assert pos.range(span) == t.Range(t.Position(0, 15), t.Position(0, 20))
    assert pos.legoc(t.Position(0, 15)) == (1, 15)
    assert pos.legoc(t.Position(1, 4)) == (2, 5)
    utf32 = Positions(lines, PositionCodec(t.PositionEncodingKind.Utf32))
    assert utf32.range(span) == t.Range(t.Position(0, 14), t.Position(0, 19))


def test_an_internal_error_is_shown_and_the_server_goes_on(monkeypatch):
    from legoc.tools.lsp import document
    from legoc.tools.lsp.server import create

    server = create()
    for _ in server.protocol.lsp_initialize(t.InitializeParams(capabilities=t.ClientCapabilities())):  # a generator: run it through
        pass
    shown, published = [], []
    monkeypatch.setattr(server, "window_show_message", shown.append)
    monkeypatch.setattr(server, "text_document_publish_diagnostics", published.append)
    server.workspace.put_text_document(t.TextDocumentItem(URI, "lego", 1, BROKEN))
    real = document.analyze_partial
    with monkeypatch.context() as patch:
        patch.setattr(document, "analyze_partial", lambda program, *a, **k: 1 / 0 if program.definitions else real(program, *a, **k))
        doc = server.analyse(URI)
    assert doc.text == "" and "internal error" in shown[0].message and "ZeroDivisionError" in shown[0].message
    assert published[0].diagnostics == []
    assert [d.code for d in server.analyse(URI).diagnostics] == ["LG201"]
    assert published[1].diagnostics[0].code == "LG201"


def test_an_invalid_pyproject_is_shown_once_per_folder(tmp_path, monkeypatch):
    """Issue 22: an invalid [tool.legoc] is an error for every command; the
    server shows it (naming the file and the key) and goes on with the
    defaults."""
    from pygls.uris import from_fs_path

    from legoc.tools.lsp.server import create

    (tmp_path / "pyproject.toml").write_text("[tool.legoc]\nstrikt = true\n")
    server = create()
    for _ in server.protocol.lsp_initialize(t.InitializeParams(capabilities=t.ClientCapabilities())):
        pass
    shown = []
    monkeypatch.setattr(server, "window_show_message", shown.append)
    monkeypatch.setattr(server, "text_document_publish_diagnostics", lambda params: None)
    for name in ("a.lego", "b.lego"):
        uri = from_fs_path(str(tmp_path / name))
        server.workspace.put_text_document(t.TextDocumentItem(uri, "lego", 1, BROKEN))
        assert [d.code for d in server.analyse(uri).diagnostics] == ["LG201"]
    assert [m.message for m in shown] == [f"legoc: {tmp_path / 'pyproject.toml'}: [tool.legoc] has no setting `strikt`; the settings are build, exclude, extend-exclude, ignore, limits, per-file-ignores, select, strict; using the default settings"]
    assert shown[0].type == t.MessageType.Error
