#!/usr/bin/env bash
# bench/compare.sh [GROUP...] — fkit against its peer tools, side by side, in one run.
#
# Builds the release binary, makes the standard corpus with
# ../shared/bench/make-corpus.sh (into $FKIT_CORPUS, default /tmp/fkit-corpus),
# installs hyperfine and the peers it can, then runs every row of each group
# (bench/rows/GROUP.sh; all groups when none is named) and appends a markdown
# table to bench/results.md (and prints it):
#
#   | operation | fkit median | peer | peer median | ratio | fkit MB/s | fkit peak MB | peer peak MB |
#
# ratio = fkit time / peer time (below 1 means fkit is faster).
# Environment: RUNS (hyperfine runs, default 5), SCALE (corpus scale, default 1).
#
# BASELINE=/path/to/an/older/fkit: every row times this build against that
# one instead of against the peer, on the same commands (the peer column
# then reads "fkit@baseline"): a refactor shows here that no row got slower.
# Build the baseline from an older commit, for example:
#   git worktree add /tmp/fkit-before REV && (cd /tmp/fkit-before && cargo build --release --features isal)
#   BASELINE=/tmp/fkit-before/target/release/fkit bench/compare.sh gzip csv
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
corpus=${FKIT_CORPUS:-/tmp/fkit-corpus}
runs=${RUNS:-5}
results=$here/results.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

need() { command -v "$1" >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || echo "bench: cannot install $2" >&2; }; }
need hyperfine hyperfine
need python3 python3
[ -x /usr/bin/time ] || need /usr/bin/time time

# DuckDB 2.0, the SQL engine people also run on CSV and JSON files, through
# its Python package (its own CLI lags behind on PyPI): rows call
# `$duckdb "SQL"`, which starts Python, imports DuckDB and runs the statement.
peers=${FKIT_PEERS:-/work/peers}
if ! PYTHONPATH=$peers/duckdb python3 -c 'import duckdb' 2>/dev/null; then
  need pip3 python3-pip
  pip3 install --quiet --target "$peers/duckdb" 'duckdb==2.0.1' >/dev/null 2>&1 ||
    echo "bench: cannot install duckdb" >&2
fi
export PYTHONPATH=$peers/duckdb${PYTHONPATH:+:$PYTHONPATH}
duckdb="python3 $here/run-duckdb.py"

# The fastest build: ISA-L inflate needs nasm and autotools.
need nasm nasm
need autoreconf autoconf
need automake automake
need libtoolize libtool
(cd "$repo" && cargo build --release --locked -q --features isal)
FKIT=$repo/target/release/fkit
export PATH="$repo/target/release:$PATH"
shared=${FKIT_SHARED:-$repo/../shared}
bash "$shared/bench/make-corpus.sh" "$corpus"

# Peak resident memory of one run of a shell command, in MB.
peak_mb() {
  /usr/bin/time -f %M -o "$work/rss" bash -c "$1" >/dev/null 2>&1 || true
  awk '{printf "%.1f", $1/1024}' "$work/rss" 2>/dev/null || echo "?"
}

# row NAME BYTES FKIT_CMD PEER_NAME PEER_CMD [PREPARE_CMD]
# Times both commands with hyperfine (PREPARE_CMD runs before every timing,
# for commands that consume their input) and appends a row.
row() {
  local name=$1 bytes=$2 fkit_cmd=$3 peer=$4 peer_cmd=$5 prepare=${6:-}
  if [ -n "${BASELINE:-}" ]; then
    # The same command with the older build: every `fkit ` word replaced.
    peer="fkit@baseline"
    peer_cmd=${fkit_cmd//fkit /$BASELINE }
    [ "${seen[$name]:-}" ] && return 0
    seen[$name]=1
  fi
  local args=(--style none --warmup 1 --runs "$runs" --export-json "$work/h.json")
  [ -n "$prepare" ] && args+=(--prepare "$prepare")
  if ! hyperfine "${args[@]}" -n fkit "$fkit_cmd" -n "$peer" "$peer_cmd" >/dev/null 2>"$work/err"; then
    echo "bench: $name failed: $(tail -3 "$work/err")" >&2
    echo "| $name | failed | $peer | | | | | |" >>"$work/table"
    return 0
  fi
  [ -n "$prepare" ] && bash -c "$prepare"
  local fkit_mem peer_mem
  fkit_mem=$(peak_mb "$fkit_cmd")
  [ -n "$prepare" ] && bash -c "$prepare"
  peer_mem=$(peak_mb "$peer_cmd")
  python3 - "$work/h.json" "$name" "$bytes" "$peer" "$fkit_mem" "$peer_mem" >>"$work/table" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["results"]
name, size, peer, fm, pm = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
f, p = h[0]["median"], h[1]["median"]
rate = f"{size / f / 1e6:.0f}" if size else "-"
print(f"| {name} | {f*1000:.1f} ms | {peer} | {p*1000:.1f} ms | {f/p:.2f} | {rate} | {fm} | {pm} |")
PY
  tail -1 "$work/table"
}

declare -A seen=()
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=($(cd "$here/rows" && ls *.sh | sed 's/\.sh$//'))
{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), fkit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), runs=$runs${BASELINE:+, each row against the release build of fkit $(git -C "$(dirname "$BASELINE")" rev-parse --short HEAD 2>/dev/null || echo '?') (BASELINE)}"
  echo
  echo "| operation | fkit median | peer | peer median | ratio | fkit MB/s | fkit peak MB | peer peak MB |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$work/table"
cat "$work/table"
for g in "${groups[@]}"; do
  # shellcheck source=/dev/null
  source "$here/rows/$g.sh"
done
cat "$work/table" >>"$results"
echo "bench: appended to $results" >&2
