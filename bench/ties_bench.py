#!/usr/bin/env python3
"""Ties: journey's funnel tie rules against ClickHouse's windowFunnel (chDB) on data where many events share a time.

The generated b2b file has its timestamps truncated (to the day by default) and each customer's rows shuffled, so
events at one time stand in the file in no meaningful order, as in real logs. Then a 4-step funnel within 365d,
entry best, runs three ways in journey and two in chDB:
  journey (default, ties together)  vs  windowFunnel(window)                     — must be equal
  journey … strictly later          vs  windowFunnel(window, 'strict_increase')  — must be equal
  journey … ties in import order    (no other tool has this rule; shown for the difference it makes)
Prints the per-step counts, whether they are equal, and median times. Nothing here is asserted by tests; the
tests check the same rules against the plain reference (FunnelReferenceTests).
"""
import csv as csvmod, os, random, re, subprocess, sys, time

from common import OUT, arguments, generated_file, median

STEPS = ["awareness", "consideration", "intent", "conversion"]
WINDOW_MS = 365 * 86_400_000


def truncated_file(src, unit):
    """`src` with timestamps cut to `unit` (day, hour or minute) and each customer's rows shuffled (seed 7)."""
    dst = src.replace(".csv", f"-ties-{unit}.csv")
    if os.path.exists(dst):
        return dst
    keep = {"day": 10, "hour": 13, "minute": 16}[unit]
    fill = {"day": "T00:00:00Z", "hour": ":00:00Z", "minute": ":00Z"}[unit]
    rng = random.Random(7)
    with open(src, newline="") as f, open(dst, "w", newline="") as g:
        r = csvmod.reader(f); w = csvmod.writer(g, lineterminator="\n")
        header = next(r); w.writerow(header)
        ti = header.index("timestamp"); ci = header.index("customer_id")
        block, current = [], None
        for row in r:
            row[ti] = row[ti][:keep] + fill
            if row[ci] != current and block:
                rng.shuffle(block); w.writerows(block); block = []
            current = row[ci]; block.append(row)
        rng.shuffle(block); w.writerows(block)
    return dst


def journey_counts(out):
    return [int(l.split(",")[1]) for l in out.strip().splitlines() if re.match(r"^\d\. ", l)]


def main():
    a = arguments("funnel tie rules: journey vs chDB windowFunnel on tie-heavy data")
    unit = os.environ.get("BENCH_TIES_UNIT", "day")
    src, tps = generated_file(a.journey, a.customers)
    data = truncated_file(src, unit)
    store = data.replace(".csv", ".journey")
    if not os.path.exists(store):
        subprocess.run([a.journey, "import", data, tps, "--into", store, "--no-progress"], check=True, capture_output=True)
    base = f"funnel {' > '.join(STEPS)} within 365d entry best"
    results = {}
    for rule in ["", " strictly later", " ties in import order"]:
        q = base + rule
        script = ".timer on\n" + "\n".join([q] * (a.runs + 1)) + "\n"
        p = subprocess.run([a.journey, store, "--mode", "csv"], input=script, capture_output=True, text=True, check=True)
        warm = [float(x) for x in re.findall(r"Run Time: ([0-9.]+) s", p.stdout)][1:]
        first = p.stdout.split("Run Time")[0]
        results[rule.strip() or "ties together"] = (journey_counts(first), median(warm))

    ch = {}
    try:
        from chdb import session as chs
        s = chs.Session(os.path.join(OUT, f"ties-{a.customers}-{unit}.chdb"))
        s.query("CREATE DATABASE IF NOT EXISTS j")
        if s.query("EXISTS TABLE j.events", "CSV").bytes().strip() != b"1":
            s.query(f"""CREATE TABLE j.events ENGINE = MergeTree ORDER BY (c, t) AS
                SELECT raw.customer_id AS c, toUInt64(toUnixTimestamp64Milli(parseDateTime64BestEffort(raw.timestamp, 3))) AS t,
                       if(raw.stage = '', tp.stage, raw.stage) AS st
                FROM file('{data}', CSVWithNames, 'customer_id String, timestamp String, event String, channel String, stage String, kind String, account_id String, value String, source String, campaign String, device String, anonymous_id String') AS raw
                LEFT JOIN file('{tps}', CSVWithNames, 'event String, stage String, channel String, kind String, online String') AS tp ON tp.event = raw.event""")
        conds = ", ".join(f"st = '{x}'" for x in STEPS)
        for name, mode in [("windowFunnel", ""), ("windowFunnel strict_increase", ", 'strict_increase'")]:
            q = "SELECT " + ", ".join(f"countIf(level >= {k})" for k in range(1, 5)) + \
                f" FROM (SELECT c, windowFunnel({WINDOW_MS}{mode})(t, {conds}) AS level FROM j.events GROUP BY c)"
            times = []
            for _ in range(a.runs + 1):
                t = time.perf_counter(); res = s.query(q, "CSV").bytes().decode(); times.append(time.perf_counter() - t)
            ch[name] = ([int(x) for x in res.strip().split(",")], median(times[1:]))
    except ImportError:
        print("chdb is not installed (pip install chdb): skipped")

    events = sum(1 for _ in open(data, "rb")) - 1
    print(f"\nfunnel tie rules: {base}; {events:,} events, {a.customers:,} customers, timestamps cut to the {unit}, "
          f"rows shuffled within each customer; medians of {a.runs}")
    print(f"{'engine':<40}{'step counts':<40}{'equal':>7}{'warm ms':>10}")
    pairs = [("ties together", "windowFunnel"), ("strictly later", "windowFunnel strict_increase"), ("ties in import order", None)]
    for mine, theirs in pairs:
        counts, ms = results[mine]
        other = ch.get(theirs) if theirs else None
        print(f"{'journey ' + mine:<40}{str(counts):<40}{'' if other is None else ('yes' if other[0] == counts else 'NO'):>7}{ms * 1000:>10.1f}")
        if other is not None:
            print(f"{'chDB ' + theirs:<40}{str(other[0]):<40}{'':>7}{other[1] * 1000:>10.1f}")


if __name__ == "__main__":
    main()
