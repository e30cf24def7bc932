# Rows for `fkit buffer` and `fkit temp` (sourced by bench/compare.sh).
log=$corpus/text.log
size=$(stat -c %s "$log")
row "buffer -s 1M text.log" "$size" "fkit buffer -s 1M $log > /dev/null" "cat" "cat $log > /dev/null"
row "buffer -s 1M text.log" "$size" "fkit buffer -s 1M $log > /dev/null" "dd bs=1M" "dd if=$log bs=1M status=none > /dev/null"
row "buffer -s 512 text.log" "$size" "fkit buffer -s 512 $log > /dev/null" "dd bs=512" "dd if=$log bs=512 status=none > /dev/null"
row "buffer --skip/--count 1M of text.log" 1048576 "fkit buffer -s 1M --skip 128 --count 1 $log > /dev/null" "dd skip= count=" "dd if=$log bs=1M skip=128 count=1 status=none > /dev/null"
need pv pv
row "buffer -s 1M text.log" "$size" "fkit buffer -s 1M $log > /dev/null" "pv -q" "pv -q $log > /dev/null"
tdir=$work/temps
mkdir -p "$tdir"
row "1000 x temp" 0 "for i in \$(seq 1000); do fkit temp --in $tdir >/dev/null; done" "1000 x mktemp" "for i in \$(seq 1000); do mktemp -p $tdir >/dev/null; done" "rm -rf $tdir; mkdir -p $tdir"
