" .lego files are legoc specs.
autocmd BufRead,BufNewFile *.lego setfiletype lego
