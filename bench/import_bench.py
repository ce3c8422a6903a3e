#!/usr/bin/env python3
"""Import benchmark: journey import vs sqlite3 .import vs DuckDB read_csv on the same generated file.

Prints rows/s and peak memory for each, and ratios against journey. Figures only; never asserted in tests.
"""
import argparse, os, resource, subprocess, sys, tempfile, time

def run(cmd, **kw):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    dt = time.perf_counter() - t
    if p.returncode not in (0, 2):
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return dt, p

def peak_rss_mb(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    return int(p.stderr.strip().splitlines()[-1]) / 1024

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journey", default=".build/release/journey")
    ap.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", "1000000")))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="journey-bench-")
    csv = os.path.join(d, "events.csv")
    run([a.journey, "generate", "--profile", "b2c", "--customers", str(a.customers), "--seed", "1", "--clean", "--out", csv])
    rows = sum(1 for _ in open(csv)) - 1
    print(f"file: {rows:,} rows, {os.path.getsize(csv) / 1e6:.0f} MB, {a.customers:,} customers")
    results = {}
    def median(xs): xs = sorted(xs); return xs[len(xs) // 2]
    # journey
    times = []
    for i in range(a.runs):
        store = os.path.join(d, f"j{i}.journey")
        dt, _ = run([a.journey, "import", csv, "--into", store, "--no-progress"])
        times.append(dt)
    results["journey import"] = median(times)
    mem = peak_rss_mb([a.journey, "import", csv, "--into", os.path.join(d, "mem.journey"), "--no-progress"])
    # sqlite3 .import into a plain table
    times = []
    for i in range(a.runs):
        db = os.path.join(d, f"s{i}.db")
        dt, _ = run(["sqlite3", db], input=f".mode csv\n.import {csv} events\n")
        times.append(dt)
    results["sqlite3 .import"] = median(times)
    # DuckDB read_csv
    try:
        import duckdb
        times = []
        for i in range(a.runs):
            con = duckdb.connect(os.path.join(d, f"d{i}.duckdb"))
            t = time.perf_counter()
            con.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{csv}', header=true)")
            times.append(time.perf_counter() - t)
            n = con.execute("SELECT count(*) FROM events").fetchone()[0]
            assert n == rows, (n, rows)
            con.close()
        results["duckdb read_csv"] = median(times)
    except ImportError:
        print("duckdb not installed: skipped")
    base = results["journey import"]
    print(f"{'tool':<18}{'median s':>10}{'rows/s':>14}{'vs journey':>12}")
    for k, v in results.items():
        print(f"{k:<18}{v:>10.2f}{rows / v:>14,.0f}{base / v:>11.2f}x")
    print(f"journey import peak memory: {mem:.0f} MB")

if __name__ == "__main__":
    main()
