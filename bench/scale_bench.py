#!/usr/bin/env python3
"""Scale benchmark (issue 18): the same b2b data at growing sizes, and what each cost does as the store grows.

For each size (customers; about 5.1 events each): the file is generated once into bench/out/, imported into a
fresh store, and measured: import time and peak memory, bytes on disk (the file, and the event chunks alone),
cold start (a new process: open, load, a 4-step funnel; page cache warm), warm funnel, cold paths and Markov
attribution, the packed bytes in memory, and appending a 100,000-row file to a copy of the store: once on new
customers, once on 100,000 random existing ones. DuckDB holds the same events (its `events` table, built by
common.duckdb_events) for the size and funnel comparison, same run. Prints one table and an ASCII plot of each
cost against the size (log-log: a line of slope 1 is linear growth). Figures only; nothing is asserted.

    python3 bench/scale_bench.py --sizes 200000,2000000            # ~1M and ~10M events
    python3 bench/scale_bench.py --sizes 200000,2000000,19600000   # and ~100M (a 10 GB file, ~25 min to make)
"""
import argparse, math, os, random, re, shutil, subprocess, sys, time

from common import OUT, generated_file, median

FUNNEL = "funnel awareness > consideration > intent > conversion within 30d"
PATHS = "paths from awareness to conversion top 5"
ATTRIBUTION = "attribution model markov by channel"

def run(cmd, stdin=None, env=None):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return p

def timed(cmd, env=None):
    """Seconds and peak MB of one run."""
    t = time.perf_counter()
    p = run(["/usr/bin/time", "-f", "%M"] + cmd, env=env)
    return time.perf_counter() - t, int(p.stderr.strip().splitlines()[-1]) / 1024, p

