#!/usr/bin/env python3
"""ClickHouse backend bench: the same statements natively, on one local ClickHouse server and on a 2-shard cluster
of two local servers, same store, same run; and the translator's SQL run on chDB (current ClickHouse, PyPI) over
the same events, so the SQL is not tied to the Debian server's 18.16 dialect.

Prints per statement: the answers equal (journey's csv output, native vs each backend), warm medians, and the
time split into ClickHouse's (journey waiting for the server's answers, as `.timer on` shows it) and journey's
(the rest: translating, parsing the rows, quantiles, a pattern's matching, the table). Figures only; nothing is asserted here (the tests do that).
"""
import csv as csvmod, io, json, os, re, subprocess, sys, tempfile, time, urllib.error, urllib.request

from common import OUT, arguments, generated_store, median

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "..", "Tests", "clickhouse", "servers.sh")
STATEMENTS = [
    "funnel awareness > consideration > intent > conversion within 30d",
    "funnel awareness > consideration > intent > conversion within 30d by channel",
    "funnel awareness > consideration? > intent > conversion within 30d excluding channel:email between 1 and 3",
    "funnel awareness > consideration > intent within 30d order strict",
    "paths from awareness to conversion",
    "count customers by channel",
    "time from awareness to conversion",
    "top 5 channels",
    "count matching demo_request then sales_call within 14d by channel",
]
# The SQL of every statement kind also runs on chDB (current ClickHouse), so the translation does not lean on
# 18.16's dialect alone.
CHDB_STATEMENTS = STATEMENTS + [
    "funnel awareness > consideration > conversion within 60d order any entry best same channel",
    "funnel awareness > intent > conversion within 90d ties in import order entry best by customer.segment",
    "funnel awareness > intent > conversion within 90d count accounts",
    "count accounts by stage", "stats", "revenue by channel", "margin by customer.segment", "leads by channel", "compare customer.segment = smb with customer.segment = enterprise", "profile", "dropoff after consideration", "retention from awareness every month periods 4",
    "customers who reached intent and not reached stage:conversion limit 5", "pauses longer than 60d open limit 5",
    "touchpoints by channel", "gaps", "paths from awareness next 3", "attribution model all", "attribution model markov count accounts",
    "customers matching awareness any* demo_request within 30d limit 5",
]


def q(url, sql):
    return urllib.request.urlopen(urllib.request.Request(url, data=sql.encode())).read().decode()


def warm(journey, args, statement, runs):
    """The median warm time, and on ClickHouse the median part of it spent waiting for the server's answers
    (journey's `.timer` measures it around each HTTP request), and the output."""
    script = ".timer on\n" + "\n".join([statement] * (runs + 1)) + "\n"
    p = subprocess.run([journey] + args + ["--mode", "csv"], input=script, capture_output=True, text=True)
    if p.returncode != 0:
        return None, None, p.stderr.strip()
    found = re.findall(r"Run Time: ([0-9.]+) s(?: \(ClickHouse ([0-9.]+) s\))?", p.stdout)[1:]
    total = median([float(t) * 1000 for t, _ in found])
    server = median([float(c) * 1000 for _, c in found]) if all(c for _, c in found) else None
    return total, server, re.sub(r"Run Time: [^\n]*\n", "", p.stdout)


def normalized(tsv):
    """Rows sorted, and inside each row the arrays sorted (groupArray's order is the engine's own); fractional
    numbers to 9 significant digits (a sum of floats added in another order differs in the last bits)."""
    def number(x):
        if "." in x or "e" in x:
            try:
                return f"{float(x):.9g}"
            except ValueError:
                return x
        return x
    def field(f):
        if f.startswith("[") and f.endswith("]"):
            return "[" + ",".join(sorted(number(x) for x in f[1:-1].split(",") if x)) + "]"
        return number(f)
    return sorted("\t".join(field(f) for f in line.split("\t")) for line in tsv.splitlines() if line)


