"""Syntax highlighting of .lego for Pygments: `LegoLexer`.

Registered under Pygments' `pygments.lexers` entry point (pyproject.toml), so
that once legoc is installed `pygments.lexers.get_lexer_by_name("lego")`, and
with it MkDocs (pymdownx.highlight) and Sphinx, highlight ```` ```lego ````
fences and `*.lego` files. Pygments is an optional extra
(`pip install 'legoc[highlight]'`); no command of legoc imports this module.

The word lists mirror the language, not a guess of it: tests/test_highlight.py
checks that every word literal of legoc/grammar/legoc.lark is a keyword (or a
builtin function) here, in the TextMate grammar of editors/vscode/ and in
the Vim syntax file of editors/vim/, that
`PRIMITIVES` holds every name legoc/analysis/primitives.py registers and
the layers analysis treats by name, and `PRELUDE` every block of
legoc/grammar/prelude.lego.
"""

from pygments.lexer import RegexLexer, bygroups, default, include, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

__all__ = ["LegoLexer", "DECLARATIONS", "KEYWORDS", "MERGES", "WORD_OPERATORS", "CONSTANTS", "FUNCTIONS", "PRIMITIVES", "PRELUDE"]

# The grammar's word literals (legoc/grammar/legoc.lark), by role.
DECLARATIONS = ("block", "model", "public")
KEYWORDS = ("as", "else", "if", "init", "input", "output", "repeat", "res", "return", "shortcut")
MERGES = ("add", "cat", "div", "mul", "sub")  # joins of branches or tensors, and `mul 0.5`
WORD_OPERATORS = ("and", "not", "or")
CONSTANTS = ("false", "none", "true")
FUNCTIONS = ("ceil", "int", "make_divisible", "max", "min", "round")

# The layers every spec may call: the primitives (legoc/analysis/primitives.py)
# and the operations analysis recognises by name (einops patterns, splits,
# indexing, products of tensors, positions, learned tensors).
PRIMITIVES = (
    "arange", "attention", "avgpool", "bn", "chunk", "conv", "conv_transpose", "dropout",
    "einsum", "embedding", "flatten", "gelu", "groupnorm", "gru", "hardsigmoid", "hardswish",
    "identity", "layernorm", "layernorm2d", "leaky_relu", "linear", "log_softmax", "lstm",
    "matmul", "maxpool", "mha", "param", "patch_merging", "permute", "pixel_shuffle",
    "rearrange", "reduce", "relu", "relu6", "roll", "select", "shifted_window_attention",
    "sigmoid", "silu", "slice", "softmax", "split", "stochastic_depth", "tanh", "unbind",
    "upsample",
)  # fmt: skip
# The prelude's blocks (legoc/grammar/prelude.lego).
PRELUDE = ("conv1x1", "conv1x1_bn", "conv3x3", "conv3x3_bn", "conv3x3_bn_act", "conv_bn", "conv_bn_act", "mhsa")

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DIGITS = r"[0-9]+(?:_[0-9]+)*"
_EXPONENT = rf"[eE][+-]?{_DIGITS}"


