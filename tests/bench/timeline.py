"""Start-up timeline of hive-py runs, from a build with -DHIVE_TRACE (host/common/trace.h):

    cmake -S . -B build-trace -G Ninja -DCMAKE_BUILD_TYPE=Release -DHIVE_BUILD_TESTS=OFF \
          -DCMAKE_CXX_FLAGS=-DHIVE_TRACE && ninja -C build-trace hive-py
    python3.11 -I tests/bench/timeline.py --hive-py build-trace/hive-py [-n 20] [-- hive-py args]

Runs hive-py n times (default `-c pass`), and prints for every mark the median time since the spawn
(ms), the median step from the mark before it, and the marking process's own page faults and CPU time
so far. Marks: p.* the parent, i.* the sandbox's init, s.* the script's process; `exit` is when the
caller's wait returned. A diagnostic, not a benchmark: each mark costs a few microseconds.
"""
import argparse, os, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--hive-py", required=True)
ap.add_argument("-n", type=int, default=20)
ap.add_argument("--log-dir", default="/var/tmp/hive-bench-logs")
ap.add_argument("args", nargs="*", default=["-c", "pass"])
o = ap.parse_args()

runs = []
for _ in range(o.n):
    t0 = time.monotonic_ns()
    p = subprocess.run([os.path.abspath(o.hive_py), "--log-dir", o.log_dir, *o.args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd="/")
    t1 = time.monotonic_ns()
    marks = {"spawn": 0.0}
    faults = {}
    for line in p.stderr.decode(errors="replace").splitlines():
        f = line.split()
        if len(f) == 7 and f[0] == "hive-trace":
            marks.setdefault(f[1], (int(f[3]) - t0) / 1e6)
            faults.setdefault(f[1], (int(f[4]), int(f[5]) / 1e3, int(f[6]) / 1e3))
    marks["exit"] = (t1 - t0) / 1e6
    runs.append((marks, faults))

def med(xs):
    xs = list(xs)
    return statistics.median(xs) if xs else float("nan")

names = sorted({k for r, _ in runs for k in r}, key=lambda k: med(r[k] for r, _ in runs if k in r))
prev = None
print(f"{'mark':16} {'at (ms)':>8} {'step':>7} {'faults':>7} {'user':>6} {'sys':>6}"
      f"   (medians of {o.n} runs; faults, user and sys ms: the process's own so far)")
for k in names:
    at = med(r[k] for r, _ in runs if k in r)
    step = med(r[k] - r[prev] for r, _ in runs if k in r and prev in r) if prev else 0.0
    line = f"{k:16} {at:8.2f} {step:7.2f}"
    if any(k in f for _, f in runs):
        line += " " + " ".join(f"{med(f[k][i] for _, f in runs if k in f):{w}.{d}f}" for i, w, d in ((0, 7, 0), (1, 6, 2), (2, 6, 2)))
    print(line)
    prev = k
