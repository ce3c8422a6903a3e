#!/usr/bin/env python3
"""Value bench (issue 15): `revenue by channel` and `leads by channel` — journey against DuckDB SQL on the same
generated events, same run. The answers are compared first (per channel: customers, buyers, orders and revenue;
leads, MQL, SQL, won and revenue per first-touch channel), then warm medians printed. Figures only.
"""
import csv as csvmod, io, os, re, subprocess, time

from common import OUT, arguments, duckdb_events, generated_store, median

STAGES = ["awareness", "favorability", "consideration", "intent", "conversion", "retention", "advocacy"]


def journey_rows(journey, store, statement, runs):
    script = ".timer on\n" + "\n".join([statement] * (runs + 1)) + "\n"
    p = subprocess.run([journey, store, "--mode", "csv"], input=script, capture_output=True, text=True, check=True)
    warm = [float(x) * 1000 for x in re.findall(r"Run Time: ([0-9.]+) s", p.stdout)][1:]
    table = p.stdout.split("Run Time:")[0]   # the first run's table
    rows = list(csvmod.reader(io.StringIO(table.strip())))
    return rows[1:], median(warm)


def close(x, y):
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


def main():
    a = arguments("revenue and leads by channel: journey vs DuckDB")
    csv, tps, store = generated_store(a.journey, a.customers)
    import duckdb
    con = duckdb.connect(os.path.join(OUT, f"b2b-{a.customers}-v2.duckdb"))
    con.execute("SET enable_progress_bar = false")
    duckdb_events(con, csv, tps)
    order = " ".join(f"WHEN '{s}' THEN {k + 1}" for k, s in enumerate(STAGES))
    checks = [
        ("revenue by channel", 0, """
            SELECT ch, count(DISTINCT c), count(DISTINCT c) FILTER (WHERE val IS NOT NULL), count(val), coalesce(sum(val), 0)
            FROM events GROUP BY ch"""),
        ("leads by channel", 0, f"""
            WITH per AS (SELECT c, max(CASE st {order} ELSE 0 END) AS top, coalesce(sum(val), 0) AS rev FROM events GROUP BY c),
                 first AS (SELECT c, ch FROM events WHERE rn = 1)
            SELECT ch, count(*), count(*) FILTER (WHERE top >= 3), count(*) FILTER (WHERE top >= 4), count(*) FILTER (WHERE top >= 5), sum(rev)
            FROM per JOIN first USING (c) GROUP BY ch"""),
    ]
    print("| statement | journey warm ms | DuckDB ms | DuckDB / journey | answers equal |")
    print("|---|---:|---:|---:|---|")
    for statement, _, sql in checks:
        rows, ms = journey_rows(a.journey, store, statement, a.runs)
        # revenue: customers, buyers, orders, revenue; leads: leads, MQL, SQL, won, (rates), revenue at column 9.
        mine = {r[0]: [float(x) for x in (r[1:5] if statement.startswith("revenue") else r[1:5] + [r[9]])] for r in rows}
        times = []
        for _ in range(a.runs + 1):
            t = time.perf_counter(); theirs = con.execute(sql).fetchall(); times.append(time.perf_counter() - t)
        theirs = {r[0]: [float(x) for x in r[1:]] for r in theirs}
        equal = set(mine) == set(theirs)
        for k in mine.keys() & theirs.keys():
            j, d = mine[k], theirs[k]
            if statement.startswith("revenue"):
                equal = equal and j[:3] == d[:3] and close(j[3], d[3])
            else:
                equal = equal and j[:4] == d[:4] and close(j[4], d[4])
        ddb = median([x * 1000 for x in times[1:]])
        print(f"| {statement} | {ms:,.0f} | {ddb:,.0f} | {ddb / max(ms, 0.001):,.1f} | {'yes' if equal else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
