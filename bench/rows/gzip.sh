# Rows for `fkit gzip` (sourced by bench/compare.sh): compression and
# decompression of the page-cached 256 MB text.log against gzip, pigz,
# igzip (ISA-L), bzip2, lbzip2, zstd, xz (on the first 32 MiB: xz is slow)
# and bgzip. Sizes are compared once and shown in the
# row names: the targets bound both throughput and output size.
need pigz pigz
need igzip isal
need bzip2 bzip2
need lbzip2 lbzip2
need zstd zstd
need xz xz-utils
need bgzip tabix
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

# zstd: fkit's seekable frames on every core against zstd's own threads.
zstd -3 -T2 -q -c "$log" >"$gz/zstd.zst"
fkit gzip --zstd -3 -c "$log" >"$gz/fkit.zst"
n=$(sized "zstd -3 text.log" "cat $gz/fkit.zst" "cat $gz/zstd.zst" "zstd -3 -T2")
row "$n" "$size" "fkit gzip --zstd -3 -c $log > /dev/null" "zstd -3 -T2" "zstd -3 -T2 -q -c $log > /dev/null"
row "zstd -d (file fkit wrote)" "$size" "fkit gzip -dc $gz/fkit.zst > /dev/null" "zstd -d" "zstd -dc $gz/fkit.zst > /dev/null"
row "zstd -d (file zstd wrote)" "$size" "fkit gzip -dc $gz/zstd.zst > /dev/null" "zstd -d" "zstd -dc $gz/zstd.zst > /dev/null"

# xz on the first 32 MiB of text.log.
head -c 32M "$log" >"$gz/text32.log"
xz -6 -T2 -c "$gz/text32.log" >"$gz/xz.xz"
fkit gzip --xz -6 -c "$gz/text32.log" >"$gz/fkit.xz"
n=$(sized "xz -6 text.log[:32M]" "cat $gz/fkit.xz" "cat $gz/xz.xz" "xz -6 -T2")
row "$n" 33554432 "fkit gzip --xz -6 -c $gz/text32.log > /dev/null" "xz -6 -T2" "xz -6 -T2 -c $gz/text32.log > /dev/null"
row "xz -d (file fkit wrote)" 33554432 "fkit gzip -dc $gz/fkit.xz > /dev/null" "xz -d" "xz -dc -T1 $gz/fkit.xz > /dev/null"
row "xz -d (file fkit wrote)" 33554432 "fkit gzip -dc $gz/fkit.xz > /dev/null" "xz -d -T2" "xz -dc -T2 $gz/fkit.xz > /dev/null"
row "xz -d (file xz -T2 wrote)" 33554432 "fkit gzip -dc $gz/xz.xz > /dev/null" "xz -d -T2" "xz -dc -T2 $gz/xz.xz > /dev/null"
row "xz -d --range 24M:1M (file fkit wrote)" 1048576 \
  "fkit gzip -d --range 24M:1M $gz/fkit.xz > /dev/null" "xz -d -T2 | tail | head" \
  "xz -dc -T2 $gz/fkit.xz | tail -c +25165825 | head -c 1048576 > /dev/null"

# BGZF as htslib's bgzip writes it.
bgzip -@"$cores" -c "$log" >"$gz/bgzip.gz"
row "bgzip -d (file bgzip wrote)" "$size" "fkit gzip -dc $gz/bgzip.gz > /dev/null" "bgzip -d -@2" "bgzip -d -@2 -c $gz/bgzip.gz > /dev/null"

# What `cargo install --path .` builds (no ISA-L) against igzip, in a target
# directory of its own that is kept between runs (a first build takes minutes).
default_target=${FKIT_DEFAULT_TARGET:-$repo/target/default-build}
(cd "$repo" && cargo build --release --locked -q --target-dir "$default_target")
default_fkit=$default_target/release/fkit
row "gzip -d (file gzip wrote), default build" "$size" "$default_fkit gzip -dc $gz/gnu.gz > /dev/null" "igzip -d" "igzip -dc $gz/gnu.gz > /dev/null"
row "gzip -d (file gzip wrote), default build, to a file" "$size" "$default_fkit gzip -dc $gz/gnu.gz > $gz/out" "igzip -d" "igzip -dc $gz/gnu.gz > $gz/out"
