# Rows for `fkit lock` (sourced by bench/compare.sh): start-up cost of a
# lock around a trivial command, against flock(1) from util-linux.
need flock util-linux
lockfile=$work/bench.lock
row "1000 x lock F true" 0 "for i in \$(seq 1000); do fkit lock $lockfile true; done" "1000 x flock" "for i in \$(seq 1000); do flock $lockfile true; done"
row "1000 x lock -s -n F true" 0 "for i in \$(seq 1000); do fkit lock -s -n $lockfile true; done" "1000 x flock -s -n" "for i in \$(seq 1000); do flock -s -n $lockfile true; done"
