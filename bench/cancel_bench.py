"""Ctrl-C latency per statement kind (issue 17): the interactive shell in a pseudo-terminal on the bench store;
each statement is run once to its end (its duration), then again with Ctrl-C sent halfway; the latency is the
time from the keystroke to the prompt coming back. Medians of --repeat runs. Usage:
    python3 bench/cancel_bench.py --journey .build/release/journey --store bench/out/b2b-2400000.journey
"""
import argparse, fcntl, os, pty, select, statistics, struct, termios, time

STATEMENTS = [
    "funnel awareness > consideration > intent > conversion within 90d",
    "funnel awareness > consideration > intent > conversion within 90d count accounts",
    "paths from awareness to conversion",
    "time from awareness to conversion",
    "dropoff after intent",
    "count customers by channel",
    "top 5 events",
    "pauses longer than 30d",
    "stats",
    "customers who reached intent and not reached conversion limit 5",
    "customers matching pricing_page_view then sales_call within 14d limit 5",
    "count matching any* (any any)+ any* within 30d",
    "attribution model markov",
    "attribution model all",
    "touchpoints",
    "gaps",
    "retention from awareness returning conversion every month",
    "revenue by channel",
    "margin by customer.segment",
    "value by customer.segment",
    "customers by value",
    "score",
    "forecast",
    "leads",
    "compare touched linkedin with touched display",
    "profile",
    "quality",
]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--journey", default=".build/release/journey")
    ap.add_argument("--store", default="bench/out/b2b-2400000.journey")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"; os.environ["JOURNEY_HISTORY"] = "/dev/null"
        os.execv(a.journey, [a.journey, a.store])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    buf = bytearray()

    def read_until(pattern, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.005)
            if r:
                try: chunk = os.read(fd, 1 << 16)
                except OSError: break
                buf.extend(chunk)
                i = buf.find(pattern)
                if i >= 0:
                    out = bytes(buf[:i]); del buf[:i + len(pattern)]
                    return out, time.time()
        raise TimeoutError(pattern)

    prompt = b"journey> "
    read_until(prompt)
    os.write(fd, b"stats\r"); read_until(prompt)          # load once
    print(f"{'statement':80} {'runs in':>9} {'Ctrl-C → prompt':>16}  cancelled")
    rows = []
    for st in STATEMENTS:
        durations, latencies, cancelled = [], [], 0
        for _ in range(a.repeat):
            t0 = time.time(); os.write(fd, st.encode() + b"\r"); out, t1 = read_until(prompt)
            durations.append(t1 - t0)
        d = statistics.median(durations)
        for _ in range(a.repeat):
            os.write(fd, st.encode() + b"\r")
            time.sleep(d / 2)
            t0 = time.time(); os.write(fd, b"\x03"); out, t1 = read_until(prompt)
            latencies.append(t1 - t0)
            if b"cancelled" in out: cancelled += 1
        lat = statistics.median(latencies)
        rows.append((st, d, lat, cancelled))
        print(f"{st[:80]:80} {d * 1000:8.0f}ms {lat * 1000:14.0f}ms  {cancelled}/{a.repeat}", flush=True)
    os.write(fd, b"\x04")
    print(f"median Ctrl-C latency over all kinds: {statistics.median(r[2] for r in rows) * 1000:.0f} ms; "
          f"worst: {max(r[2] for r in rows) * 1000:.0f} ms ({max(rows, key=lambda r: r[2])[0]})")

main()
