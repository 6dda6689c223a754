"""The one place that turns DSL names into safe Python identifiers."""

from __future__ import annotations

import re

# Python's keywords and soft keywords, and the builtins, written out so that
# the generated code does not depend on the Python version running legoc.
KEYWORDS = frozenset(
    [
        "False",
        "None",
        "True",
        "_",
        "and",
        "as",
        "assert",
        "async",
        "await",
        "break",
        "case",
        "class",
        "continue",
        "def",
        "del",
        "elif",
        "else",
        "except",
        "finally",
        "for",
        "from",
        "global",
        "if",
        "import",
        "in",
        "is",
        "lambda",
        "match",
        "nonlocal",
        "not",
        "or",
        "pass",
        "raise",
        "return",
        "try",
        "type",
        "while",
        "with",
        "yield",
    ]
)
BUILTINS = frozenset(
    [
        "ArithmeticError",
        "AssertionError",
        "AttributeError",
        "BaseException",
        "BaseExceptionGroup",
        "BlockingIOError",
        "BrokenPipeError",
        "BufferError",
        "BytesWarning",
        "ChildProcessError",
        "ConnectionAbortedError",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "DeprecationWarning",
        "EOFError",
        "Ellipsis",
        "EncodingWarning",
        "EnvironmentError",
        "Exception",
        "ExceptionGroup",
        "False",
        "FileExistsError",
        "FileNotFoundError",
        "FloatingPointError",
        "FutureWarning",
        "GeneratorExit",
        "IOError",
        "ImportError",
        "ImportWarning",
        "IndentationError",
        "IndexError",
        "InterruptedError",
        "IsADirectoryError",
        "KeyError",
        "KeyboardInterrupt",
        "LookupError",
        "MemoryError",
        "ModuleNotFoundError",
        "NameError",
        "None",
        "NotADirectoryError",
        "NotImplemented",
        "NotImplementedError",
        "OSError",
        "OverflowError",
        "PendingDeprecationWarning",
        "PermissionError",
        "ProcessLookupError",
        "RecursionError",
        "ReferenceError",
        "ResourceWarning",
        "RuntimeError",
        "RuntimeWarning",
        "StopAsyncIteration",
        "StopIteration",
        "SyntaxError",
        "SyntaxWarning",
        "SystemError",
        "SystemExit",
        "TabError",
        "TimeoutError",
        "True",
        "TypeError",
        "UnboundLocalError",
        "UnicodeDecodeError",
        "UnicodeEncodeError",
        "UnicodeError",
        "UnicodeTranslateError",
        "UnicodeWarning",
        "UserWarning",
        "ValueError",
        "Warning",
        "ZeroDivisionError",
        "abs",
        "aiter",
        "all",
        "anext",
        "any",
        "ascii",
        "bin",
        "bool",
        "breakpoint",
        "bytearray",
        "bytes",
        "callable",
        "chr",
        "classmethod",
        "compile",
        "complex",
        "copyright",
        "credits",
        "delattr",
        "dict",
        "dir",
        "divmod",
        "enumerate",
        "eval",
        "exec",
        "exit",
        "filter",
        "float",
        "format",
        "frozenset",
        "getattr",
        "globals",
        "hasattr",
        "hash",
        "help",
        "hex",
        "id",
        "input",
        "int",
        "isinstance",
        "issubclass",
        "iter",
        "len",
        "license",
        "list",
        "locals",
        "map",
        "max",
        "memoryview",
        "min",
        "next",
        "object",
        "oct",
        "open",
        "ord",
        "pow",
        "print",
        "property",
        "quit",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "setattr",
        "slice",
        "sorted",
        "staticmethod",
        "str",
        "sum",
        "super",
        "tuple",
        "type",
        "vars",
        "zip",
    ]
)

SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"})

# What an `nn.Module` (torch 2.13) has of its own besides dunders, written out
# because legoc never imports torch: a submodule must not shadow any of them.
# tests/test_names.py checks the list against torch.
MODULE_ATTRS = frozenset(
    """
    T_destination _apply _backward_hooks _backward_pre_hooks _buffers _call_impl _compiled_call_impl
    _forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs _forward_pre_hooks
    _forward_pre_hooks_with_kwargs _get_backward_hooks _get_backward_pre_hooks _get_name
    _is_full_backward_hook _load_from_state_dict _load_state_dict_post_hooks _load_state_dict_pre_hooks
    _maybe_warn_non_full_backward_hook _modules _named_members _non_persistent_buffers_set _parameters
    _register_load_state_dict_pre_hook _register_state_dict_hook _replicate_for_data_parallel
    _save_to_state_dict _slow_forward _state_dict_hooks _state_dict_pre_hooks _version _wrapped_call_impl
    add_module apply bfloat16 buffers call_super_init children compile cpu cuda double dump_patches eval
    extra_repr float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict
    modules mtia named_buffers named_children named_modules named_parameters parameters
    register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
    register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
    register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
    register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict to
    to_empty train training type xpu zero_grad
    """.split()
)


