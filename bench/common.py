"""What both benchmarks share: their arguments, the generated b2b file (made once into bench/out/), medians."""
import argparse, os, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")

def arguments(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--journey", default=".build/release/journey")
    ap.add_argument("--customers", type=int, default=int(os.environ.get("BENCH_CUSTOMERS", "2000000")))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "3")))
    return ap.parse_args()

def generated_file(journey, customers):
    """The b2b events file for `customers` (clean, seed 1) and its touchpoint catalog, generated when missing."""
    os.makedirs(OUT, exist_ok=True)
    csv = os.path.join(OUT, f"b2b-{customers}.csv")
    if not os.path.exists(csv):
        print(f"generating {customers:,} customers …", flush=True)
        subprocess.run([journey, "generate", "--profile", "b2b", "--customers", str(customers), "--seed", "1", "--clean", "--out", csv],
                       check=True, capture_output=True)
    return csv, os.path.join(OUT, f"b2b-{customers}-touchpoints.csv")

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
