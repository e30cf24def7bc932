#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...] — run each fuzz target (all by default)
# for SECONDS, one after another, on the seed corpus (made by seeds.sh if
# missing). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`). Prints each target's executions;
# a crash stops the script with the input in fuzz/artifacts/TARGET/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
cd "$here"
[ -d corpus ] || ./seeds.sh
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
# -detect_leaks=0: fkit's pipelines start threads on every call, and
# LeakSanitizer reports glibc's per-thread destructor list (32 bytes from
# __cxa_thread_atexit_impl) as a leak; ASan's other checks stay on.
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  log=logs/$t.log
  if cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=20 -detect_leaks=0 >"$log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 || true)
    echo "$t: ${runs:-no summary} in ${seconds}s, no crash"
  else
    echo "$t: FAILED (see fuzz/$log and fuzz/artifacts/$t/)"
    tail -30 "$log"
    exit 1
  fi
done
