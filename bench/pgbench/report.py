"""Summarises a bench/pgbench/run.sh output folder: python3 report.py OUT"""
import sys, glob, os
out = sys.argv[1]
rows = {}
for name in ["baseline", "pgphase", "naive"]:
    d = os.path.join(out, name)
    t0, t1 = map(float, open(os.path.join(d, "window")).read().split())
    lat, lat_win, failed, skipped = [], [], 0, 0
    for f in glob.glob(os.path.join(d, "tx*")):
        for line in open(f):
            p = line.split()
            if len(p) < 6:
                continue
            if p[2] == "failed":
                failed += 1; continue
            if p[2] == "skipped":
                skipped += 1; continue
            us = int(p[2])  # with --rate, pgbench measures from the scheduled start: lag included
            end = int(p[4]) + int(p[5]) / 1e6
            lat.append(us / 1000)
            if t0 <= end - us / 1e6 <= t1 or t0 <= end <= t1:
                lat_win.append(us / 1000)
    lat.sort(); lat_win.sort()
    pct = lambda a, q: a[min(len(a) - 1, int(q * len(a)))] if a else float("nan")
    summary = open(os.path.join(d, "pgbench.txt")).read()
    err = open(os.path.join(d, "pgbench.err")).read()
    aborted = err.count("aborted")
    rows[name] = dict(tx=len(lat), failed=failed, skipped=skipped, aborted=aborted, p50=pct(lat, .5), p99=pct(lat, .99),
                      p99w=pct(lat_win, .99), max=lat[-1] if lat else float("nan"), mig=t1 - t0,
                      type=open(os.path.join(d, "amount_type")).read().strip())
base = rows["baseline"]["p99"]
print(f"{'':24}{'baseline':>12}{'pgphase':>12}{'naive':>12}")
for key, label, fmt in [("mig", "migration wall s", "{:.1f}"), ("type", "amount type after", "{}"), ("tx", "transactions ok", "{}"),
                        ("failed", "failed transactions", "{}"), ("aborted", "aborted clients", "{}"), ("skipped", "skipped", "{}"),
                        ("p50", "latency p50 ms", "{:.1f}"), ("p99", "latency p99 ms", "{:.1f}"),
                        ("p99w", "p99 ms in migration", "{:.1f}"), ("max", "max stall ms", "{:.1f}")]:
    print(f"{label:24}" + "".join(f"{fmt.format(rows[n][key]):>12}" for n in ["baseline", "pgphase", "naive"]))
print(f"{'p99 / baseline p99':24}" + "".join(f"{rows[n]['p99'] / base:>12.2f}" for n in ["baseline", "pgphase", "naive"]))