def main():
    a = arguments("journey on ClickHouse: native vs one server vs a 2-shard cluster, and the SQL on chDB")
    csv, tps, store = generated_store(a.journey, a.customers)
    d = tempfile.mkdtemp()
    # The servers' data is kept in bench/out/clickhouse between runs: a second push finds every batch logged.
    chdir = os.path.join(OUT, "clickhouse")
    env = subprocess.run(["/bin/sh", SERVERS, "start", chdir], capture_output=True, text=True)
    if env.returncode != 0:
        print("clickhouse servers did not start:", env.stderr); return
    urls = dict(line.split("=", 1) for line in env.stdout.split())
    u1, u2 = urls["JOURNEY_CLICKHOUSE_URL"], urls["JOURNEY_CLICKHOUSE_URL2"]
    try:
        single, cluster = u1 + "?database=bench", u1 + "?database=benchc"
        for target, extra in [(single, []), (cluster, ["--cluster", "journey_2shards", "--shard", u1, "--shard", u2])]:
            t = time.perf_counter()
            subprocess.run([a.journey, "push", store, "--clickhouse", target] + extra, check=True, capture_output=True)
            print(f"push {'cluster' if extra else 'single'}: {time.perf_counter() - t:.1f} s", flush=True)
        print("\n| statement | native ms | 1 server ms (ClickHouse / journey) | 2 shards ms (ClickHouse / journey) | answers equal |")
        print("|---|---:|---:|---:|---|")
        for s in STATEMENTS:
            n_ms, _, n_out = warm(a.journey, [store], s, a.runs)
            cells, equal = [], True
            for target in [single, cluster]:
                ms, ch, out = warm(a.journey, ["--clickhouse", target], s, a.runs)
                if ms is None:
                    cells.append(f"– ({out})"); equal = False; continue
                cells.append(f"{ms:,.0f} ({ch:,.0f} / {ms - ch:,.0f})")
                equal = equal and out == n_out
            print(f"| {s} | {n_ms:,.0f} | {cells[0]} | {cells[1]} | {'yes' if equal else 'NO'} |", flush=True)
        # The translator's SQL on chDB (ClickHouse 26.x in-process) over the same events, exported from the server.
        try:
            import chdb
        except ImportError:
            print("chdb not installed; skipping the chDB run"); return
        tsv = os.path.join(d, "events.tsv")
        with open(tsv, "wb") as f:
            f.write(urllib.request.urlopen(urllib.request.Request(u1 + "?database=bench", data=b"SELECT * FROM events FORMAT TabSeparated")).read())
        sess = chdb.session.Session() if hasattr(chdb, "session") else None
        run = (lambda sql: sess.query(sql, "TSV")) if sess else (lambda sql: chdb.query(sql, "TSV"))
        run("CREATE DATABASE IF NOT EXISTS journey")
        for t in ["dictionary", "attributes", "customers"]:
            cols = q(u1 + "?database=bench", f"SELECT groupArray(concat(name, ' ', type)) FROM system.columns WHERE database = 'bench' AND table = '{t}' FORMAT JSONEachRow")
            ddl = ", ".join(json.loads(cols)["groupArray(concat(name, ' ', type))"])
            run(f"CREATE TABLE journey.{t} ({ddl}) ENGINE = MergeTree ORDER BY tuple()")
            rows = urllib.request.urlopen(urllib.request.Request(u1 + "?database=bench", data=f"SELECT * FROM {t} FORMAT TabSeparated".encode())).read()
            p = os.path.join(d, t + ".tsv"); open(p, "wb").write(rows)
            run(f"INSERT INTO journey.{t} SELECT * FROM file('{p}', TabSeparated, '{ddl}')")
        from_cols = "customer Int64, ts Int64, seq UInt32, event UInt32, channel UInt16, stage UInt8, kind UInt8, campaign UInt32, device UInt16, source UInt16, value Float64"
        run(f"CREATE TABLE journey.events ({from_cols}) ENGINE = MergeTree ORDER BY (customer, ts, seq)")
        run(f"INSERT INTO journey.events SELECT * FROM file('{tsv}', TabSeparated, '{from_cols}')")
        print("\n| statement (its SQL) | 18.16 server rows = chDB rows | chDB ms |")
        print("|---|---|---:|")
        for s in CHDB_STATEMENTS:
            out = subprocess.run([a.journey, store, "-c", "explain sql " + s, "--mode", "csv"], capture_output=True, text=True).stdout
            queries = [r[0] for r in list(csvmod.reader(io.StringIO(out)))[1:] if r]
            same, ms, failure = True, [], ""
            for sql in queries:
                try:
                    server = normalized(q(u1 + "?database=bench", sql.replace("journey.", "bench.") + "\nFORMAT TSV"))
                except urllib.error.HTTPError as e:   # e.g. the 18.16 server's per-query memory limit
                    same, failure = False, f" (the 18.16 server: {e.read().decode(errors='replace').splitlines()[0][:160]})"
                    break
                t = time.perf_counter()
                try:
                    local = normalized(str(run(sql)))
                except Exception as e:   # a dialect difference: reported, the other statements still run
                    same, failure = False, f" ({str(e).splitlines()[0][:160]})"
                    break
                ms.append((time.perf_counter() - t) * 1000)
                same = same and server == local
            print(f"| {s} | {'yes' if same else 'NO' + failure} | {sum(ms):,.0f} |", flush=True)
    finally:
        subprocess.run(["/bin/sh", SERVERS, "stop", chdir, "keep"])


if __name__ == "__main__":
    main()
