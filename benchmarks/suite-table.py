#!/usr/bin/env python3
"""Reads the raw results benchmarks/run.sh wrote into one folder and prints its table of figures.

    suite-table.py RESULTS_DIR PAIRS          the final table: figure | A | B | ratio or difference | target | met?
    suite-table.py row RAWBENCH.json LABEL    RawBench rows in the load generator's 9 columns, for the running log

File names are FIGURE-CASE-SIDE-PAIR: .jsonl from Pronto.LoadGen (one JSON object a line), .json from
Pronto.RawBench (an array of rows). Each figure is computed per pair (A and B of the same pair were measured one
after the other), then summarized as the median over pairs and its spread (min-max).
"""
import json
import math
import os
import statistics
import sys


def load_run(folder, stem, pair):
    path = os.path.join(folder, f"{stem}-{pair}.jsonl")
    with open(path) as f:
        return json.loads(f.readline())


def raw_rows(folder, stem, pair):
    with open(os.path.join(folder, f"{stem}-{pair}.json")) as f:
        return json.load(f)


def best_throughput(rows):
    """The fastest throughput row (rows/s) of a RawBench run: the limit is raw ORT at its best batch size."""
    return max((r for r in rows if r["mode"] == "throughput"), key=lambda r: r["rows_per_second"])


