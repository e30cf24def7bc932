# Rows for `fkit lock` (sourced by bench/compare.sh): start-up cost of a
# lock around a trivial command, against flock(1) from util-linux.
# Each command is one `sh -c` (hyperfine's shell) running a loop of 1000
# runs, `fkit lock F true` against `flock F true` on the same file: the
# cost of a process start, the lock and a child, which is what a script
# that locks around every step pays. The "lock start-up" sections of
# results.md time these same loops (there also with an older fkit binary).
need flock util-linux
lockfile=$work/bench.lock
row "1000 x lock F true" 0 "for i in \$(seq 1000); do fkit lock $lockfile true; done" "1000 x flock" "for i in \$(seq 1000); do flock $lockfile true; done"
row "1000 x lock -s -n F true" 0 "for i in \$(seq 1000); do fkit lock -s -n $lockfile true; done" "1000 x flock -s -n" "for i in \$(seq 1000); do flock -s -n $lockfile true; done"
