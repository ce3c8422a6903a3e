#!/usr/bin/env python3
"""A/B of two journey binaries on one store, in one sitting: each statement run warm in both, interleaved
process by process, so the machine's noise falls on both alike. Prints per statement the medians and the ratio.

    python3 bench/ab_bench.py --before OLD/journey --after .build/release/journey --store bench/out/b2b-2400000.journey
"""
import argparse, re, statistics, subprocess

STATEMENTS = [
    "funnel awareness > consideration > intent > conversion within 30d",
    "funnel awareness > consideration > intent > conversion within 30d entry best",
    "funnel awareness > consideration > intent > conversion within 30d by channel",
    "funnel awareness > consideration > intent > conversion within 365d excluding stage:retention entry best",
    "paths from awareness to conversion top 20",
    "count customers by channel",
    "count accounts by customer.segment where channel = linkedin",
    "time from awareness to conversion",
    "dropoff after consideration",
    "top 5 channels",
    "retention from awareness every month periods 6",
    "attribution model markov",
    "stats",
]


def warm_ms(binary, store, statement, repeats):
    """Runs the statement 1 + repeats times in one process; the medians of the warm runs (ms)."""
    args = [binary, store, "-c", ".timer on"] + ["-c", statement] * (1 + repeats)
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    times = [float(x) * 1000 for x in re.findall(r"Run Time: ([0-9.]+) s", out)]
    return times[1:]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    print("| statement | before ms | after ms | after/before |")
    print("|---|---:|---:|---:|")
    for s in STATEMENTS:
        before, after = [], []
        for _ in range(a.rounds):
            before += warm_ms(a.before, a.store, s, a.repeats)
            after += warm_ms(a.after, a.store, s, a.repeats)
        b, c = statistics.median(before), statistics.median(after)
        print(f"| {s} | {b:,.0f} | {c:,.0f} | {c / b:.2f} |", flush=True)


if __name__ == "__main__":
    main()