def number(value):
    """Thousands separated and whole from 100 up, one decimal below."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


class Side:
    """One side of a figure in one pair: the number compared, and a short description for the A or B column."""

    def __init__(self, value, text, errors=0):
        self.value, self.text, self.errors = value, text, errors


def pronto(field, unit, extra=None):
    def read(folder, stem, pair):
        run = load_run(folder, stem, pair)
        errors = run["errors"] + run["mismatches"]
        value = run[field]
        text = f"{number(value)} {unit}"
        if extra:
            text += extra(run)
        return Side(value, text, errors)
    return read


def mean_batch(run):
    return f", batch {run['server_mean_batch']:.1f}" if run.get("server_mean_batch") else ""


def req_per_s(run):
    return f", {run['throughput']:,.0f} req/s"


def raw_at_pronto_batch(pronto_stem):
    """Raw ORT at the measured batch size nearest (in ratio) to the mean batch Pronto ran in the same pair: the same
    batch sizes, as the issue asks; the best batch is named beside it."""
    def read(folder, stem, pair):
        rows = [r for r in raw_rows(folder, stem, pair) if r["mode"] == "throughput"]
        batch = load_run(folder, pronto_stem, pair).get("server_mean_batch") or 1
        row = min(rows, key=lambda r: abs(math.log(r["batch"] / batch)))
        best = best_throughput(rows)
        return Side(row["rows_per_second"], f"{number(row['rows_per_second'])} rows/s at batch {row['batch']} "
                    f"(best: {number(best['rows_per_second'])} at batch {best['batch']})")
    return read


def raw_p50(folder, stem, pair):
    row = raw_rows(folder, stem, pair)[0]
    return Side(row["p50_us"], f"{number(row['p50_us'])} us")


def model_gflops(folder, stem, pair):
    row = max((r for r in raw_rows(folder, stem, pair) if r["mode"] == "throughput"), key=lambda r: r["gflop_per_second"])
    return Side(row["gflop_per_second"], f"{row['gflop_per_second']:.0f} GFLOP/s, batch {row['batch']}")


def peak_gflops(folder, stem, pair):
    row = next(r for r in raw_rows(folder, stem, pair) if r["mode"] == "peak")
    return Side(row["gflop_per_second"], f"{row['gflop_per_second']:.0f} GFLOP/s peak")


def ratio(a, b):
    return a / b


def difference(a, b):
    return a - b


def a_only(a, _):
    return a


# figure, (A reader, A stem), (B reader, B stem) or None, combine, how the value prints, target as (op, bound) or None
FIGURES = [
    ("1. saturated throughput resnet18, Pronto HTTP binary c4 / raw ORT 1 thread",
     (pronto("throughput", "req/s", mean_batch), "f1-resnet18-pronto"), (raw_at_pronto_batch("f1-resnet18-pronto"), "f1-resnet18-raw"), ratio, "{:.2f}", (">=", 0.95)),
    ("1. saturated throughput minilm, Pronto HTTP binary c32 / raw ORT 1 thread",
     (pronto("throughput", "req/s", mean_batch), "f1-minilm-pronto"), (raw_at_pronto_batch("f1-minilm-pronto"), "f1-minilm-raw"), ratio, "{:.2f}", (">=", 0.95)),
    ("2. p50 fraud c1, Pronto HTTP binary - raw ORT batch 1 (us)",
     (pronto("p50_us", "us"), "f2-fraud-pronto"), (raw_p50, "f2-fraud-raw"), difference, "{:.0f}", ("<=", 100)),
    ("2. p50 resnet18 c1, Pronto HTTP binary - raw ORT batch 1 (us)",
     (pronto("p50_us", "us"), "f2-resnet18-pronto"), (raw_p50, "f2-resnet18-raw"), difference, "{:.0f}", ("<=", 100)),
    ("3. server CPU per request, identity c16, HTTP JSON (us)",
     (pronto("server_cpu_us_per_request", "us", req_per_s), "f3-identity-json"), None, a_only, "{:.1f}", None),
    ("3. server CPU per request, identity c16, HTTP binary (us)",
     (pronto("server_cpu_us_per_request", "us", req_per_s), "f3-identity-binary"), None, a_only, "{:.1f}", ("<=", 30)),
    ("3. server CPU per request, identity c16, gRPC (us)",
     (pronto("server_cpu_us_per_request", "us", req_per_s), "f3-identity-grpc"), None, a_only, "{:.1f}", ("<=", 20)),
    ("4. fraud c64 HTTP JSON throughput, Pronto / naive endpoint at 1 intra-op thread",
     (pronto("throughput", "req/s"), "f4-fraud-pronto"), (pronto("throughput", "req/s"), "f4-fraud-naive"), ratio, "{:.2f}", (">=", 3)),
    ("4. fraud c64 HTTP JSON throughput, Pronto / naive endpoint at ORT's default threads",
     (pronto("throughput", "req/s"), "f4-fraud-pronto"), (pronto("throughput", "req/s"), "f4-fraud-naive-default"), ratio, "{:.2f}", (">=", 3)),
    ("4. fraud c64 HTTP JSON p99, Pronto (B: naive) (us)",
     (pronto("p99_us", "us"), "f4-fraud-pronto"), (pronto("p99_us", "us"), "f4-fraud-naive"), a_only, "{:.0f}", ("<=", 5000)),
    ("5. resnet18 c1 p50, Pronto HTTP JSON / HTTP binary",
     (pronto("p50_us", "us"), "f5-resnet18-json"), (pronto("p50_us", "us"), "f2-resnet18-pronto"), ratio, "{:.2f}", None),
    ("5. resnet18 c1 server CPU per request, HTTP JSON / HTTP binary",
     (pronto("server_cpu_us_per_request", "us"), "f5-resnet18-json"), (pronto("server_cpu_us_per_request", "us"), "f2-resnet18-pronto"), ratio, "{:.2f}", None),
    ("6. resnet18 GFLOP/s at 2 threads / measured peak (raw ORT)",
     (model_gflops, "f6-resnet18-raw"), (peak_gflops, "f6-resnet18-raw"), ratio, "{:.2f}", (">=", 0.75)),
]


def table(folder, pairs):
    print("| figure | A | B | ratio or difference: median (min-max) | target | met? |")
    print("|---|---|---|---|---|---|")
    for name, (read_a, stem_a), b, combine, fmt, target in FIGURES:
        try:
            sides = [(read_a(folder, stem_a, p), b[0](folder, b[1], p) if b else None) for p in range(1, pairs + 1)]
        except (OSError, KeyError, StopIteration, ValueError) as e:
            print(f"| {name} | missing: {e} | | | | |")
            continue
        values = [combine(a.value, bb.value if bb else None) for a, bb in sides]
        median = statistics.median(values)
        spread = f" ({fmt.format(min(values))}-{fmt.format(max(values))})" if pairs > 1 else " (1 pair)"
        errors = sum(a.errors + (bb.errors if bb else 0) for a, bb in sides)
        met = "-"
        if target:
            op, bound = target
            met = "yes" if (median >= bound if op == ">=" else median <= bound) else "no"
        if errors:
            met += f" ({errors} failed or mismatched requests)"
        a_text = middle([a for a, _ in sides])
        b_text = middle([bb for _, bb in sides]) if b else "-"
        goal = f"{target[0]} {target[1]}" if target else "-"
        print(f"| {name} | {a_text} | {b_text} | {fmt.format(median)}{spread} | {goal} | {met} |")


def middle(sides):
    """The description of the side whose value is the median (the lower middle for an even count)."""
    ordered = sorted(sides, key=lambda s: s.value)
    return ordered[(len(ordered) - 1) // 2].text


def markdown_rows(path, label):
    """RawBench rows as load-generator rows: label, batch, runs, errors 0, p50, -, p99, -, rows/s."""
    for r in json.load(open(path)):
        what = f"{label} {r['model']} batch {r['batch']}"
        if r.get("gflop_per_second"):
            what += f": {r['gflop_per_second']:.0f} GFLOP/s" + (f", {r['of_peak']:.2f} of peak" if r.get("of_peak") else "")
        p50 = f"{r['p50_us']:.0f}" if r.get("p50_us") is not None else ""
        p99 = f"{r['p99_us']:.0f}" if r.get("p99_us") is not None else ""
        print(f"| {what} | {r['threads']} thr | {r['runs']} | 0 | {p50} | | {p99} | | {r['rows_per_second']:.0f} |")


if __name__ == "__main__":
    if sys.argv[1] == "row":
        markdown_rows(sys.argv[2], sys.argv[3])
    else:
        table(sys.argv[1], int(sys.argv[2]))
