# Rows for `fkit gzip` (sourced by bench/compare.sh): compression and
# decompression of the page-cached 256 MB text.log against gzip, pigz,
# igzip (ISA-L), bzip2 and lbzip2. Sizes are compared once and shown in the
# row names: the targets bound both throughput and output size.
need pigz pigz
need igzip isal
need bzip2 bzip2
need lbzip2 lbzip2
log=$corpus/text.log
size=$(stat -c %s "$log")
gz=$work/gzip
mkdir -p "$gz"
cores=$(nproc)

# Reference files: what GNU gzip, fkit, bzip2 and fkit --bzip2 write.
gzip -6 -c "$log" >"$gz/gnu.gz"
fkit gzip -6 -c "$log" >"$gz/fkit.gz"
bzip2 -9 -c "$log" >"$gz/bzip2.bz2"
fkit gzip --bzip2 -9 -c "$log" >"$gz/fkit.bz2"

# "NAME (fkit output X.XXx PEER's)"
sized() {
  local name=$1 ours=$2 theirs=$3
  python3 -c "import sys; print(f'{sys.argv[1]} (size {int(sys.argv[2])/int(sys.argv[3]):.3f}x {sys.argv[4]})')" \
    "$name" "$(eval "$ours" | wc -c)" "$(eval "$theirs" | wc -c)" "$4"
}

n=$(sized "gzip -6 text.log" "fkit gzip -6 -c $log" "cat $gz/gnu.gz" "gzip -6")
row "$n" "$size" "fkit gzip -6 -c $log > /dev/null" "pigz -6 -p$cores" "pigz -6 -p$cores -c $log > /dev/null"
row "gzip -6 -p1 text.log" "$size" "fkit gzip -6 -p1 -c $log > /dev/null" "gzip -6" "gzip -6 -c $log > /dev/null"
for l in 1 3; do
  n=$(sized "gzip -$l text.log" "fkit gzip -$l -c $log" "igzip -3 -c $log" "igzip -3")
  row "$n" "$size" "fkit gzip -$l -c $log > /dev/null" "igzip -3" "igzip -3 -c $log > /dev/null"
done
row "gzip -d (file gzip wrote)" "$size" "fkit gzip -dc $gz/gnu.gz > /dev/null" "igzip -d" "igzip -dc $gz/gnu.gz > /dev/null"
row "gzip -d (file gzip wrote)" "$size" "fkit gzip -dc $gz/gnu.gz > /dev/null" "pigz -d" "pigz -dc $gz/gnu.gz > /dev/null"
row "gzip -d (file fkit wrote)" "$size" "fkit gzip -dc $gz/fkit.gz > /dev/null" "igzip -d" "igzip -dc $gz/fkit.gz > /dev/null"
row "gzip -d (file fkit wrote)" "$size" "fkit gzip -dc $gz/fkit.gz > /dev/null" "pigz -d" "pigz -dc $gz/fkit.gz > /dev/null"
row "gzip -d < pipe (file gzip wrote)" "$size" "cat $gz/gnu.gz | fkit gzip -dc > /dev/null" "igzip -d" "cat $gz/gnu.gz | igzip -dc > /dev/null"
row "gzip -d < pipe (file fkit wrote)" "$size" "cat $gz/fkit.gz | fkit gzip -dc > /dev/null" "igzip -d" "cat $gz/fkit.gz | igzip -dc > /dev/null"
row "gzip -t (file gzip wrote)" "$size" "fkit gzip -t $gz/gnu.gz" "igzip -t" "igzip -t $gz/gnu.gz"
row "gzip -t (file fkit wrote)" "$size" "fkit gzip -t $gz/fkit.gz" "igzip -t" "igzip -t $gz/fkit.gz"
row "gzip -d --range 200M:1M (file fkit wrote)" 1048576 \
  "fkit gzip -d --range 200M:1M $gz/fkit.gz > /dev/null" "igzip -d | tail | head" \
  "igzip -dc $gz/fkit.gz | tail -c +209715201 | head -c 1048576 > /dev/null"
n=$(sized "bzip2 -9 text.log" "fkit gzip --bzip2 -9 -c $log" "cat $gz/bzip2.bz2" "bzip2 -9")
row "$n" "$size" "fkit gzip --bzip2 -9 -c $log > /dev/null" "lbzip2 -9 -n$cores" "lbzip2 -9 -n$cores -c $log > /dev/null"
row "$n" "$size" "fkit gzip --bzip2 -9 -c $log > /dev/null" "bzip2 -9" "bzip2 -9 -c $log > /dev/null"
row "bzip2 -d (file fkit wrote)" "$size" "fkit gzip -dc $gz/fkit.bz2 > /dev/null" "lbzip2 -d -n$cores" "lbzip2 -d -n$cores -c $gz/fkit.bz2 > /dev/null"
row "bzip2 -d (file bzip2 wrote)" "$size" "fkit gzip -dc $gz/bzip2.bz2 > /dev/null" "lbzip2 -d -n$cores" "lbzip2 -d -n$cores -c $gz/bzip2.bz2 > /dev/null"
row "bzip2 -d (file bzip2 wrote)" "$size" "fkit gzip -dc $gz/bzip2.bz2 > /dev/null" "bzip2 -d" "bzip2 -dc $gz/bzip2.bz2 > /dev/null"
