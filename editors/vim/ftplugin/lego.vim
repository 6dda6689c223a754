" legoc's .lego specs: `#` comments, four-space indentation.
if exists("b:did_ftplugin")
  finish
endif
let b:did_ftplugin = 1

setlocal commentstring=#\ %s comments=:# formatoptions-=t
setlocal expandtab shiftwidth=4 softtabstop=4 autoindent

let b:undo_ftplugin = "setlocal commentstring< comments< formatoptions< expandtab< shiftwidth< softtabstop< autoindent<"
