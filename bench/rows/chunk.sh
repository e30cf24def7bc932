# Rows for `fkit chunk` (sourced by bench/compare.sh). Outputs go to a
# scratch directory on the same file system as the work dir; each timing
# starts from an empty directory. fkit fsyncs its chunks and joined output
# by default (split and cat do not), so each write row is also run with
# --no-sync to compare like with like.
log=$corpus/text.log
size=$(stat -c %s "$log")
cdir=$work/chunks
fresh="rm -rf $cdir; mkdir -p $cdir"
row "chunk split --size 64M" "$size" "fkit chunk split $log --size 64M --dir $cdir -q" "split -b 64M" "split -b 64M $log $cdir/x" "$fresh"
row "chunk split --size 64M --no-sync" "$size" "fkit chunk split $log --size 64M --dir $cdir -q --no-sync" "split -b 64M" "split -b 64M $log $cdir/x" "$fresh"
row "chunk split --lines 1000000 --no-sync" "$size" "fkit chunk split $log --lines 1000000 --dir $cdir -q --no-sync" "split -l 1000000" "split -l 1000000 $log $cdir/x" "$fresh"
row "chunk split -C 64M --no-sync" "$size" "fkit chunk split $log --size 64M --line-aligned --dir $cdir -q --no-sync" "split -C 64M" "split -C 64M $log $cdir/x" "$fresh"
row "chunk split --size 64M (stdin) --no-sync" "$size" "fkit chunk split --size 64M --dir $cdir -q --no-sync < $log" "split -b 64M (stdin)" "split -b 64M - $cdir/x < $log" "$fresh"
row "chunk split --size 64M (pipe) --no-sync" "$size" "cat $log | fkit chunk split --size 64M --dir $cdir -q --no-sync" "split -b 64M (pipe)" "cat $log | split -b 64M - $cdir/x" "$fresh"
# join: the chunks are made once; each timing starts without the output.
jdir=$work/join
rm -rf "$jdir"; mkdir -p "$jdir"
fkit chunk split "$log" --size 64M --dir "$jdir" -q --no-sync
row "chunk join MANIFEST -o" "$size" "fkit chunk join $jdir/text.log.manifest.json -o $jdir/out -q" "cat" "cat $jdir/text.log.0* > $jdir/out" "rm -f $jdir/out"
row "chunk join MANIFEST -o --no-sync" "$size" "fkit chunk join $jdir/text.log.manifest.json -o $jdir/out -q --no-sync" "cat" "cat $jdir/text.log.0* > $jdir/out" "rm -f $jdir/out"
row "chunk join MANIFEST > file" "$size" "fkit chunk join $jdir/text.log.manifest.json -q > $jdir/out" "cat" "cat $jdir/text.log.0* > $jdir/out" "rm -f $jdir/out"
rm -rf "$cdir" "$jdir"
