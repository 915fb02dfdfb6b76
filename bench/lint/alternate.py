#!/usr/bin/env python3
"""Times pgphase builds and squawk in alternation on one corpus, for a machine whose load moves:
each round runs every command once, in turn, so a burst of load hits all of them alike.

    bench/lint/alternate.py CORPUS ROUNDS NAME=PGPHASE_BINARY...   (SQUAWK=/path picks squawk)

Wall time from perf_counter, CPU time (user + system) from wait4; medians over ROUNDS after two
warm-up rounds; ratios against squawk.
"""
import os, sys, time, shutil, statistics, glob, subprocess
corpus, rounds = sys.argv[1], int(sys.argv[2]); bins = sys.argv[3:]
os.chdir(corpus)
files = sorted(os.path.relpath(p) for p in glob.glob("**/*.sql", recursive=True))
def real_squawk():
    # pyenv puts a shell shim first on PATH; time the real binary, as run.sh does.
    try:
        return subprocess.run(["pyenv", "which", "squawk"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return shutil.which("squawk")
sq = os.environ.get("SQUAWK") or real_squawk()
cmds = [(b.split("=")[0], [b.split("=")[1], "lint", "--format", "json", *files]) for b in bins] + [("squawk", [sq, "--reporter", "json", *files])]
res = {n: ([], []) for n, _ in cmds}
devnull = os.open(os.devnull, os.O_WRONLY)
for r in range(rounds + 2):
    for n, c in cmds:
        t = time.perf_counter()
        pid = os.posix_spawn(c[0], c, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
        _, status, ru = os.wait4(pid, 0)
        w = time.perf_counter() - t
        if r >= 2: res[n][0].append(w * 1000); res[n][1].append((ru.ru_utime + ru.ru_stime) * 1000)
sqw, sqc = statistics.median(res["squawk"][0]), statistics.median(res["squawk"][1])
print(f"{os.path.basename(corpus)}: {len(files)} files, {rounds} alternating rounds, load {open('/proc/loadavg').read().split()[:3]}")
for n, _ in cmds:
    w, c = res[n]
    print(f"  {n:8} wall median {statistics.median(w):6.1f} ms (min {min(w):6.1f})  CPU median {statistics.median(c):6.1f} ms   wall/squawk {statistics.median(w)/sqw:.2f}  CPU/squawk {statistics.median(c)/sqc:.2f}")
