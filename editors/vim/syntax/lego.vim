" Vim (and Neovim) syntax file for legoc's .lego architecture specs
" (docs/language.md). The word lists are legoc/tools/highlight.py's:
" tests/test_highlight.py checks them against the grammar, the primitives
" and the prelude, and runs this file in Vim on every example.

if exists("b:current_syntax")
  finish
endif

" What nothing below reads is an error (the later items win).
syn match legoError "\S"

" Names, a layer's name (`conv1:`) and a keyword argument (`stride=2`).
syn match legoName "\<\h\w*\>"
syn match legoLayerName "\<\h\w*\ze\s*:"
syn match legoKeywordArgument "\<\h\w*\ze=\%(=\)\@!"

" A definition's head: `public block name(params)(inputs):`.
syn keyword legoDeclaration public
syn keyword legoDeclaration block model nextgroup=legoDefinitionName skipwhite
syn match legoDefinitionName "\h\w*" contained

syn keyword legoKeyword as else if init input output repeat res return
syn keyword legoKeyword shortcut
syn keyword legoMerge add cat div mul sub
syn keyword legoOperatorWord and not or
syn keyword legoConstant false none true
syn keyword legoFunction ceil int make_divisible max min round
syn keyword legoPrimitive arange attention avgpool bn chunk conv
syn keyword legoPrimitive conv_transpose dropout einsum embedding
syn keyword legoPrimitive flatten gelu groupnorm gru hardsigmoid
syn keyword legoPrimitive hardswish identity layernorm layernorm2d
syn keyword legoPrimitive leaky_relu linear log_softmax lstm matmul
syn keyword legoPrimitive maxpool mha param patch_merging permute
syn keyword legoPrimitive pixel_shuffle rearrange reduce relu relu6 roll
syn keyword legoPrimitive select shifted_window_attention sigmoid silu
syn keyword legoPrimitive slice softmax split stochastic_depth tanh
syn keyword legoPrimitive unbind upsample
syn keyword legoPrelude conv1x1 conv1x1_bn conv3x3 conv3x3_bn
syn keyword legoPrelude conv3x3_bn_act conv_bn conv_bn_act mhsa

syn match legoInteger "\<\d\+\%(_\d\+\)*\>"
syn match legoFloat "\<\d\+\%(_\d\+\)*\.\d\+\%(_\d\+\)*\%([eE][+-]\=\d\+\%(_\d\+\)*\)\=\>"
syn match legoFloat "\<\d\+\%(_\d\+\)*[eE][+-]\=\d\+\%(_\d\+\)*\>"
" No escapes: a string may not hold a quote, a backslash or a line break.
syn match legoString +"[^"\\]*"+
syn match legoOperator "->\|[-+*/%=<>!|;:,.()[\]]"
syn match legoContinuation "\\\s*$"
syn match legoComment "#.*$" contains=@Spell

hi def link legoDeclaration Keyword
hi def link legoDefinitionName Function
hi def link legoKeyword Keyword
hi def link legoMerge Keyword
hi def link legoOperatorWord Keyword
hi def link legoConstant Boolean
hi def link legoFunction Function
hi def link legoPrimitive Function
hi def link legoPrelude Function
hi def link legoLayerName Identifier
hi def link legoKeywordArgument Identifier
hi def link legoInteger Number
hi def link legoFloat Float
hi def link legoString String
hi def link legoOperator Operator
hi def link legoContinuation Special
hi def link legoComment Comment
hi def link legoError Error

let b:current_syntax = "lego"
