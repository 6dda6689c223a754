" For tests/test_highlight.py: for every file of the argument list, write
" "file<TAB>line<TAB>column<TAB>syntax group" for each character but blanks
" to $DUMP_OUT, then quit. Run as
"   vim -Nu NONE -i NONE -es --cmd 'set rtp^=editors/vim' \
"     -c 'filetype plugin on' -c 'syntax on' -S editors/vim/test/dump.vim FILE...
let s:out = []
for s:i in range(argc())
  execute 'edit' fnameescape(argv(s:i))
  for s:l in range(1, line('$'))
    let s:text = getline(s:l)
    for s:c in range(1, strlen(s:text))
      if s:text[s:c - 1] !~ '\s'
        call add(s:out, s:i . "\t" . s:l . "\t" . s:c . "\t" . synIDattr(synID(s:l, s:c, 1), 'name'))
      endif
    endfor
  endfor
endfor
call writefile(s:out, $DUMP_OUT)
qa!
