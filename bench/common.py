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

def generated_store(journey, customers):
    """The generated file, its touchpoint catalog, and the store imported from them with the customers and accounts
    beside them (once, into bench/out/)."""
    csv, tps = generated_file(journey, customers)
    store = os.path.join(OUT, f"b2b-{customers}.journey")
    if not os.path.exists(store):
        people = [f for f in (csv.replace(".csv", "-customers.csv"), csv.replace(".csv", "-accounts.csv")) if os.path.exists(f)]
        subprocess.run([journey, "import", tps, csv, *people, "--into", store, "--no-progress"], check=True, capture_output=True)
    return csv, tps, store

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

def duckdb_events(con, csv, tps):
    """The generated events in DuckDB as table `events`: customer c, time t (ms), event e, stage st and channel ch
    (filled from the touchpoint catalog where a row has none, as journey does), value val, and rn = the event's
    position in the customer's time order, ties in file order (journey's order). Created once per DuckDB file."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'events'").fetchone()[0]:
        con.execute(f"""
            CREATE TABLE events AS
            WITH raw AS (SELECT *, row_number() OVER () AS file_row FROM read_csv('{csv}', header=true, all_varchar=true)),
                 tp AS (SELECT * FROM read_csv('{tps}', header=true, all_varchar=true))
            SELECT raw.customer_id AS c, epoch_ms(CAST(raw.timestamp AS TIMESTAMPTZ)) AS t, raw.event AS e,
                   coalesce(nullif(raw.stage, ''), tp.stage) AS st,
                   coalesce(nullif(raw.channel, ''), nullif(tp.channel, ''), '(none)') AS ch,
                   TRY_CAST(nullif(raw.value, '') AS DOUBLE) AS val,
                   row_number() OVER (PARTITION BY raw.customer_id ORDER BY epoch_ms(CAST(raw.timestamp AS TIMESTAMPTZ)), raw.file_row) AS rn
            FROM raw LEFT JOIN tp ON tp.event = raw.event""")
