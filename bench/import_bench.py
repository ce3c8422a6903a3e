#!/usr/bin/env python3
"""Import benchmark: `journey import` vs `sqlite3 .import` vs DuckDB `read_csv`, same file, same run.

Generates (once, into bench/out/) a b2b file of about 10M events, then times each tool --runs times and prints
medians, rows/s, ratios against journey and peak memory. Figures only: nothing here is asserted by tests.
"""
import os, shutil, subprocess, sys, tempfile, time

from common import OUT, arguments, generated_file, median

def timed(cmd, stdin=None):
    """Runs cmd under /usr/bin/time; returns (seconds, peak MB, stdout)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, input=stdin, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode not in (0, 2):
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return dt, int(p.stderr.strip().splitlines()[-1]) / 1024, p.stdout

def main():
    a = arguments("journey import vs sqlite3 .import vs DuckDB read_csv")
    csv, _ = generated_file(a.journey, a.customers)
    out = OUT
    rows = sum(1 for _ in open(csv, "rb")) - 1
    print(f"file: {rows:,} rows, {os.path.getsize(csv) / 1e6:,.0f} MB, {a.customers:,} customers; {a.runs} runs, medians")
    work = tempfile.mkdtemp(prefix="journey-bench-", dir=out)
    results = []

    times, mems = [], []
    for i in range(a.runs):
        store = os.path.join(work, f"j{i}.journey")
        dt, mb, stdout = timed([a.journey, "import", csv, "--into", store, "--no-progress"])
        if f"{rows:,} events stored" not in stdout:
            sys.exit(f"journey did not store every row:\n{stdout}")
        times.append(dt); mems.append(mb)
    results.append(("journey import", median(times), max(mems), "parse, clean, dedup, encode, pack"))

    times, mems = [], []
    for i in range(a.runs):
        db = os.path.join(work, f"s{i}.db")
        dt, mb, _ = timed(["sqlite3", db], stdin=f".mode csv\n.import {csv} events\n")
        times.append(dt); mems.append(mb)
    results.append(("sqlite3 .import", median(times), max(mems), "text columns, no index"))

    duck = ("import duckdb, sys; con = duckdb.connect(sys.argv[1]); con.execute('SET enable_progress_bar = false'); "
            "con.execute(\"CREATE TABLE events AS SELECT * FROM read_csv(?, header=true)\", [sys.argv[2]]); "
            "print(con.execute('SELECT count(*) FROM events').fetchone()[0])")
    try:
        import duckdb  # noqa: F401
        times, mems = [], []
        for i in range(a.runs):
            dt, mb, stdout = timed([sys.executable, "-c", duck, os.path.join(work, f"d{i}.duckdb"), csv])
            assert int(stdout.strip().splitlines()[-1]) == rows, (stdout[-200:], rows)
            times.append(dt); mems.append(mb)
        results.append(("duckdb read_csv", median(times), max(mems), "typed columns, process start included"))
    except ImportError:
        print("duckdb is not installed (pip install duckdb): skipped")

    base = results[0][1]
    print(f"\n{'tool':<17}{'median s':>10}{'rows/s':>13}{'journey is':>13}{'peak MB':>9}  notes")
    for name, t, mb, note in results:
        ratio = "" if name.startswith("journey") else f"{t / base:.2f}x faster" if t > base else f"{base / t:.2f}x slower"
        print(f"{name:<17}{t:>10.2f}{rows / t:>13,.0f}{ratio:>13}{mb:>9,.0f}  {note}")
    shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