class LegoLexer(RegexLexer):
    """Pygments lexer for legoc's .lego architecture specs.

    Tokens: comments `Comment.Single`; strings `String.Double`; integers
    and floats `Number.Integer`, `Number.Float`; `block`, `model` and
    `public` `Keyword.Declaration`; the other keywords `Keyword` (the merges
    `add cat mul sub div` `Keyword.Pseudo`), `true false none`
    `Keyword.Constant`, `and or not` `Operator.Word`; a defined block's or
    model's name `Name.Class`, its parameters `Name.Variable`; a layer's
    name (`conv1:`) `Name.Label`; a keyword argument (`stride=2`, no space
    before the `=`) `Name.Attribute`; the primitives `Name.Builtin`, the
    prelude's blocks `Name.Builtin.Pseudo`, `min max round ceil int
    make_divisible` `Name.Function.Magic`; `->`, the arithmetic and
    comparison operators (with `<` and `>` in a condition) and `=`
    `Operator`; `< > | ; , : ( ) [ ] .` and a line continuation `\\`
    `Punctuation`. Every text that legoc parses lexes without an `Error`
    token (tests/test_highlight.py), and each token's kind is the one the
    TextMate grammar gives it.
    """

    name = "Lego"
    aliases = ["lego", "legoc"]
    filenames = ["*.lego"]
    mimetypes = ["text/x-lego"]

    tokens = {
        "root": [
            (r"\n", Whitespace),
            include("space"),
            # A definition's head: `public block name(params)(inputs):`.
            (
                rf"\b(?:(public)(\s+))?(block|model)(\s+)({_NAME})",
                bygroups(Keyword.Declaration, Whitespace, Keyword.Declaration, Whitespace, Name.Class),
                "head",
            ),
            # A named layer, a learned tensor, a repeat's name pattern: `conv1: conv 64`.
            (rf"({_NAME})([ \t\f]*)(:)", bygroups(Name.Label, Whitespace, Punctuation)),
            (r"\bif\b", Keyword, "test"),
            include("expression"),
        ],
        "space": [
            (r"[ \t\f]+", Whitespace),
            (r"#[^\r\n]*", Comment.Single),
            (r"(\\)([ \t\f]*)(\r?\n)", bygroups(Punctuation, Whitespace, Whitespace)),
        ],
        "expression": [
            (r'"[^"\\\n\r]*"', String.Double),
            (rf"{_DIGITS}\.{_DIGITS}(?:{_EXPONENT})?\b|{_DIGITS}{_EXPONENT}\b", Number.Float),
            (rf"{_DIGITS}\b", Number.Integer),
            (rf"({_NAME})(=)(?!=)", bygroups(Name.Attribute, Operator)),  # `stride=2`
            (words(DECLARATIONS, prefix=r"\b", suffix=r"\b"), Keyword.Declaration),
            (words(KEYWORDS, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(MERGES, prefix=r"\b", suffix=r"\b"), Keyword.Pseudo),
            (words(CONSTANTS, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (words(WORD_OPERATORS, prefix=r"\b", suffix=r"\b"), Operator.Word),
            (words(FUNCTIONS, prefix=r"\b", suffix=r"\b"), Name.Function.Magic),
            (words(PRIMITIVES, prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (words(PRELUDE, prefix=r"\b", suffix=r"\b"), Name.Builtin.Pseudo),
            (_NAME, Name),
            (r"->|==|!=|<=|>=|\*\*|//|[-+*/%=]", Operator),
            (r"[<>|;,:()\[\].]", Punctuation),
        ],
        # The parameters and inputs of a definition's head, up to its `:`.
        "head": [
            include("space"),
            (r":", Punctuation, "#pop"),
            (r"\n", Whitespace, "#pop"),  # no `:`: the head ends with its line
            (r"\(", Punctuation, ("parentheses", "parameter")),
            include("expression"),
        ],
        # A head's parentheses: they may span lines.
        "parentheses": [
            include("space"),
            (r"\n", Whitespace),
            (r"\(", Punctuation, ("parentheses", "parameter")),
            (r"\)", Punctuation, "#pop"),
            (r",", Punctuation, "parameter"),
            include("expression"),
        ],
        # A parameter's (or an input's) name, after the `(` or `,` before it on its line.
        "parameter": [
            (r"[ \t\f]+", Whitespace),
            (_NAME, Name.Variable, "#pop"),
            default("#pop"),
        ],
        # A condition, `if TEST:` (its `<` and `>` compare), up to its `:` or `else`.
        "test": [
            include("space"),
            (r"[<>]=?", Operator),
            (r":", Punctuation, "#pop"),
            (r"\belse\b", Keyword, "#pop"),
            (r"\n", Whitespace, "#pop"),
            include("expression"),
            default("#pop"),
        ],
    }
