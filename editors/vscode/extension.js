// The VS Code side of legoc's editor support: .lego files get the TextMate
// grammar (syntaxes/lego.tmLanguage.json) from package.json, and everything
// else (diagnostics, inlay hints with shapes, hover, go to definition,
// references, symbols, completion, code actions, formatting) from the
// language server `legoc lsp`, started over stdio by vscode-languageclient.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

async function activate(context) {
  const config = vscode.workspace.getConfiguration("legoc");
  const command = config.get("server.path", "legoc");
  const args = config.get("server.args", ["lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "lego" },
      { scheme: "untitled", language: "lego" },
    ],
    // [tool.legoc] settings (pyproject.toml) change what the server reports.
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/pyproject.toml"),
    },
  };
  client = new LanguageClient("legoc", "legoc", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    vscode.window.showErrorMessage(
      `legoc: could not start \`${command} ${args.join(" ")}\` (${error.message}). ` +
        "Install it with `pip install 'legoc[lsp]'` or set legoc.server.path."
    );
  }
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
