# Rows for `fkit chunk` (sourced by bench/compare.sh). Outputs go to a
# scratch directory on the same file system as the work dir; each timing
# starts from an empty directory. Every row compares defaults: fkit syncs
# only what replaces old data (the sync rule), so new chunks and a new
# joined file are not fsynced, as split and cat do not; the --sync rows show
# what durability costs.
log=$corpus/text.log
size=$(stat -c %s "$log")
cdir=$work/chunks
fresh="rm -rf $cdir; mkdir -p $cdir"
row "chunk split --size 64M" "$size" "fkit chunk split $log --size 64M --dir $cdir -q" "split -b 64M" "split -b 64M $log $cdir/x" "$fresh"
row "chunk split --size 64M --sync" "$size" "fkit chunk split $log --size 64M --dir $cdir -q --sync" "split -b 64M; sync" "split -b 64M $log $cdir/x && sync $cdir/x*" "$fresh"
row "chunk split --lines 1000000" "$size" "fkit chunk split $log --lines 1000000 --dir $cdir -q" "split -l 1000000" "split -l 1000000 $log $cdir/x" "$fresh"
row "chunk split -C 64M" "$size" "fkit chunk split $log --size 64M --line-aligned --dir $cdir -q" "split -C 64M" "split -C 64M $log $cdir/x" "$fresh"
row "chunk split --size 64M (stdin)" "$size" "fkit chunk split --size 64M --dir $cdir -q < $log" "split -b 64M (stdin)" "split -b 64M - $cdir/x < $log" "$fresh"
row "chunk split --size 64M (pipe)" "$size" "cat $log | fkit chunk split --size 64M --dir $cdir -q" "split -b 64M (pipe)" "cat $log | split -b 64M - $cdir/x" "$fresh"
# join: the chunks are made once; each timing starts without the output.
jdir=$work/join
rm -rf "$jdir"; mkdir -p "$jdir"
fkit chunk split "$log" --size 64M --dir "$jdir" -q
row "chunk join MANIFEST -o" "$size" "fkit chunk join $jdir/text.log.manifest.json -o $jdir/out -q" "cat" "cat $jdir/text.log.0* > $jdir/out" "rm -f $jdir/out"
row "chunk join MANIFEST -o --sync" "$size" "fkit chunk join $jdir/text.log.manifest.json -o $jdir/out -q --sync" "cat; sync" "cat $jdir/text.log.0* > $jdir/out && sync $jdir/out" "rm -f $jdir/out"
row "chunk join MANIFEST > file" "$size" "fkit chunk join $jdir/text.log.manifest.json -q > $jdir/out" "cat" "cat $jdir/text.log.0* > $jdir/out" "rm -f $jdir/out"
rm -rf "$cdir" "$jdir"
