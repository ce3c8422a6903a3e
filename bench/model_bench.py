#!/usr/bin/env python3
"""Model bench (issue 15): how good the models behind `score` and `forecast` are, on the generated bench store
and on the demo. Prints the lead model's AUC and calibration on its held-back customers (and accounts), and the
forecast's back-test error at several past dates: conversions and revenue foreseen for six 30-day periods
against what the open pipeline then did. Figures only (no thresholds): the tests hold the assertions.
"""
import csv as csvmod, io, re, subprocess

from common import arguments, generated_store


def run(journey, store, statement, mode="table"):
    p = subprocess.run([journey, store, "--mode", mode, "-c", statement], capture_output=True, text=True, check=True)
    return p.stdout


def score_quality(journey, store, unit):
    out = run(journey, store, "score limit 1" + (" count accounts" if unit == "accounts" else ""))
    auc = re.search(r"AUC ([0-9.]+) on ([0-9,]+) held-back", out)
    bins = re.findall(r"│\s+(\d+) │\s+([0-9,]+) │\s+([0-9.]+)% │\s+([0-9.]+)% │", out)
    top = bins[-1] if bins else None
    return (auc.group(1), auc.group(2)) if auc else ("?", "?"), top


def back_test(journey, store, date):
    out = run(journey, store, f"forecast months 6 as of {date} count accounts", mode="csv")
    rows = list(csvmod.reader(io.StringIO(out.strip().split("\n\n")[0])))[1:]
    rows = [r for r in rows if r and r[0].isdigit() and r[6] != "" and r[7] != ""]
    e_conv = sum(float(r[2]) for r in rows); a_conv = sum(int(r[6]) for r in rows)
    e_rev = sum(float(r[3]) for r in rows); a_rev = sum(float(r[7]) for r in rows)
    inside = sum(1 for r in rows if float(r[4]) <= float(r[7]) <= float(r[5]))
    mape = sum(abs(float(r[2]) - int(r[6])) / max(int(r[6]), 1) for r in rows) / max(len(rows), 1)
    return len(rows), e_conv, a_conv, e_rev, a_rev, inside, mape


def main():
    a = arguments("score and forecast quality")
    _, _, store = generated_store(a.journey, a.customers)
    for name, path in (("bench store", store), ("demo", "datasets/demo/demo.journey")):
        print(f"\n{name}: lead model (score, 90 days) on its held-back part")
        print("| unit | AUC | held back | top decile: customers, predicted, observed |")
        print("|---|---:|---:|---|")
        for unit in ("customers", "accounts"):
            (auc, n), top = score_quality(a.journey, path, unit)
            print(f"| {unit} | {auc} | {n} | {', '.join(top[1:]) if top else '?'} |", flush=True)
        print(f"\n{name}: forecast back-tests (accounts, six 30-day periods)")
        print("| as of | periods | conversions expected | happened | error | revenue expected | happened | error | periods inside the 10–90% band | mean abs. error per period (conversions) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for date in ("2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31"):
            n, ec, ac, er, ar, inside, mape = back_test(a.journey, path, date)
            print(f"| {date} | {n} | {ec:,.1f} | {ac:,} | {(ec - ac) / max(ac, 1):+.1%} | {er:,.0f} | {ar:,.0f} | {(er - ar) / max(ar, 1):+.1%} | {inside} of {n} | {mape:.1%} |", flush=True)


if __name__ == "__main__":
    main()