def warm_cache(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass

def chunk_bytes(store):
    """Bytes the event chunks take on disk (their tables' pages, from SQLite's dbstat)."""
    out = run(["sqlite3", store, "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('chunks', 'tails')"]).stdout
    return int(out.strip() or 0)

def append_file(path, customers, rows, existing, seed):
    """`rows` events of random touchpoints in 2026: on random existing customers (C0000001…) or on new ones."""
    rng = random.Random(seed)
    events = [l.split(",")[0] for l in open(os.path.join(OUT, "b2b-200000-touchpoints.csv")).read().splitlines()[1:]]
    with open(path, "w") as f:
        f.write("customer_id,timestamp,event\n")
        for i in range(rows):
            c = f"C{rng.randrange(1, customers + 1):07d}" if existing else f"N{i // 3:07d}"
            f.write(f"{c},2026-0{rng.randrange(1, 10)}-1{rng.randrange(0, 10)}T{rng.randrange(10, 24)}:{rng.randrange(10, 60)}:00Z,{rng.choice(events)}\n")

def measure(journey, customers, runs, duckdb_max):
    csv, tps = generated_file(journey, customers)
    people = [f for f in (csv.replace(".csv", "-customers.csv"), csv.replace(".csv", "-accounts.csv")) if os.path.exists(f)]
    store = os.path.join(OUT, f"scale-{customers}.journey")
    for suffix in ("", "-wal", "-shm", "-lock"):
        if os.path.exists(store + suffix):
            os.remove(store + suffix)
    rows = sum(1 for _ in open(csv, "rb")) - 1
    r = {"customers": customers, "rows": rows}
    run([journey, "import", tps, "--into", store, "--no-progress"])
    r["import s"], r["import MB"], p = timed([journey, "import", csv, "--into", store, "--no-progress"])
    r["people s"], _, _ = timed([journey, "import", *people, "--into", store, "--no-progress"]) if people else (0.0, 0, None)
    run(["sqlite3", store, "PRAGMA wal_checkpoint(TRUNCATE)"])
    # Every row is an event (the file is generated clean); the store's own count says so.
    events = int(run([journey, store, "-c", "count events", "--mode", "csv"]).stdout.splitlines()[1].split(",")[0])
    r["events"] = events
    r["file B/ev"] = os.path.getsize(store) / events
    r["chunks B/ev"] = chunk_bytes(store) / events
    warm_cache(store)

    def cold(statement):
        ts = []
        for _ in range(runs):
            t = time.perf_counter(); run([journey, store, "-c", statement, "--mode", "csv"]); ts.append(time.perf_counter() - t)
        return median(ts)
    r["cold funnel s"] = cold(FUNNEL)
    out = run([journey, store, "--mode", "csv"], stdin=".timer on\n" + "\n".join([FUNNEL] * (runs + 1)) + "\n").stdout
    r["warm funnel s"] = median([float(x) for x in re.findall(r"Run Time: ([0-9.]+) s", out)][1:])
    r["cold paths s"] = cold(PATHS)
    r["cold markov s"] = cold(ATTRIBUTION)
    env = dict(os.environ, JOURNEY_TRACE="1")
    trace = run([journey, store, "-c", FUNNEL, "--mode", "csv"], env=env).stderr
    m = re.search(r"loaded (\d+) events .*?, (\d+) bytes packed; VmHWM:\s+(\d+) kB; VmRSS:\s+(\d+) kB; RssAnon:\s+(\d+) kB", trace)
    r["packed B/ev"] = int(m.group(2)) / int(m.group(1))
    r["anon B/ev"] = int(m.group(5)) * 1024 / int(m.group(1))
    r["peak MB"] = int(m.group(3)) / 1024

    for existing, key in [(False, "+100k new s"), (True, "+100k existing s")]:
        f = os.path.join(OUT, f"scale-append-{customers}-{'existing' if existing else 'new'}.csv")
        append_file(f, customers, 100_000, existing, seed=customers)
        ts = []
        for i in range(runs):
            copy = store + f".copy{i}"
            shutil.copyfile(store, copy)
            os.sync()   # the copy's pages written out, so the import's own fsync does not pay for them
            warm_cache(copy)
            dt, _, _ = timed([journey, "import", f, "--into", copy, "--no-progress"])
            ts.append(dt)
            for suffix in ("", "-wal", "-shm", "-lock"):
                if os.path.exists(copy + suffix):
                    os.remove(copy + suffix)
        r[key] = median(ts)
    if events > duckdb_max:
        return r
    try:
        import duckdb
        from common import duckdb_events
        db = os.path.join(OUT, f"scale-{customers}.duckdb")
        con = duckdb.connect(db)
        con.execute("SET enable_progress_bar = false")
        duckdb_events(con, csv, tps)
        con.execute("CHECKPOINT")
        con.close()
        r["duckdb B/ev"] = os.path.getsize(db) / events
    except ImportError:
        pass
    return r

COLUMNS = ["events", "import s", "import MB", "people s", "file B/ev", "chunks B/ev", "duckdb B/ev", "cold funnel s", "warm funnel s",
           "cold paths s", "cold markov s", "packed B/ev", "anon B/ev", "peak MB", "+100k new s", "+100k existing s"]

def fmt(v):
    if isinstance(v, int) or (isinstance(v, float) and v >= 1000):
        return f"{v:,.0f}"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"

def plot(results, keys, width=60, height=16):
    """Each cost (divided by its smallest size's value) against the size, log-log: slope 1 = linear."""
    xs = [math.log10(r["events"]) for r in results]
    series = {k: [math.log10(max(r[k], 1e-9) / max(results[0][k], 1e-9)) for r in results] for k in keys if all(k in r for r in results)}
    lo = min(0, min(min(v) for v in series.values()))
    hi = max(xs[-1] - xs[0], max(max(v) for v in series.values()))
    grid = [[" "] * (width + 1) for _ in range(height + 1)]
    def at(x, y):
        cx = round((x - xs[0]) / max(xs[-1] - xs[0], 1e-9) * width); cy = round((y - lo) / max(hi - lo, 1e-9) * height)
        return cx, height - cy
    for i in range(width + 1):   # the linear reference: cost ∝ size
        x = xs[0] + (xs[-1] - xs[0]) * i / width
        cx, cy = at(x, x - xs[0])
        if 0 <= cy <= height: grid[cy][cx] = "·"
    marks = "ABCDEFGHIJKLMNOP"
    for m, (k, ys) in zip(marks, series.items()):
        for x, y in zip(xs, ys):
            cx, cy = at(x, y); grid[cy][cx] = m
    print(f"\ncost relative to {results[0]['events']:,} events (log10), against events (log10); · = linear")
    for row in grid:
        print("  |" + "".join(row))
    print("  +" + "-" * (width + 1))
    print("   " + "   ".join(f"{r['events'] / 1e6:.1f}M" for r in results))
    for m, k in zip(marks, series):
        print(f"   {m} = {k}")

def main():
    ap = argparse.ArgumentParser(description="journey at growing sizes")
    ap.add_argument("--journey", default=".build/release/journey")
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SCALE_SIZES", "200000,2000000"))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    ap.add_argument("--duckdb-max", type=int, default=20_000_000, help="no DuckDB copy above this many events")
    a = ap.parse_args()
    results = [measure(a.journey, int(c), a.runs, a.duckdb_max) for c in a.sizes.split(",")]
    cols = [c for c in COLUMNS if any(c in r for r in results)]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---:|" * len(cols))
    for r in results:
        print("| " + " | ".join(fmt(r[c]) if c in r else "–" for c in cols) + " |")
    if len(results) > 1:
        plot(results, ["import s", "cold funnel s", "warm funnel s", "cold paths s", "cold markov s", "+100k existing s", "+100k new s"])

if __name__ == "__main__":
    main()
