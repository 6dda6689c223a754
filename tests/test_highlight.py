"""Highlighting: the Pygments lexer (legoc/tools/highlight.py) and the VS Code
extension's TextMate grammar (editors/vscode/syntaxes/lego.tmLanguage.json).

Both lex every example, the prelude and every corpus file that legoc parses,
every ```lego fence of the docs and text derived from the grammar without an
error token, and give keywords, numbers, strings, comments and names their
kinds. Their word lists cannot drift from the language: every word literal
of legoc/grammar/legoc.lark is a keyword (or a builtin function) in both,
the builtin layers are the primitives and the layers analysis knows by
name, and the prelude's blocks are the prelude's. The TextMate grammar runs
in a TextMate engine, textmate-grammar-python (over Oniguruma, the regex
library of VS Code's engine); where node and editors/vscode's npm packages
are installed, VS Code's own engine (vscode-textmate) must agree with it on
every character of every spec. The Vim syntax file (editors/vim/) has
the same word lists and, where Vim is installed, highlights every spec
and doc fence without an error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import re
from functools import cache
from pathlib import Path

import onigurumacffi
import pytest
from hypothesis import HealthCheck, given, settings
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String
from textmate_grammar.parsers.base import LanguageParser

from legoc.core.diagnostics import SpecError
from legoc.syntax.parser import parse
from legoc.tools import highlight
from legoc.tools.highlight import LegoLexer
from test_fuzz import grammar_specs

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "legoc" / "grammar" / "legoc.lark"
PRELUDE = ROOT / "legoc" / "grammar" / "prelude.lego"
VSCODE = ROOT / "editors" / "vscode"
TMLANGUAGE = VSCODE / "syntaxes" / "lego.tmLanguage.json"
SPECS = sorted([*ROOT.glob("examples/*.lego"), PRELUDE, *ROOT.glob("tests/corpus/*.lego")])
DOCS = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])


def grammar_words() -> set[str]:
    """The word literals of the grammar: `"block"`, `"if"`, `"add"`, ..."""
    text = "\n".join(line.split("//")[0] for line in GRAMMAR.read_text(encoding="utf-8").splitlines())
    return set(re.findall(r'"([a-z_]+)"', text))


def parses(text: str) -> bool:
    try:
        parse(text, "<test>")
    except SpecError:
        return False
    return True


def doc_fences() -> list[tuple[str, str]]:
    """Every ```lego fence of the docs and the README, also the excerpts
    that are not whole specs: the docs show them highlighted."""
    fences = []
    for path in DOCS:
        for i, m in enumerate(re.finditer(r"^```lego\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)):
            fences.append((f"{path.name}#{i}", m.group(1)))
    return fences


def parsed_specs() -> list[Path]:
    return [p for p in SPECS if parses(p.read_text(encoding="utf-8"))]


def test_the_specs_are_there():
    """The corpus the other tests walk is not empty by mistake."""
    assert len(parsed_specs()) > 80
    assert len(doc_fences()) > 60


# ------------------------------------------------------------------ Pygments


def pygments_tokens(text: str) -> list[tuple[object, str]]:
    return [(t, v) for t, v in LegoLexer().get_tokens(text) if v.strip()]


def kind(text: str, word: str) -> object:
    """The token type of the first token `word` of `text`."""
    return next(t for t, v in pygments_tokens(text) if v == word)


def test_the_entry_point_finds_the_lexer():
    """The `pygments.lexers` entry point of pyproject.toml (legoc is installed)."""
    assert isinstance(get_lexer_by_name("lego"), LegoLexer)
    assert isinstance(get_lexer_for_filename("resnet50.lego"), LegoLexer)


