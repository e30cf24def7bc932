#!/usr/bin/env python3
"""Median time from starting a watcher to the first run of its command.

usage: watch-first-run.py N [--stdin FILE] -- WATCHER_CMD...
       (the command prints a line; --stdin: the watcher reads FILE on its
       stdin, as entr reads the list of files to watch)

N times: note the time, start the watcher with its stdout on a pipe, wait
for its first output line (printed by the command it runs at the start),
then end the watcher's session. Prints `median_ms p90_ms` on stdout.
"""
import os, select, signal, subprocess, sys, time

n = int(sys.argv[1])
cmd = sys.argv[sys.argv.index("--") + 1:]
stdin_path = sys.argv[3] if sys.argv[2] == "--stdin" else None
times = []
for _ in range(n):
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    w = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    r, _, _ = select.select([w.stdout.fileno()], [], [], 10)
    if not r or not os.read(w.stdout.fileno(), 4096):
        sys.exit("no first run within 10 s")
    times.append((time.perf_counter() - t0) * 1000)
    os.killpg(w.pid, signal.SIGKILL)
    w.wait()
    if stdin_path:
        stdin.close()
times.sort()
print(f"{times[len(times) // 2]:.3f} {times[int(len(times) * 0.9)]:.3f}")
