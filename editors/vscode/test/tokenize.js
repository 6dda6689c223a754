// Tokenise .lego files with VS Code's own TextMate engine (vscode-textmate
// over vscode-oniguruma), for tests/test_highlight.py:
//
//     node editors/vscode/test/tokenize.js FILE...
//
// prints one JSON array per file: [[line, text, [scope, ...]], ...] for
// every token that is not blank. Needs `npm install` in editors/vscode.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const GRAMMAR = path.join(__dirname, "..", "syntaxes", "lego.tmLanguage.json");

async function main(files) {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.lego"
        ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR)
        : null,
  });
  const grammar = await registry.loadGrammar("source.lego");
  for (const file of files) {
    const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
    let stack = vsctm.INITIAL;
    const out = [];
    lines.forEach((line, n) => {
      const result = grammar.tokenizeLine(line, stack);
      for (const token of result.tokens) {
        const text = line.substring(token.startIndex, token.endIndex);
        if (text.trim()) out.push([n, text, token.scopes]);
      }
      stack = result.ruleStack;
    });
    console.log(JSON.stringify(out));
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
