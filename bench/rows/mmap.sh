# Rows for `fkit mmap` (sourced by bench/compare.sh). Every tool's output
# goes through a pipe: GNU grep stops at the first match when its output is
# /dev/null. ' ERROR ' occurs at most once per line, so counting matches
# (fkit) and counting matching lines (rg -c, grep -c) give the same number.
log=$corpus/text.log
size=$(stat -c %s "$log")
need rg ripgrep
row "mmap lines text.log" "$size" "fkit mmap lines $log | cat" "wc -l" "wc -l $log | cat"
row "mmap find --count text.log" "$size" "fkit mmap find $log ' ERROR ' --count | cat" "rg -c -F" "rg -c -F ' ERROR ' $log | cat"
row "mmap find --count text.log" "$size" "fkit mmap find $log ' ERROR ' --count | cat" "grep -c -F" "grep -c -F ' ERROR ' $log | cat"
row "mmap find --offsets text.log" "$size" "fkit mmap find $log ' ERROR ' --offsets | cat" "grep -b -o -F" "grep -b -o -F ' ERROR ' $log | cat"
# xxd reads -s/-l as plain numbers (128M would be 128).
row "mmap view 1M at 128M (hex)" 1048576 "fkit mmap view $log --offset 128M --length 1M | cat" "xxd" "xxd -s 134217728 -l 1048576 $log | cat"
row "mmap find --regex --lines text.log" "$size" "fkit mmap find $log --regex 'ERR[O]R .*timeout' --lines | cat" "rg -c" "rg -c 'ERR[O]R .*timeout' $log | cat"
row "mmap find -i --lines text.log" "$size" "fkit mmap find $log -i error --lines | cat" "rg -c -i -F" "rg -c -i -F error $log | cat"
row "mmap lines -w text.log" "$size" "fkit mmap lines -w $log | cat" "wc -w" "wc -w $log | cat"
