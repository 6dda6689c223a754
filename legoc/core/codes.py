"""Every diagnostic legoc emits has a stable code: LG1xx syntax, LG2xx names,
LG3xx shapes, LG4xx arguments and definitions, LG5xx lint rules, LG6xx
resource limits.

A code, once given a meaning, keeps it: tools and `# legoc: ignore[...]`
comments refer to codes. docs/diagnostics.md lists them; tests check the
two lists agree and that the lint rules are documented in
docs/lint-rules.md.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # Syntax
    "LG101": "syntax error",
    "LG102": "unclosed bracket",
    "LG103": "indentation error",
    "LG104": "misplaced argument or statement",
    "LG105": "file cannot be read as UTF-8 text",
    "LG106": "file cannot be read",
    "LG107": "number out of a float\'s range",
    # Names
    "LG201": "unknown layer",
    "LG202": "unknown name",
    "LG203": "defined twice",
    "LG204": "name not allowed",
    "LG205": "layer name cannot be an attribute",
    "LG206": "layer name used twice",
    "LG207": "tensor not defined",
    "LG208": "tensor defined twice",
    "LG209": "input size not available by name",
    "LG216": "split parts and names disagree",
    "LG217": "bad repetition name pattern",
    "LG218": "bad einsum pattern",
    "LG219": "unbind parts and names disagree",
    "LG220": "tie names no tensor",
    "LG229": "block results and names disagree",
    "LG235": "unknown initialisation scheme",
    "LG236": "init names no layer",
    "LG237": "bad initialisation argument",
    "LG238": "recurrent results and names disagree",
    "LG239": "recurrent layer given a tuple of the wrong length",
    "LG241": "init names a tensor of no block",
    "LG242": "init names an ambiguous layer",
    # Shapes
    "LG301": "shapes do not match",
    "LG302": "input of the wrong rank",
    "LG303": "window does not fit its input",
    "LG304": "size not divisible",
    "LG305": "no input size satisfies the spec",
    "LG306": "bad rearrange or reduce pattern",
    "LG307": "layer size depends on a symbolic input size",
    "LG308": "repeat changes the shape",
    "LG311": "structure depends on a run-time size",
    "LG312": "conditional layer changes the rank",
    "LG317": "split does not fit the channels",
    "LG319": "product sizes disagree",
    "LG320": "index outside the axis",
    "LG321": "attention sizes disagree",
    "LG322": "sequence longer than its position embedding",
    "LG323": "tied tensors of different shapes",
    "LG324": "embedding size not divisible by the heads",
    "LG325": "learned tensor does not fit the tokens",
    "LG327": "attention heads do not divide the width",
    "LG328": "window shift outside the window",
    "LG329": "recurrent state of the wrong rank",
    "LG330": "recurrent state's rows are not the layers and directions",
    "LG331": "recurrent state's width is not the hidden size",
    # Arguments and definitions
    "LG401": "bad argument value",
    "LG402": "wrong arguments",
    "LG403": "recursive block",
    "LG404": "malformed definition",
    "LG405": "block used at two input ranks",
    "LG406": "expression cannot be evaluated",
    "LG411": "`shortcut none` on `res cat`",
    "LG420": "misplaced split",
    "LG421": "bad split argument",
    "LG423": "`if` expression of two kinds",
    "LG424": "bad einsum or matmul use",
    "LG425": "bad index argument",
    "LG426": "bad attention use",
    "LG427": "bad arange use",
    "LG428": "bad tie",
    "LG432": "bad roll argument",
    "LG435": "block with several results used as one tensor",
    "LG436": "recurrent state with the final hidden state only",
    "LG438": "init fan of a layer without one",
    "LG439": "init of one tensor with weight= or bias=",
    # Lint rules (warnings; docs/lint-rules.md)
    "LG501": "convolution with bias before batch norm",
    "LG502": "two activations in a row",
    "LG503": "activation before softmax",
    "LG504": "dropout before batch norm",
    "LG505": "even kernel with same padding",
    "LG506": "parameter never used",
    "LG507": "tensor never used",
    "LG508": "stride does not divide the size",
    "LG509": "channels not a multiple of 8",
    "LG510": "block never used",
    "LG511": "spec defines nothing",
    # Resource limits (limits.py)
    "LG601": "file too large",
    "LG602": "nested too deeply",
    "LG603": "block calls nested too deeply",
    "LG604": "too many layers",
    "LG605": "repeat count too large",
    "LG606": "size too large",
}

LINT_RULES = tuple(code for code in CODES if code.startswith("LG5"))
"""Codes of the lint rules: warnings that `select`/`ignore` can switch."""

OPT_IN = frozenset({"LG509"})
"""Lint rules that are off unless selected."""
