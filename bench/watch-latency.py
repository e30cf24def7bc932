#!/usr/bin/env python3
"""Median latency from a file write to the watcher's printed line.

usage: watch-latency.py DIR N -- WATCHER_CMD...   (the command watches DIR)

Starts the watcher with its stdout on a pipe, waits until it reports a
probe file, then N times: note the time, open DIR/target for append, write
one line, close it, and wait for the first output line that names `target`
and says "modify" (any case), so an earlier OPEN line does not count; each
tool is measured exactly the same way. Prints
`median_ms p90_ms` on stdout.
"""
import os, select, signal, subprocess, sys, time

d, n = sys.argv[1], int(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
w = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
fd = w.stdout.fileno()
buf = b""

def line_with(word, timeout, kind=None):
    global buf
    end = time.monotonic() + timeout
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if word in line and (kind is None or kind in line.lower()):
                return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            buf += chunk

try:
    probe = os.path.join(d, "probe")
    for _ in range(200):
        with open(probe, "a") as f:
            f.write("p\n")
        if line_with(b"probe", 0.1):
            break
    else:
        sys.exit("watcher never reported the probe: " + " ".join(cmd))
    time.sleep(0.2)
    while select.select([fd], [], [], 0.05)[0]:
        os.read(fd, 65536)
    buf = b""
    target = os.path.join(d, "target")
    open(target, "w").close()
    time.sleep(0.1)
    while select.select([fd], [], [], 0.05)[0]:
        os.read(fd, 65536)
    buf = b""
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        with open(target, "a") as f:
            f.write(f"line {i}\n")
        if not line_with(b"target", 2.0, b"modify"):
            sys.exit("no event for a write")
        times.append((time.perf_counter() - t0) * 1000)
        # let the rest of this write's events drain before the next write
        time.sleep(0.02)
        while select.select([fd], [], [], 0)[0]:
            os.read(fd, 65536)
        buf = b""
    times.sort()
    print(f"{times[len(times)//2]:.3f} {times[int(len(times)*0.9)]:.3f}")
finally:
    os.killpg(w.pid, signal.SIGTERM)
    w.wait()