@pytest.mark.parametrize("path", parsed_specs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pygments_lexes_every_spec_without_errors(path):
    text = path.read_text(encoding="utf-8")
    tokens = list(LegoLexer().get_tokens(text))
    assert [v for t, v in tokens if t in Error] == []
    assert "".join(v for _, v in tokens) == (text if text.endswith("\n") else text + "\n")


@pytest.mark.parametrize("name,text", doc_fences(), ids=[n for n, _ in doc_fences()])
def test_pygments_lexes_every_doc_fence_without_errors(name, text):
    assert [v for t, v in LegoLexer().get_tokens(text) if t in Error] == []


def test_pygments_marks_what_it_cannot_read():
    """The test above can fail: a stray character is an error token."""
    assert [v for t, v in LegoLexer().get_tokens("model M():\n    relu $\n") if t in Error] == ["$"]


SAMPLE = """\
# A comment
public block down(c, stride=2, act=relu)(x):
    y = x -> cat < conv1: conv c kernel_size=3 | maxpool 2 > -> dropout 0.5
    if stride != 1 and not false: conv1x1_bn c
    repeat 2 as i "b{i}": conv (1 if i < 2 else min(2, 3)) bias=true
    return y
model M(n=1_000, eps=1e-5):
    input [3, 32, 32]
    res add < conv 8 > shortcut none
    output z = x
"""


@pytest.mark.parametrize(
    "word,expected",
    [
        ("# A comment", Comment.Single),
        ("public", Keyword.Declaration),
        ("block", Keyword.Declaration),
        ("model", Keyword.Declaration),
        ("down", Name.Class),
        ("M", Name.Class),
        ("c", Name.Variable),
        ("stride", Name.Variable),
        ("x", Name.Variable),
        ("conv1", Name.Label),
        ("conv", Name.Builtin),
        ("maxpool", Name.Builtin),
        ("conv1x1_bn", Name.Builtin.Pseudo),
        ("kernel_size", Name.Attribute),
        ("min", Name.Function.Magic),
        ('"b{i}"', String.Double),
        ("0.5", Number.Float),
        ("1e-5", Number.Float),
        ("1_000", Number.Integer),
        ("->", Operator),
        ("and", Operator.Word),
        ("not", Operator.Word),
        ("false", Keyword.Constant),
        ("none", Keyword.Constant),
        ("cat", Keyword.Pseudo),
        ("if", Keyword),
        ("repeat", Keyword),
        ("return", Keyword),
        ("output", Keyword),
        ("y", Name),
    ],
)
def test_pygments_token_kinds(word, expected):
    assert kind(SAMPLE, word) == expected


def pygments_word_kind(word: str) -> object:
    """How the lexer reads `word` as the layer of a statement."""
    return kind(f"model M():\n    {word}\n", word)


def test_every_grammar_word_is_a_keyword_in_pygments():
    words = grammar_words()
    assert {"block", "model", "res", "shortcut", "repeat", "true", "make_divisible"} <= words
    functions = {w for w in words if pygments_word_kind(w) in Name.Function.Magic}
    keywords = {w for w in words if pygments_word_kind(w) in Keyword or pygments_word_kind(w) in Operator.Word}
    assert functions == set(highlight.FUNCTIONS)
    assert keywords == words - functions, f"not keywords in the lexer: {sorted(words - functions - keywords)}"
    listed = {*highlight.DECLARATIONS, *highlight.KEYWORDS, *highlight.MERGES, *highlight.WORD_OPERATORS, *highlight.CONSTANTS, *highlight.FUNCTIONS}
    assert listed == words, f"the lexer's words that the grammar lacks: {sorted(listed - words)}"


def builtin_layers() -> set[str]:
    """Every layer name a spec may call without defining it."""
    from legoc.analysis.dataflow import PRODUCTS
    from legoc.analysis.indexing import INDEXING
    from legoc.analysis.primitives import PRIMITIVES
    from legoc.analysis.split import SPLITS

    return {*PRIMITIVES, *PRODUCTS, *INDEXING, *SPLITS, "rearrange", "reduce", "roll", "arange", "param"}


def prelude_blocks() -> set[str]:
    return set(re.findall(r"^(?:public )?block ([A-Za-z_][A-Za-z0-9_]*)", PRELUDE.read_text(encoding="utf-8"), re.M))


def test_the_builtin_lists_are_the_compilers():
    assert set(highlight.PRIMITIVES) == builtin_layers(), (
        f"add {sorted(builtin_layers() - set(highlight.PRIMITIVES))}, remove {sorted(set(highlight.PRIMITIVES) - builtin_layers())}"
        " in legoc/tools/highlight.py and editors/vscode/syntaxes/lego.tmLanguage.json"
    )
    assert set(highlight.PRELUDE) == prelude_blocks()
    assert all(pygments_word_kind(w) == Name.Builtin for w in builtin_layers())
    assert all(pygments_word_kind(w) == Name.Builtin.Pseudo for w in prelude_blocks())
    assert pygments_word_kind("bottleneck") == Name


# ------------------------------------------------------------------ TextMate


@cache
def textmate() -> LanguageParser:
    return LanguageParser(json.loads(TMLANGUAGE.read_text(encoding="utf-8")))


def textmate_tokens(text: str) -> list[tuple[str, list[str]]]:
    """The tokens of `text` but blanks, each with its scopes (innermost last)."""
    if not text.strip():  # textmate-grammar-python 0.6.1 fails on a blank text
        return []
    element = textmate().parse_string(text)
    return [(v, [x for s in scopes for x in s.split()]) for _, v, scopes in element.flatten() if v.strip()]


def textmate_tokens_at(text: str) -> list[tuple[int, str, list[str]]]:
    """(line, token, scopes) for every token but blanks."""
    if not text.strip():
        return []
    return [(line, v, [x for s in scopes for x in s.split()]) for (line, _), v, scopes in textmate().parse_string(text).flatten() if v.strip()]


def scope(text: str, word: str) -> str:
    """The innermost scope of the first token `word` of `text`."""
    return next(scopes[-1] for v, scopes in textmate_tokens(text) if v == word)


def test_the_textmate_grammar_is_json_for_vscode():
    grammar = json.loads(TMLANGUAGE.read_text(encoding="utf-8"))
    assert grammar["scopeName"] == "source.lego"
    assert grammar["patterns"] and grammar["repository"]
    names = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "name" and isinstance(value, str):
                    names.update(value.split())
                if key == "include" and value.startswith("#"):
                    assert value[1:] in grammar["repository"], f"undefined rule {value}"
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(grammar["repository"])
    assert all(n.endswith(".lego") for n in names), sorted(n for n in names if not n.endswith(".lego"))


@pytest.mark.parametrize("path", sorted(VSCODE.glob("syntaxes/*.json")), ids=lambda p: p.name)
def test_every_textmate_regex_compiles_in_oniguruma(path):
    """Each `match`, `begin`, `end` and `while` of the grammars (also the
    Markdown injection's, which no test runs) is a valid Oniguruma regex."""
    regexes = []

    def walk(node):
        if isinstance(node, dict):
            regexes.extend(v for k, v in node.items() if k in ("match", "begin", "end", "while"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(path.read_text(encoding="utf-8")))
    assert len(regexes) > 3
    for regex in regexes:
        onigurumacffi.compile(regex)
    with pytest.raises(onigurumacffi.OnigError):
        onigurumacffi.compile("a(b")  # the check can fail


@pytest.mark.parametrize("path", parsed_specs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_textmate_lexes_every_spec_without_invalid_tokens(path):
    tokens = textmate_tokens(path.read_text(encoding="utf-8"))
    assert tokens
    assert [(v, s) for v, s in tokens if any(x.startswith("invalid") for x in s)] == []


@pytest.mark.parametrize("name,text", doc_fences(), ids=[n for n, _ in doc_fences()])
def test_textmate_lexes_every_doc_fence_without_invalid_tokens(name, text):
    assert [(v, s) for v, s in textmate_tokens(text) if any(x.startswith("invalid") for x in s)] == []


def test_textmate_marks_what_it_cannot_read():
    """The test above can fail: a stray character is invalid."""
    assert [v for v, s in textmate_tokens("model M():\n    relu $\n") if s[-1].startswith("invalid")] == ["$"]


@pytest.mark.parametrize(
    "word,expected",
    [
        ("#", "punctuation.definition.comment.lego"),
        (" A comment", "comment.line.number-sign.lego"),
        ("public", "keyword.declaration.public.lego"),
        ("block", "keyword.declaration.block.lego"),
        ("model", "keyword.declaration.model.lego"),
        ("down", "entity.name.function.block.lego"),
        ("M", "entity.name.type.model.lego"),
        ("c", "variable.parameter.lego"),
        ("stride", "variable.parameter.lego"),
        ("x", "variable.parameter.lego"),
        ("conv1", "entity.name.tag.layer.lego"),
        ("conv", "support.function.primitive.lego"),
        ("maxpool", "support.function.primitive.lego"),
        ("conv1x1_bn", "support.function.prelude.lego"),
        ("kernel_size", "variable.parameter.keyword.lego"),
        ("min", "support.function.builtin.lego"),
        ("b{i}", "string.quoted.double.lego"),
        ("0.5", "constant.numeric.float.lego"),
        ("1e-5", "constant.numeric.float.lego"),
        ("1_000", "constant.numeric.integer.lego"),
        ("->", "keyword.operator.arrow.lego"),
        ("!=", "keyword.operator.comparison.lego"),
        ("<", "punctuation.section.group.begin.lego"),
        ("|", "punctuation.separator.branch.lego"),
        ("and", "keyword.operator.logical.lego"),
        ("false", "constant.language.lego"),
        ("none", "constant.language.lego"),
        ("cat", "keyword.operator.merge.lego"),
        ("if", "keyword.control.conditional.lego"),
        ("repeat", "keyword.control.lego"),
        ("return", "keyword.control.lego"),
        ("y", "variable.other.lego"),
    ],
)
def test_textmate_scopes(word, expected):
    assert scope(SAMPLE, word) == expected


def test_textmate_comparisons_in_conditions():
    """`<` in a condition compares; elsewhere it opens a group."""
    assert scope("model M():\n    repeat 2 as i conv (1 if i < 2 else 3)\n", "<") == "keyword.operator.comparison.lego"


def textmate_word_scope(word: str) -> str:
    return scope(f"model M():\n    {word}\n", word)


def test_every_grammar_word_is_a_keyword_in_textmate():
    words = grammar_words()
    functions = {w for w in words if textmate_word_scope(w).startswith("support.function.builtin.")}
    keywords = {w for w in words if textmate_word_scope(w).startswith(("keyword.", "constant.language."))}
    assert functions == set(highlight.FUNCTIONS)
    assert keywords == words - functions, f"not keywords in the TextMate grammar: {sorted(words - functions - keywords)}"


def test_the_textmate_builtins_are_the_compilers():
    layers = {w for w in builtin_layers() if textmate_word_scope(w) == "support.function.primitive.lego"}
    assert layers == builtin_layers(), f"not primitives in the TextMate grammar: {sorted(builtin_layers() - layers)}"
    assert all(textmate_word_scope(w) == "support.function.prelude.lego" for w in prelude_blocks())
    # and no more than those: a user's block is a plain name
    assert textmate_word_scope("bottleneck") == "variable.other.lego"
    grammar = json.loads(TMLANGUAGE.read_text(encoding="utf-8"))
    (pattern,) = [p["match"] for p in grammar["repository"]["expression"]["patterns"] if p.get("name") == "support.function.primitive.lego"]
    assert set(re.findall(r"[a-z_0-9]+", pattern.removeprefix("\\b(?:").removesuffix(")\\b"))) == builtin_layers()


# ------------------------------------------------------------------ both

# What each lexer says a character is, in words both can be mapped to.
PYGMENTS_KINDS = [
    (Comment, "comment"),
    (String, "string"),
    (Number.Float, "float"),
    (Number.Integer, "integer"),
    (Keyword, "keyword"),
    (Operator.Word, "keyword"),
    (Name.Class, "definition"),
    (Name.Variable, "parameter"),
    (Name.Label, "layer name"),
    (Name.Attribute, "keyword argument"),
    (Name.Builtin.Pseudo, "prelude"),
    (Name.Builtin, "primitive"),
    (Name.Function.Magic, "function"),
    (Operator, "punctuation"),
    (Punctuation, "punctuation"),
    (Name, "name"),
]
TEXTMATE_KINDS = [
    ("comment.", "comment"),
    ("punctuation.definition.comment.", "comment"),
    ("string.", "string"),
    ("punctuation.definition.string.", "string"),
    ("constant.numeric.float.", "float"),
    ("constant.numeric.integer.", "integer"),
    ("keyword.operator.arrow.", "punctuation"),
    ("keyword.operator.comparison.", "punctuation"),
    ("keyword.operator.arithmetic.", "punctuation"),
    ("keyword.operator.assignment.", "punctuation"),
    ("keyword.", "keyword"),
    ("constant.language.", "keyword"),
    ("entity.name.function.", "definition"),
    ("entity.name.type.", "definition"),
    ("variable.parameter.keyword.", "keyword argument"),
    ("variable.parameter.", "parameter"),
    ("entity.name.tag.", "layer name"),
    ("support.function.primitive.", "primitive"),
    ("support.function.prelude.", "prelude"),
    ("support.function.builtin.", "function"),
    ("variable.other.", "name"),
    ("punctuation.", "punctuation"),
]


def pygments_kinds(text: str) -> list[tuple[int, str, str]]:
    """(line, character, kind) for every character but blanks."""
    out, line = [], 0
    for token, value in LegoLexer(stripnl=False).get_tokens(text):
        for c in value:
            line += c == "\n"
            if not c.isspace():
                out.append((line, c, next((k for t, k in PYGMENTS_KINDS if token in t), str(token))))
    return out


def textmate_kinds(text: str) -> list[tuple[int, str, str]]:
    if not text.strip():
        return []
    out = []
    for (line, _), value, scopes in textmate().parse_string(text).flatten():
        innermost = [x for s in scopes for x in s.split()][-1]
        out.extend((line, c, next((k for p, k in TEXTMATE_KINDS if innermost.startswith(p)), innermost)) for c in value if not c.isspace())
    return out


@pytest.mark.parametrize(
    "name,text",
    [*((str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in parsed_specs()), *doc_fences()],
    ids=[*(str(p.relative_to(ROOT)) for p in parsed_specs()), *(n for n, _ in doc_fences())],
)
def test_the_two_lexers_agree(name, text):
    """Pygments and the TextMate grammar give every character of every spec
    and doc fence the same kind: keyword, number, layer name, ..."""
    assert pygments_kinds(text) == textmate_kinds(text)


def test_the_kinds_tell_tokens_apart():
    """The comparison above can fail: the kinds are not all one."""
    text = 'model M(c=1):\n    conv1: conv c * 2 bias=false  # x\n    conv_bn 1.5 "s" -> min(1, 2)\n'
    expected = ["keyword", "definition", "punctuation", "parameter", "punctuation", "integer", "punctuation", "punctuation"]
    expected += ["layer name", "punctuation", "primitive", "name", "punctuation", "integer", "keyword argument", "punctuation", "keyword", "comment"]
    expected += ["prelude", "float", "string", "punctuation", "function", "punctuation", "integer", "punctuation", "integer", "punctuation"]
    for kinds in (pygments_kinds(text), textmate_kinds(text)):
        merged = [k for i, (line, c, k) in enumerate(kinds) if i == 0 or (line, k) != kinds[i - 1][::2] or c in "(),:=*-"]
        assert merged == expected


@given(text=grammar_specs())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_both_lexers_read_grammar_generated_specs(text):
    """Text derived from legoc.lark (tests/test_fuzz.py), every construct
    of the language: no error token in either lexer, and they agree."""
    assert [v for t, v in LegoLexer().get_tokens(text) if t in Error] == []
    assert [(v, s) for v, s in textmate_tokens(text) if any(x.startswith("invalid") for x in s)] == []
    assert pygments_kinds(text) == textmate_kinds(text)


# ------------------------------------------------------------------ VS Code


def test_the_vscode_extension_is_coherent():
    """package.json names the files that are there, one language id, the
    grammar's scope, and a main script that starts `legoc lsp`."""
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    assert language["id"] == "lego" and language["extensions"] == [".lego"]
    assert "onLanguage:lego" in package["activationEvents"]
    configuration = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert configuration["comments"]["lineComment"] == "#"
    grammars = package["contributes"]["grammars"]
    for grammar in grammars:
        assert json.loads((VSCODE / grammar["path"]).read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    assert [g["scopeName"] for g in grammars if g.get("language") == "lego"] == ["source.lego"]
    main = (VSCODE / package["main"]).read_text(encoding="utf-8")
    assert "vscode-languageclient/node" in main and "vscode-languageclient" in package["dependencies"]
    settings = package["contributes"]["configuration"]["properties"]
    assert settings["legoc.server.path"]["default"] == "legoc" and settings["legoc.server.args"]["default"] == ["lsp"]
    assert 'config.get("server.path", "legoc")' in main and 'config.get("server.args", ["lsp"])' in main
    assert (VSCODE / "README.md").exists()


def test_the_indentation_rules():
    """A line that ends in `:` or opens a group `<` indents the next; `>` dedents."""
    rules = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))["indentationRules"]
    increase, decrease = re.compile(rules["increaseIndentPattern"]), re.compile(rules["decreaseIndentPattern"])
    for line in ("block b(c):", "model M(n=1):  # the model", "    res add <", "    if s != 1:", "    x = y -> add <"):
        assert increase.search(line), line
    for line in ("    conv1: conv 64", "# a comment:", "    relu  # see: this", "    >"):
        assert not increase.search(line), line
    assert decrease.search("    > shortcut conv1x1_bn c") and not decrease.search("    conv 8")


def node_textmate() -> str | None:
    """Why VS Code's own engine cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (VSCODE / "node_modules" / "vscode-textmate").exists():
        return "vscode-textmate is not installed (`npm install` in editors/vscode)"
    return None


@pytest.mark.skipif(node_textmate() is not None, reason=str(node_textmate()))
def test_vscode_textmate_agrees_with_the_python_engine(tmp_path):
    """VS Code's engine (vscode-textmate, editors/vscode/test/tokenize.js)
    gives every character of every spec and doc fence the scope the Python
    engine gives."""
    texts = [p.read_text(encoding="utf-8") for p in parsed_specs()] + [t for _, t in doc_fences()]
    files = []
    for i, text in enumerate(texts):
        files.append(tmp_path / f"{i}.lego")
        files[-1].write_text(text, encoding="utf-8")
    done = subprocess.run(["node", str(VSCODE / "test" / "tokenize.js"), *map(str, files)], capture_output=True, text=True, check=True, timeout=120)
    lines = done.stdout.splitlines()
    assert len(lines) == len(texts) > 150

    def characters(tokens):
        return [(n, c, scopes[-1]) for n, text, scopes in tokens for c in text if not c.isspace()]

    for text, line in zip(texts, lines):
        python = [(line, v, scopes) for line, v, scopes in textmate_tokens_at(text)]
        assert characters(json.loads(line)) == characters(python), text


# ------------------------------------------------------------------ Vim

VIM = ROOT / "editors" / "vim"


def vim_keywords() -> dict[str, set[str]]:
    """The words of each `syn keyword` group of editors/vim/syntax/lego.vim."""
    groups: dict[str, set[str]] = {}
    for line in (VIM / "syntax" / "lego.vim").read_text(encoding="utf-8").splitlines():
        if line.startswith("syn keyword "):
            group, *words = line.split()[2:]
            groups.setdefault(group, set()).update(w for w in words if "=" not in w and w != "skipwhite")
    return groups


def test_the_vim_word_lists_are_the_lexers():
    assert vim_keywords() == {
        "legoDeclaration": set(highlight.DECLARATIONS),
        "legoKeyword": set(highlight.KEYWORDS),
        "legoMerge": set(highlight.MERGES),
        "legoOperatorWord": set(highlight.WORD_OPERATORS),
        "legoConstant": set(highlight.CONSTANTS),
        "legoFunction": set(highlight.FUNCTIONS),
        "legoPrimitive": builtin_layers(),
        "legoPrelude": prelude_blocks(),
    }


def vim_groups(tmp_path: Path, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    """Each text's (line, column, syntax group) for every character but
    blanks, as Vim highlights it with editors/vim on its runtime path."""
    files = []
    for i, text in enumerate(texts):
        files.append(tmp_path / f"{i}.lego")
        files[-1].write_text(text, encoding="utf-8")
    out = tmp_path / "groups.tsv"
    command = ["vim", "-Nu", "NONE", "-i", "NONE", "-es", "--cmd", f"set rtp^={VIM}", "-c", "filetype plugin on", "-c", "syntax on", "-S", str(VIM / "test" / "dump.vim"), *map(str, files)]
    subprocess.run(command, env={**os.environ, "DUMP_OUT": str(out)}, check=True, timeout=120, stdin=subprocess.DEVNULL, capture_output=True)
    groups: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    for row in out.read_text(encoding="utf-8").splitlines():
        i, line, column, group = row.split("\t")
        groups[int(i)].append((int(line), int(column), group))
    return groups


needs_vim = pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")


@needs_vim
def test_vim_highlights_every_spec_without_errors(tmp_path):
    texts = [p.read_text(encoding="utf-8") for p in parsed_specs()] + [t for _, t in doc_fences()]
    for text, groups in zip(texts, vim_groups(tmp_path, texts), strict=True):
        assert groups and [(line, column) for line, column, group in groups if not group.startswith("lego") or group == "legoError"] == [], text
    # the check can fail: a stray character is an error
    assert vim_groups(tmp_path, ["model M():\n    relu $\n"])[0][-1] == (2, 10, "legoError")


@needs_vim
@pytest.mark.parametrize(
    "word,expected",
    [
        ("# A comment", "legoComment"),
        ("public", "legoDeclaration"),
        ("down", "legoDefinitionName"),
        ("conv1", "legoLayerName"),
        ("conv", "legoPrimitive"),
        ("conv1x1_bn", "legoPrelude"),
        ("kernel_size", "legoKeywordArgument"),
        ("min", "legoFunction"),
        ('"b{i}"', "legoString"),
        ("0.5", "legoFloat"),
        ("1e-5", "legoFloat"),
        ("1_000", "legoInteger"),
        ("->", "legoOperator"),
        ("and", "legoOperatorWord"),
        ("none", "legoConstant"),
        ("cat", "legoMerge"),
        ("repeat", "legoKeyword"),
        ("y", "legoName"),
    ],
)
def test_vim_groups(tmp_path, word, expected):
    lines = SAMPLE.splitlines()
    line = next(n for n, text in enumerate(lines, 1) if re.search(rf"(?<![\w\"]){re.escape(word)}(?![\w\"])", text))
    column = re.search(rf"(?<![\w\"]){re.escape(word)}(?![\w\"])", lines[line - 1]).start() + 1
    groups = {(l, c): g for l, c, g in vim_groups(tmp_path, [SAMPLE])[0]}
    assert {groups[(line, column + i)] for i in range(len(word)) if not word[i].isspace()} == {expected}
