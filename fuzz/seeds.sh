#!/usr/bin/env bash
# fuzz/seeds.sh — make the seed corpus of every fuzz target (fuzz/corpus/,
# not committed) from the test data: the conformance suites in ../shared
# (JSONTestSuite, csv-spectrum) when present, and small inputs compressed by
# fkit itself and by GNU gzip and bzip2 when installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${FKIT_SHARED:-$repo/../shared}
corpus=$here/corpus
fkit=${FKIT:-$repo/target/debug/fkit}
[ -x "$fkit" ] || (cd "$repo" && cargo build --quiet)
mkdir -p "$corpus"
cd "$corpus"
for t in gzip_header gzip_decompress bzip2_blocks bzip2_decompress bzip2_roundtrip \
  json_tokenizer csv_chunker selection size json_path chunk_manifest; do
  mkdir -p "$t"
done
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Plain texts to compress: a few lines, a repetitive block, one byte runs,
# the empty file, and some of the conformance files.
printf 'hello\n' >"$scratch/small"
: >"$scratch/empty"
for i in $(seq 1 400); do echo "line $i of a log, status=$((i % 7))"; done >"$scratch/lines"
head -c 3000 /dev/zero | tr '\0' 'a' >"$scratch/runs"
n=0
for plain in "$scratch"/small "$scratch"/empty "$scratch"/lines "$scratch"/runs; do
  n=$((n + 1))
  "$fkit" gzip -c "$plain" >"gzip_decompress/fkit-$n.gz"
  "$fkit" gzip -c -b 4K "$plain" >"gzip_decompress/fkit-blocks-$n.gz"
  "$fkit" gzip -c --bzip2 "$plain" >"bzip2_decompress/fkit-$n.bz2"
  if command -v gzip >/dev/null; then gzip -c -N "$plain" >"gzip_decompress/gnu-$n.gz"; fi
  if command -v bzip2 >/dev/null; then bzip2 -c -1 "$plain" >"bzip2_decompress/gnu-$n.bz2"; fi
  printf '\001' | cat - "$plain" >"bzip2_roundtrip/plain-$n"
done
cat gzip_decompress/fkit-blocks-3.gz gzip_decompress/fkit-1.gz >gzip_decompress/two-members.gz
printf '\0\0\0\0' | cat gzip_decompress/fkit-1.gz - >gzip_decompress/zero-padded.gz
for f in gzip_decompress/*; do head -c 64 "$f" >"gzip_header/$(basename "$f")"; done
cp bzip2_decompress/* bzip2_blocks/

if [ -d "$shared/conformance/JSONTestSuite" ]; then
  find "$shared/conformance/JSONTestSuite" -name '*.json' -size -4k -exec cp {} json_tokenizer/ \;
fi
printf '{"a":[1,2.5e3,"x\\u00e9"],"b":null}' >json_tokenizer/object.json
if [ -d "$shared/conformance/csv-spectrum" ]; then
  find "$shared/conformance/csv-spectrum" -name '*.csv' | while read -r f; do
    printf '\003' | cat - "$f" >"csv_chunker/$(basename "$f")"
  done
fi
printf '\002a,"b\nc",d\r\n"e""f",g\n\nh\n' >csv_chunker/quoted.csv

i=0
for s in 'name,3-5' '!id' '"a, b"' 'name[1]' 'first-name' '2-' '-name' '5-2' 'a,a,b'; do
  i=$((i + 1)); printf '%s' "$s" >"selection/$i"
done
printf 'id,a\nid,"a, b",a' >selection/header
for s in 512 64K 64KiB 1M 1.5G 0x1f 10k 1e3; do printf '%s' "$s" >"size/$s"; done
i=0
for p in '/a/0/b' '.a[0].b' '.["a.b"]' '/~1~0' '.' '' '[0]' '.a.b.c'; do
  i=$((i + 1)); printf '%s' "$p" >"json_path/$i"
done
"$fkit" chunk split "$scratch/lines" -s 4K -d "$scratch/parts" -q
cp "$scratch/parts/lines.manifest.json" chunk_manifest/
echo "seeds: $(find . -type f | wc -l) files in $corpus"