def attribute_problem(name: str) -> str | None:
    """Why a spec's layer name cannot be an attribute of a generated module,
    or None when it can (`conv1`, `layer1`, `fc` can)."""
    if name in KEYWORDS and name not in SOFT_KEYWORDS:
        return f"`{name}` is a Python keyword, so it cannot name an attribute"
    if name.startswith("__"):
        return f"`{name}` starts with `__`, which Python mangles inside a class; the state_dict key would not be `{name}`"
    if name in MODULE_ATTRS:
        return f"`{name}` is an attribute of nn.Module; a layer of that name would replace it"
    return None


# Names the generated code itself uses, besides Python's keywords and builtins.
RESERVED = frozenset(
    {"self", "torch", "nn", "x", "identity", "super", "in_channels", "in_features"}
)


def py_ident(name: str) -> str:
    """A Python identifier for a DSL name: the name itself when that is safe,
    else the name with a trailing underscore (`lambda` -> `lambda_`).

    The grammar already limits names to ASCII letters, digits and `_`.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a DSL name: {name!r}")
    if (
        name in KEYWORDS
        or name in RESERVED
        or name in BUILTINS
        or name.startswith("__")
    ):
        return name + "_"
    return name


def local_ident(name: str) -> str:
    """A Python local name for a spec's tensor: the name itself unless it is
    a keyword or soft keyword or one the generated code takes (`self`,
    `torch`, `nn`, and `ValueError`, which forward raises): then with a
    trailing underscore. Unlike `py_ident`, other builtins and `x` are fine
    as locals."""
    if name in KEYWORDS or name in ("self", "torch", "nn", "ValueError") or name.startswith("__"):
        return name + "_"
    return name


def class_name(name: str) -> str:
    """PascalCase for a block name (`conv3x3_bn_act` -> `Conv3x3BnAct`); a
    name that already has capitals (a model's `ResNet18`) is kept."""
    if any(ch.isupper() for ch in name):
        base = name
    else:
        base = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    base = base or "Block"
    return py_ident(base if base[0].isalpha() else "Block" + base)


def close_match(word: str, candidates) -> str | None:
    """The candidate most like `word`, if one is close enough for a "did
    you mean" hint (difflib, imported here: only error messages need it)."""
    import difflib

    found = difflib.get_close_matches(word, list(candidates), n=1)
    return found[0] if found else None


_CAT = "`cat` joins tensors along channels: `cat < a | b >` for branches, `(a, b) -> cat` for named tensors"
_REARRANGE = 'use `rearrange` with an einops pattern, such as `rearrange "c h w -> h w c"` (the pattern leaves out the batch axis)'
_REDUCE = 'use `reduce` with a pattern and `mean`, `max`, `min` or `sum`, such as `reduce "c h w -> c" mean`'
_DIMS = "by the input's rank"


def _same(hint: str, *names: str) -> dict[str, str]:
    return {name: hint for name in names}


# PyTorch, Keras and einops names a newcomer writes, lower-cased: what legoc
# calls them, or that it has nothing of the kind. `layer_hint` consults it
# before the edit-distance guess, which matches letters, not meaning
# (`concat` is closer to `conv` than to `cat`). Names that differ from a
# legoc name only in case and underscores (`ReLU`, `LeakyReLU`, `LSTM`) need
# no entry.
KNOWN_ELSEWHERE: dict[str, str] = {
    **_same(f"did you mean `cat`? {_CAT}", "concat", "concatenate"),
    **_same(
        _REARRANGE,
        "transpose", "view", "reshape", "swapaxes", "swapdims", "movedim", "squeeze", "unsqueeze",
        "unflatten", "pixel_unshuffle", "space_to_depth",
    ),
    **_same(_REDUCE, "mean", "amax", "amin"),
    "sum": f"to reduce axes, {_REDUCE}; to sum tensors, `add < a | b >` or `(a, b) -> add`",
    **_same(f"did you mean `conv`? It is nn.Conv1d, 2d or 3d {_DIMS}", "conv1d", "conv2d", "conv3d", "convolution"),
    **_same(
        f"did you mean `conv_transpose`? It is nn.ConvTranspose1d, 2d or 3d {_DIMS}",
        "convtranspose1d", "convtranspose2d", "convtranspose3d", "conv2dtranspose", "deconv", "deconvolution",
    ),
    **_same(
        f"did you mean `bn`? It is nn.BatchNorm1d, 2d or 3d {_DIMS}",
        "batchnorm", "batchnorm1d", "batchnorm2d", "batchnorm3d", "batch_norm", "batchnormalization",
    ),
    **_same("did you mean `layernorm`?", "layernormalization", "ln"),
    **_same("did you mean `groupnorm`?", "gn"),
    **_same("did you mean `linear`?", "dense", "fc", "fully_connected"),
    **_same(f"did you mean `maxpool`? It is nn.MaxPool1d, 2d or 3d {_DIMS}", "maxpool1d", "maxpool2d", "maxpool3d", "max_pool2d", "maxpooling2d"),
    **_same(f"did you mean `avgpool`? It is nn.AvgPool1d, 2d or 3d {_DIMS}", "avgpool1d", "avgpool2d", "avgpool3d", "avg_pool2d", "averagepooling2d"),
    **_same(
        "use `avgpool output_size=1` (with no kernel_size, `avgpool` is adaptive)",
        "adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d", "adaptive_avg_pool2d", "globalavgpool",
        "globalaveragepooling2d",
    ),
    **_same("legoc has `dropout` (nn.Dropout, elementwise) but no channel dropout", "dropout1d", "dropout2d", "dropout3d"),
    "swish": "did you mean `silu`? (Swish is SiLU)",
    **_same("did you mean `stochastic_depth`? (torchvision.ops.StochasticDepth)", "droppath", "drop_path"),
    **_same("did you mean `upsample`?", "interpolate", "upsampling2d", "upsamplingnearest2d", "upsamplingbilinear2d"),
    **_same(
        "legoc has no such activation; its activations are relu, relu6, leaky_relu, gelu, silu, sigmoid, tanh, hardsigmoid and hardswish",
        "elu", "selu", "celu", "prelu", "rrelu", "mish", "softplus", "softsign", "hardtanh", "logsigmoid",
    ),
    "sequential": "write the layers one after another, or as a group: `< conv 64; relu >` (named: `features: < ... >`)",
    **_same("use `repeat n layer` for n copies of a layer, or write the layers out", "modulelist", "moduledict"),
    **_same(
        "did you mean `mhsa`? (the prelude's multi-head self-attention, timm's keys; `(q, k, v) -> attention` is scaled dot-product attention)",
        "self_attention",
        "selfattention", "transformer", "transformerencoder", "transformerdecoder", "transformerencoderlayer",
        "transformerdecoderlayer",
    ),
    **_same(
        "did you mean `mha`? (nn.MultiheadAttention, self-attention over [T, D], torchvision's keys in_proj_weight, out_proj); "
        "or `mhsa`, the prelude's multi-head self-attention with timm's keys (qkv, proj)",
        "multiheadattention", "multihead_attention", "multi_head_attention",
    ),
    **_same("did you mean `matmul`? (`(a, b) -> matmul`, or `einsum` with a pattern)", "bmm", "mm"),
    **_same("did you mean `mul`? (`(a, b) -> mul`)", "multiply", "prod", "times"),
    **_same("did you mean `sub`? (`(a, b) -> sub`)", "subtract", "minus"),
    **_same("did you mean `div`? (`(a, b) -> div`)", "divide", "true_divide"),
    "rnn": "legoc's recurrent layers are `lstm` and `gru`",
    **_same(
        "did you mean `shifted_window_attention`? (torchvision's Swin attention: `shifted_window_attention window_size shift_size num_heads`)",
        "window_attention", "windowattention", "swin_attention", "w_msa", "sw_msa",
    ),
    **_same("did you mean `roll`? (`roll (-3, -3) dims=(0, 1)`, torch.roll over the axes after the batch)", "cyclic_shift", "shift"),
}


def _squash(name: str) -> str:
    return name.lower().replace("_", "")


def layer_hint(word: str, known) -> str | None:
    """The help line for an unknown layer `word`, or None.

    `known` is every layer name in scope (primitives, blocks, layer-valued
    parameters). A name legoc knows under another spelling wins first
    (`ReLU`, `LeakyReLU`, `Conv2d`, `concat`, `permute`, `attention`, from
    a table of PyTorch, Keras and einops names); then the closest known name
    by edit distance ("did you mean"), as `close_match` finds it.
    """
    known = list(known)
    squashed = {_squash(name): name for name in known}
    same = squashed.get(_squash(word))
    if same is not None:
        return f"did you mean `{same}`?"
    elsewhere = KNOWN_ELSEWHERE.get(word.lower())
    if elsewhere is not None:
        return elsewhere
    close = close_match(word, known)
    return f"did you mean `{close}`?" if close else None
