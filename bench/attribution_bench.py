#!/usr/bin/env python3
"""Attribution benchmark: journey's first, last, linear and Markov models vs DuckDB SQL for first/last/linear.

Same generated data as query_bench.py (its store and DuckDB file are reused). Each conversion (an event of the
stage `conversion`) is credited to the customer's touchpoints since the previous conversion within 90 days.
Answers are compared per channel (within 0.01 conversions) before timings are printed. Figures only.
"""
import csv as csvmod, io, os, re, subprocess, time

from common import OUT, arguments, duckdb_events, generated_store, median

LOOKBACK_MS = 90 * 86_400_000

def journey_table(out):
    """channel -> credited conversions from the first table of a --mode csv run."""
    first = out.split("Run Time")[0]
    rows = list(csvmod.reader(io.StringIO(first)))
    return {r[0]: float(r[1]) for r in rows[1:] if len(r) >= 2 and r[0] != "(no touchpoint)"}

def main():
    a = arguments("attribution: journey vs DuckDB SQL")
    csv, tps, store = generated_store(a.journey, a.customers)

    journey = {}
    for model in ["first", "last", "linear", "markov"]:
        q = f"attribution model {model} by channel lookback 90d"
        p = subprocess.run([a.journey, store, "--mode", "csv"], input=".timer on\n" + "\n".join([q] * (a.runs + 1)) + "\n",
                           capture_output=True, text=True, check=True)
        warm = [float(x) for x in re.findall(r"Run Time: ([0-9.]+) s", p.stdout)][1:]
        journey[model] = (journey_table(p.stdout), median(warm))

    import duckdb
    con = duckdb.connect(os.path.join(OUT, f"b2b-{a.customers}-v2.duckdb"))
    con.execute("SET enable_progress_bar = false")
    duckdb_events(con, csv, tps)
    sql = f"""
        WITH conv AS (SELECT c, rn, t, lag(rn) OVER (PARTITION BY c ORDER BY rn) AS prev FROM events WHERE st = 'conversion'),
        touch AS (SELECT conv.c, conv.rn AS crn, e.ch, e.rn FROM conv JOIN events e ON e.c = conv.c AND e.rn < conv.rn
                  AND (conv.prev IS NULL OR e.rn > conv.prev) AND e.st IS DISTINCT FROM 'conversion' AND conv.t - e.t <= {LOOKBACK_MS}),
        n AS (SELECT c, crn, count(*) AS n, min(rn) AS fr, max(rn) AS lr FROM touch GROUP BY c, crn)
        SELECT ch, sum(CASE WHEN rn = fr THEN 1 ELSE 0 END), sum(CASE WHEN rn = lr THEN 1 ELSE 0 END), sum(1.0 / n)
        FROM touch JOIN n USING (c, crn) GROUP BY ch"""
    times = []
    for _ in range(a.runs + 1):
        t = time.perf_counter(); rows = con.execute(sql).fetchall(); times.append(time.perf_counter() - t)
    duck_ms = median(times[1:])
    duck = {m: {r[0]: float(r[k + 1]) for r in rows} for k, m in enumerate(["first", "last", "linear"])}

    def equal(x, y):
        keys = {k for k in set(x) | set(y) if abs(x.get(k, 0)) > 0.005 or abs(y.get(k, 0)) > 0.005}
        return all(abs(x.get(k, 0) - y.get(k, 0)) <= 0.01 for k in keys)

    print(f"\nattribution by channel, lookback 90d, over {sum(1 for _ in open(csv, 'rb')) - 1:,} events, {a.customers:,} customers; medians of {a.runs}")
    print(f"{'model':<10}{'journey ms':>12}{'DuckDB ms':>12}{'ratio':>16}{'answers equal':>16}")
    for model in ["first", "last", "linear", "markov"]:
        table, ms = journey[model]
        if model in duck:
            ratio = f"{duck_ms / ms:,.1f}x faster" if ms > 0 else ""
            print(f"{model:<10}{ms * 1000:>12,.1f}{duck_ms * 1000:>12,.1f}{ratio:>16}{'yes' if equal(table, duck[model]) else 'NO':>16}")
        else:
            print(f"{model:<10}{ms * 1000:>12,.1f}{'–':>12}{'':>16}{'(no SQL)':>16}")
    print("(DuckDB computes first, last and linear in one query; its time is that query's)")

if __name__ == "__main__":
    main()
