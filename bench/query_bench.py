#!/usr/bin/env python3
"""Query benchmark: a 4-step funnel within 30d, journey vs DuckDB SQL vs chDB windowFunnel, same data, same run.

Answers are compared first (per-step counts); a timing is printed with "answers equal: yes/no". journey is timed
cold (a new process that opens the store, runs the funnel, exits) and warm (the same statement again in one
session, `.timer on`). Figures only; nothing here is asserted by tests.
"""
import os, re, subprocess, sys, time

from common import OUT, arguments, duckdb_events, generated_store, median
STEPS = ["awareness", "consideration", "intent", "conversion"]
WINDOW_MS = 30 * 86_400_000

def journey_counts(out):
    rows = [l.split(",") for l in out.strip().splitlines() if re.match(r"^\d\. ", l)]
    return [int(r[1]) for r in rows]

def main():
    a = arguments("a 4-step funnel: journey vs DuckDB SQL vs chDB windowFunnel")
    csv, tps, store = generated_store(a.journey, a.customers)
    out = OUT
    results = []

    for entry in ["first", "best"]:
        q = f"funnel {' > '.join(STEPS)} within 30d entry {entry}"
        cold = []
        for _ in range(a.runs):
            t = time.perf_counter()
            p = subprocess.run([a.journey, store, "-c", q, "--mode", "csv"], capture_output=True, text=True, check=True)
            cold.append(time.perf_counter() - t)
        counts = journey_counts(p.stdout)
        script = ".timer on\n" + "\n".join([q] * (a.runs + 1)) + "\n"
        p = subprocess.run([a.journey, store, "--mode", "csv"], input=script, capture_output=True, text=True, check=True)
        warm = [float(x) for x in re.findall(r"Run Time: ([0-9.]+) s", p.stdout)][1:]
        results.append((f"journey entry {entry}", counts, median(warm), median(cold)))

    import duckdb
    db = os.path.join(out, f"b2b-{a.customers}-v2.duckdb")
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    duckdb_events(con, csv, tps)
    # Entry first, sequential: step k = the first event after step k-1's with stage k, within 30d of the entry.
    sql = f"""
        WITH s1 AS (SELECT c, min(rn) AS r FROM events WHERE st = '{STEPS[0]}' GROUP BY c),
        s1t AS (SELECT s1.c, s1.r, events.t AS t1 FROM s1 JOIN events ON events.c = s1.c AND events.rn = s1.r),
        s2 AS (SELECT s.c, s.t1, min(events.rn) AS r FROM s1t s JOIN events ON events.c = s.c AND events.rn > s.r AND events.st = '{STEPS[1]}' AND events.t - s.t1 <= {WINDOW_MS} GROUP BY s.c, s.t1),
        s3 AS (SELECT s.c, s.t1, min(events.rn) AS r FROM s2 s JOIN events ON events.c = s.c AND events.rn > s.r AND events.st = '{STEPS[2]}' AND events.t - s.t1 <= {WINDOW_MS} GROUP BY s.c, s.t1),
        s4 AS (SELECT s.c, s.t1, min(events.rn) AS r FROM s3 s JOIN events ON events.c = s.c AND events.rn > s.r AND events.st = '{STEPS[3]}' AND events.t - s.t1 <= {WINDOW_MS} GROUP BY s.c, s.t1)
        SELECT (SELECT count(*) FROM s1), (SELECT count(*) FROM s2), (SELECT count(*) FROM s3), (SELECT count(*) FROM s4)"""
    times = []
    for _ in range(a.runs + 1):
        t = time.perf_counter(); counts = list(con.execute(sql).fetchone()); times.append(time.perf_counter() - t)
    results.append(("duckdb SQL (entry first)", counts, median(times[1:]), None))

    # Paths from the first awareness to the first conversion after it, repeats collapsed, at most 5 steps.
    paths_sql = """
        WITH a AS (SELECT c, min(rn) AS ra FROM events WHERE st = 'awareness' GROUP BY c),
        b AS (SELECT a.c, a.ra, min(events.rn) AS rb FROM a JOIN events ON events.c = a.c AND events.rn > a.ra AND events.st = 'conversion' GROUP BY a.c, a.ra),
        s AS (SELECT b.c, events.rn, events.e, lag(events.e) OVER (PARTITION BY b.c ORDER BY events.rn) AS prev
              FROM b JOIN events ON events.c = b.c AND events.rn BETWEEN b.ra AND b.rb),
        l AS (SELECT c, list(e ORDER BY rn) AS l FROM s WHERE prev IS NULL OR prev <> e GROUP BY c),
        p AS (SELECT CASE WHEN len(l) > 5 THEN array_to_string(l[1:4], ' → ') || ' → … → ' || l[len(l)]
                          ELSE array_to_string(l, ' → ') END AS path FROM l)
        SELECT path, count(*) AS n FROM p GROUP BY path ORDER BY n DESC, path LIMIT 20"""
    times = []
    for _ in range(a.runs + 1):
        t = time.perf_counter(); duck_paths = con.execute(paths_sql).fetchall(); times.append(time.perf_counter() - t)
    duck_paths_ms = median(times[1:])
    q = "paths from awareness to conversion top 20"
    p = subprocess.run([a.journey, store, "--mode", "csv"], input=".timer on\n" + "\n".join([q] * (a.runs + 1)) + "\n",
                       capture_output=True, text=True, check=True)
    journey_paths_ms = median([float(x) for x in re.findall(r"Run Time: ([0-9.]+) s", p.stdout)][1:])
    import csv as csvmod, io
    first_table = p.stdout.split("Run Time")[0]
    jrows = [(r[0], int(r[1])) for r in csvmod.reader(io.StringIO(first_table)) if len(r) >= 2 and r[1].isdigit()
             and not r[0].startswith("other") and not r[0].startswith("(never")]
    # Ties at the 20th count may be ordered differently: compare the rows above it.
    cut = min(n for _, n in duck_paths) if duck_paths else 0
    paths_equal = sorted(x for x in jrows if x[1] > cut) == sorted(x for x in duck_paths if x[1] > cut)

    try:
        from chdb import session as chs
        s = chs.Session(os.path.join(out, f"b2b-{a.customers}.chdb"))
        s.query("CREATE DATABASE IF NOT EXISTS j")
        # One table for both queries: the events with their time, file order, name and stage (filled from the
        # touchpoint catalog where a row has none, as journey does).
        if s.query("EXISTS TABLE j.events", "CSV").bytes().strip() != b"1":
            s.query(f"""CREATE TABLE j.events ENGINE = MergeTree ORDER BY (c, t, rn) AS
                SELECT raw.customer_id AS c, toUInt64(toUnixTimestamp64Milli(parseDateTime64BestEffort(raw.timestamp, 3))) AS t,
                       raw.rn AS rn, raw.event AS e, if(raw.stage = '', tp.stage, raw.stage) AS st
                FROM (SELECT *, rowNumberInAllBlocks() AS rn FROM file('{csv}', CSVWithNames, 'customer_id String, timestamp String, event String, channel String, stage String, kind String, account_id String, value String, source String, campaign String, device String, anonymous_id String') SETTINGS max_threads = 1) AS raw
                LEFT JOIN file('{tps}', CSVWithNames, 'event String, stage String, channel String, kind String, online String') AS tp ON tp.event = raw.event""")
        conds = ", ".join(f"st = '{x}'" for x in STEPS)
        q = f"SELECT " + ", ".join(f"countIf(level >= {k})" for k in range(1, 5)) + \
            f" FROM (SELECT c, windowFunnel({WINDOW_MS})(t, {conds}) AS level FROM j.events GROUP BY c)"
        times = []
        for _ in range(a.runs + 1):
            t = time.perf_counter(); res = s.query(q, "CSV").bytes().decode(); times.append(time.perf_counter() - t)
        results.append(("chDB windowFunnel (= entry best)", [int(x) for x in res.strip().split(",")], median(times[1:]), None))
        # Paths in ClickHouse: each customer's events sorted (time, file order), from the first awareness to the
        # first conversion after it, repeats collapsed (arrayCompact), more than 5 steps shown as 4 + … + last.
        ch_paths_sql = """
            SELECT path, count() AS n FROM (
              SELECT arrayCompact(arrayMap(x -> x.3, arraySlice(a, ia, ib - ia + 1))) AS l,
                     if(length(l) > 5, concat(arrayStringConcat(arraySlice(l, 1, 4), ' → '), ' → … → ', l[length(l)]), arrayStringConcat(l, ' → ')) AS path
              FROM (SELECT a, ia, arrayFirstIndex((x, i) -> i > ia AND x.4 = 'conversion', a, arrayEnumerate(a)) AS ib
                    FROM (SELECT arraySort(x -> (x.1, x.2), groupArray((t, rn, e, st))) AS a, arrayFirstIndex(x -> x.4 = 'awareness', a) AS ia
                          FROM j.events GROUP BY c)
                    WHERE ia > 0)
              WHERE ib > 0)
            GROUP BY path ORDER BY n DESC, path LIMIT 20"""
        times = []
        for _ in range(a.runs + 1):
            t = time.perf_counter(); res = s.query(ch_paths_sql, "TSV").bytes().decode(); times.append(time.perf_counter() - t)
        ch_paths = [(r.split("\t")[0], int(r.split("\t")[1])) for r in res.strip().splitlines() if "\t" in r]
        ch_paths_ms = median(times[1:])
    except ImportError:
        print("chdb is not installed (pip install chdb): skipped")

    ch_paths, ch_paths_ms = (locals().get("ch_paths"), locals().get("ch_paths_ms"))
    first = results[0][1]; best = results[1][1]
    print(f"\n4-step funnel within 30d over {sum(1 for _ in open(csv, 'rb')) - 1:,} events, {a.customers:,} customers; medians of {a.runs}")
    print(f"{'engine':<34}{'step counts':<36}{'equal':>6}{'warm ms':>10}{'cold ms':>10}{'vs journey':>12}")
    for name, counts, warm, cold in results:
        ref = best if "best" in name else first
        base = results[1][2] if "best" in name else results[0][2]
        if name.startswith("journey") or base <= 0 or warm <= 0:
            ratio = ""
        else:
            ratio = f"{warm / base:,.1f}x slower" if warm >= base else f"{base / warm:,.1f}x faster"
        cold_ms = f"{cold * 1000:,.0f}" if cold else "–"
        print(f"{name:<34}{str(counts):<36}{'yes' if counts == ref else 'NO':>6}{warm * 1000:>10,.1f}{cold_ms:>10}{ratio:>14}")
    print(f"\npaths from awareness to conversion top 20: journey {journey_paths_ms * 1000:,.1f} ms warm, DuckDB SQL {duck_paths_ms * 1000:,.1f} ms "
          f"({duck_paths_ms / max(journey_paths_ms, 1e-9):,.1f}x); answers equal: {'yes' if paths_equal else 'NO'}")
    if ch_paths is not None:
        ch_cut = min(n for _, n in ch_paths) if ch_paths else 0
        ch_equal = sorted(x for x in jrows if x[1] > ch_cut) == sorted(x for x in ch_paths if x[1] > ch_cut)
        print(f"paths, chDB (arraySort, arrayCompact): {ch_paths_ms * 1000:,.1f} ms ({ch_paths_ms / max(journey_paths_ms, 1e-9):,.1f}x); "
              f"answers equal: {'yes' if ch_equal else 'NO'}")

if __name__ == "__main__":
    main()
