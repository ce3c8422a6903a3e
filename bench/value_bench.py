#!/usr/bin/env python3
"""Value bench (issue 15): `revenue by channel`, `leads by channel`, `margin by customer.segment`, `value by
customer.segment`, `compare` and `profile` — journey against DuckDB SQL on the same generated events, same run.
The answers are compared first (per group every count and sum; compare's p-value recomputed from DuckDB's counts;
profile's lifts of the customer attributes), then warm medians printed. Figures only.
"""
import csv as csvmod, io, math, os, re, subprocess, time

from common import OUT, arguments, duckdb_events, generated_store, median

STAGES = ["awareness", "favorability", "consideration", "intent", "conversion", "retention", "advocacy"]


def journey_rows(journey, store, statement, runs):
    script = ".timer on\n" + "\n".join([statement] * (runs + 1)) + "\n"
    p = subprocess.run([journey, store, "--mode", "csv"], input=script, capture_output=True, text=True, check=True)
    warm = [float(x) * 1000 for x in re.findall(r"Run Time: ([0-9.]+) s", p.stdout)][1:]
    table = p.stdout.split("Run Time:")[0].strip().split("\n\n")[0]   # the first run's first table
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
    customers_csv = csv.replace(".csv", "-customers.csv")
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'people'").fetchone()[0]:
        con.execute(f"CREATE TABLE people AS SELECT customer_id AS c, segment, industry, country, status, company_size FROM read_csv('{customers_csv}', header=true, all_varchar=true)")
        con.execute(f"CREATE TABLE costs AS SELECT event AS e, CAST(cost AS DOUBLE) AS cost FROM read_csv('{tps}', header=true, all_varchar=true)")
    period = 30 * 86_400_000
    checks += [
        ("margin by customer.segment", 0, """
            SELECT coalesce(p.segment, '(none)'), count(DISTINCT ev.c), coalesce(sum(ev.val), 0), sum(coalesce(k.cost, 0))
            FROM events ev LEFT JOIN people p USING (c) LEFT JOIN costs k USING (e) GROUP BY 1"""),
        ("value by customer.segment", 0, f"""
            WITH en AS (SELECT max(t) AS e FROM events),
            ord AS (SELECT c, t, val, row_number() OVER (PARTITION BY c ORDER BY rn) AS k FROM events WHERE val IS NOT NULL),
            fst AS (SELECT c, t AS f, val AS v0, CAST(floor(((SELECT e FROM en) - t) / {period}) AS BIGINT) AS age FROM ord WHERE k = 1),
            per AS (SELECT range AS k FROM range(1, 400)),
            obs AS (SELECT per.k, sum(v0) AS fv FROM fst JOIN per ON per.k <= fst.age - 1 GROUP BY per.k),
            rep AS (SELECT CAST(floor((o.t - f.f) / {period}) AS BIGINT) AS k, sum(o.val) AS rev FROM ord o JOIN fst f USING (c)
                    WHERE o.k > 1 AND floor((o.t - f.f) / {period}) BETWEEN 1 AND f.age - 1 GROUP BY 1),
            curve AS (SELECT obs.k, coalesce(rep.rev, 0) / obs.fv AS r FROM obs LEFT JOIN rep USING (k)),
            proj AS (SELECT f.c, f.v0 * coalesce(sum(curve.r), 0) AS p FROM fst f LEFT JOIN curve ON curve.k BETWEEN f.age + 1 AND f.age + 12 GROUP BY f.c, f.v0),
            hist AS (SELECT c, sum(val) AS h, count(val) AS n FROM events GROUP BY c)
            SELECT coalesce(pe.segment, '(none)'), count(*), count(*) FILTER (WHERE hist.n > 0), coalesce(sum(h), 0), coalesce(sum(proj.p), 0)
            FROM hist LEFT JOIN proj USING (c) LEFT JOIN people pe USING (c) GROUP BY 1"""),
    ]
    print("| statement | journey warm ms | DuckDB ms | DuckDB / journey | answers equal |")
    print("|---|---:|---:|---:|---|")
    for statement, _, sql in checks:
        rows, ms = journey_rows(a.journey, store, statement, a.runs)
        # revenue: customers, buyers, orders, revenue; leads: leads, MQL, SQL, won, (rates), revenue at column 9.
        if statement.startswith("margin"):      # customers, revenue, cost
            mine = {r[0]: [float(x) for x in r[1:4]] for r in rows}
        elif statement.startswith("value"):     # customers, buyers, historic, projected
            groups = rows[:[r[0] for r in rows].index("period")] if "period" in [r[0] for r in rows] else rows   # the curve table follows
            mine = {r[0]: [float(x) for x in r[1:5]] for r in groups}
        else:
            mine = {r[0]: [float(x) for x in (r[1:5] if statement.startswith("revenue") else r[1:5] + [r[9]])] for r in rows}
        times = []
        for _ in range(a.runs + 1):
            t = time.perf_counter(); theirs = con.execute(sql).fetchall(); times.append(time.perf_counter() - t)
        theirs = {r[0]: [float(x) for x in r[1:]] for r in theirs}
        equal = set(mine) == set(theirs)
        if not equal and os.environ.get("BENCH_DEBUG"): print(statement, sorted(mine), sorted(theirs))
        for k in mine.keys() & theirs.keys():
            j, d = mine[k], theirs[k]
            if statement.startswith("margin"):
                equal = equal and j[0] == d[0] and close(j[1], d[1]) and close(j[2], d[2])
            elif statement.startswith("value"):
                equal = equal and j[:2] == d[:2] and close(j[2], d[2]) and close(j[3], d[3])
            elif statement.startswith("revenue"):
                equal = equal and j[:3] == d[:3] and close(j[3], d[3])
            else:
                equal = equal and j[:4] == d[:4] and close(j[4], d[4])
            if not equal and os.environ.get("BENCH_DEBUG"): print(statement, k, j, d)
        ddb = median([x * 1000 for x in times[1:]])
        print(f"| {statement} | {ms:,.0f} | {ddb:,.0f} | {ddb / max(ms, 0.001):,.1f} | {'yes' if equal else 'NO'} |", flush=True)

    # compare: each side's members and converted from DuckDB, the two-proportion z-test recomputed here.
    statement = "compare customer.segment = smb with customer.segment = enterprise"
    rows, ms = journey_rows(a.journey, store, statement, a.runs)
    got = {r[0]: r[1:] for r in rows}
    sql = f"""SELECT p.segment, count(*), count(*) FILTER (WHERE top >= 5) FROM
              (SELECT c, max(CASE st {order} ELSE 0 END) AS top FROM events GROUP BY c) j JOIN people p USING (c)
              WHERE p.segment IN ('smb', 'enterprise') GROUP BY 1"""
    t = time.perf_counter(); side = {r[0]: (r[1], r[2]) for r in con.execute(sql).fetchall()}; ddb = (time.perf_counter() - t) * 1000
    (n1, x1), (n2, x2) = side["smb"], side["enterprise"]
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = math.erfc(abs(z) / math.sqrt(2))
    equal = got["members"][:2] == [str(n1), str(n2)] and got["converted"][:2] == [str(x1), str(x2)] and abs(float(got["conversion rate"][3]) - p) < 1e-4
    print(f"| {statement} (p = {p:.4g}) | {ms:,.0f} | {ddb:,.0f} | {ddb / max(ms, 0.001):,.1f} | {'yes' if equal else 'NO'} |", flush=True)

    # profile: every customer attribute value journey lists, its lift from DuckDB's counts.
    statement = "profile"
    rows, ms = journey_rows(a.journey, store, statement, a.runs)
    sql = f"""WITH j AS (SELECT c, max(CASE st {order} ELSE 0 END) >= 5 AS conv FROM events GROUP BY c)
              SELECT attr, v, count(*) FILTER (WHERE conv), count(*), (SELECT count(*) FILTER (WHERE conv) FROM j), (SELECT count(*) FROM j)
              FROM ({" UNION ALL ".join(f"SELECT c, conv, 'customer.{x}' AS attr, {x} AS v FROM j JOIN people USING (c)" for x in ("segment", "industry", "country", "status", "company_size"))})
              WHERE v IS NOT NULL AND v <> '' GROUP BY attr, v"""
    t = time.perf_counter(); theirs = {(r[0], r[1]): r[2:] for r in con.execute(sql).fetchall()}; ddb = (time.perf_counter() - t) * 1000
    checked, equal = 0, True
    for r in rows:
        if (r[0], r[1]) in theirs:
            cv, n, conv, members = theirs[(r[0], r[1])]
            checked += 1
            equal = equal and int(r[2]) == cv and close(float(r[6]), (cv / conv) / (n / members))
    print(f"| profile ({checked} customer-attribute values checked) | {ms:,.0f} | {ddb:,.0f} | {ddb / max(ms, 0.001):,.1f} | {'yes' if equal and checked else 'NO'} |", flush=True)


if __name__ == "__main__":
    main()
