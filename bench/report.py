"""Print the benchmark's tables and ratios, and write them as JSON under bench/results/."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# (label, numerator scenario, denominator scenario, metric)
RATIOS = (
    ("sandbox/echo req/s (recording on)", "bal_rec_on", "bal_echo", "rps"),
    ("sandbox/echo req/s (recording off)", "bal_rec_off", "bal_echo", "rps"),
    ("sandbox/echo p99 (recording on)", "bal_rec_on", "bal_echo", "p99_ms"),
    ("sandbox/echo p99 (recording off)", "bal_rec_off", "bal_echo", "p99_ms"),
    ("recording on/off req/s", "bal_rec_on", "bal_rec_off", "rps"),
    ("recording on/off p99", "bal_rec_on", "bal_rec_off", "p99_ms"),
    ("create+cancel/lookup req/s (recording on)", "booking_rec_on", "bal_rec_on", "rps"),
    ("echo/raw WSGI req/s", "bal_echo", "bal_raw", "rps"),
    ("wiremock/echo req/s (context)", "bal_wiremock", "bal_echo", "rps"),
)  # the pipeline's targets (camelCase, armed fault, payment, WireMock, raw WSGI): bench/targets.py


def median_of(runs: list) -> dict:
    """One scenario over several rounds: the median of each figure, and every round's req/s."""
    rows = [run.as_dict() for run in runs]
    summary = dict(rows[0])
    for metric in ("rps", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms", "requests", "duration_s"):
        summary[metric] = round(statistics.median(row[metric] for row in rows), 3)
    summary["errors"] = sum(row["errors"] for row in rows)
    middle = sorted(rows, key=lambda row: row["rps"])[len(rows) // 2]
    summary["counters"] = middle["counters"]
    summary["rounds_rps"] = [row["rps"] for row in rows]
    return summary


def ratios(results: dict) -> dict:
    """Every ratio whose two scenarios were measured, plus the largest/smallest fixture ratios."""
    found = {}
    for label, top, bottom, metric in RATIOS:
        if top in results and bottom in results and results[bottom][metric]:
            found[label] = round(results[top][metric] / results[bottom][metric], 3)
    return found


def scaling_ratios(scaling: list[dict]) -> dict:
    """Largest vs smallest fixture: latency and memory."""
    if len(scaling) < 2:
        return {}
    small, big = scaling[0], scaling[-1]
    name = f"{big['size']}/{small['size']}"
    found = {}
    for flow in ("bal", "booking"):
        for metric in ("p50_ms", "p99_ms"):
            if flow in small and flow in big and small[flow][metric]:
                found[f"{name} {flow} {metric.removesuffix('_ms')}"] = round(big[flow][metric] / small[flow][metric], 3)
    if small.get("group_pss_mb"):
        found[f"{name} memory (PSS)"] = round(big["group_pss_mb"] / small["group_pss_mb"], 1)
    return found


def print_report(out: dict) -> None:
    """The compact tables: scenarios, scaling, start-up, ratios, notes."""
    print(
        f"\nload generator: {out['meta']['loadgen']}"
        + (
            "  (percentiles corrected for coordinated omission: a stall also counts for the requests a steady "
            "client would have sent meanwhile)"
            if out["meta"]["loadgen"] == "wrk"
            else "  (Python fallback: slower than wrk, understates the servers; raw percentiles, a stall counts once)"
        )
    )
    head = f"{'scenario':<40} {'conns':>5} {'req/s':>8} {'p50':>7} {'p90':>7} {'p99':>7}  (ms)  notes"
    print(head + "\n" + "-" * len(head))
    for r in out["results"].values():
        rounds = f"rounds: {', '.join(f'{x:.0f}' for x in r['rounds_rps'])} " if r.get("rounds_rps") else ""
        print(
            f"{r['scenario']:<40} {r['connections']:>5} {r['rps']:>8.0f} {r['p50_ms']:>7.2f} {r['p90_ms']:>7.2f} "
            f"{r['p99_ms']:>7.2f}        {rounds}{_notes(r)}"
        )
    if out["scaling"]:
        head = (
            f"\n{'fixture':<8} {'slots':>9} {'bookings':>9} {'ready s':>8} {'RSS MB':>8} {'PSS MB':>8}  "
            f"{'BAL p50':>8} {'BAL p99':>8} {'book p50':>9} {'book p99':>9}  "
            "(ms; RSS = worker, PSS = group; medians of the rounds)"
        )
        print(head)
        for s in out["scaling"]:
            bal, book = s.get("bal", {}), s.get("booking", {})
            filled = s.get("memory_filled_mb", {})
            print(
                f"{s['size']:<8} {s['slots']:>9} {s.get('bookings', 0):>9} {s['ready_s']:>8.2f} "
                f"{s['worker_rss_mb']:>8.0f} {s['group_pss_mb']:>8.0f}  {bal.get('p50_ms', 0):>8.2f} "
                f"{bal.get('p99_ms', 0):>8.2f} {book.get('p50_ms', 0):>9.2f} {book.get('p99_ms', 0):>9.2f}"
            )
            if filled:
                print(
                    f"{'':<8} with its {s['bookings']} bookings (filled in {s['fill_s']} s): worker RSS "
                    f"{filled['worker_rss_mb']:.0f} MB, group PSS {filled['group_pss_mb']:.0f} MB"
                )
    if out.get("threads"):
        print(
            f"\n{'threads':>7} {'sandbox req/s':>14} {'p99':>7} {'echo req/s':>11} {'p99':>7} {'ratio':>6}  "
            "(BAL, recording on; ms)"
        )
        for row in out["threads"]:
            sandbox, echo = row["sandbox"], row["echo"]
            print(
                f"{row['threads']:>7} {sandbox['rps']:>14.0f} {sandbox['p99_ms']:>7.2f} {echo['rps']:>11.0f} "
                f"{echo['p99_ms']:>7.2f} {sandbox['rps'] / echo['rps']:>6.2f}"
            )
    if out["startup"].get("ready_s"):
        runs = out["startup"]["ready_s"]
        print(
            f"\nstart-up to ready, default fixture: median {statistics.median(runs):.2f} s "
            f"(runs: {', '.join(f'{x:.2f}' for x in runs)}); memory {out['startup'].get('memory_mb', {})}"
        )
    print("\nratios:")
    for label, value in {**out["ratios"], **out["scaling_ratios"]}.items():
        print(f"  {label:<40} {value:.2f}x")
    for note in out["notes"]:
        print(f"note: {note}")


def _notes(r: dict) -> str:
    parts = [f"{k}={v}" for k, v in r["counters"].items()]
    if r["errors"]:
        parts.insert(0, f"ERRORS={r['errors']}")
    return " ".join(parts)


def write(out: dict) -> Path:
    """bench/results/<UTC timestamp>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    return path
