"""Soak: mixed traffic with faults on against one server process, memory sampled, journal checked.

    python -m tests.reliability.soak --minutes 5          # starts its own server, prints a report
    python -m tests.reliability.soak --seconds 40 --threads 6 --no-faults

CI runs the short form (tests/reliability/test_soak.py). Traffic: lookups, availability checks,
bookings, cancels, reschedules, status and list calls from seeded worker threads; fault rules
make ~10% of CreateBookings a PAYMENT_ERROR and ~5% of all /v3 calls a 503. Any other error
fails the run. Memory: VmRSS of the server's process group, sampled every second.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .support import (
    Http,
    consistency_problems,
    group_rss_kb,
    journal_lines,
    plain_entries,
    reschedule_targets,
)
from .traffic import MIXED, Ledger, Worker

FAULT_RULES = [
    {"method": "CreateBooking", "kind": "payment_required", "probability": 0.1},
    {"method": "*", "kind": "http_error", "status": 503, "probability": 0.05},
]


@dataclass
class SoakReport:
    """What a soak run saw."""

    seconds: float
    requests: int
    outcomes: dict
    errors: list[str]
    rss_kb: list[tuple[float, int]]  # (seconds since start, KiB)
    faults: str
    journal_lines: int | None = None
    journal_broken: int | None = None
    consistency: list[str] = field(default_factory=list)
    bookings: int = 0

    @property
    def rss_growth_kb(self) -> int:
        """Growth from the first sample after warm-up (10% of the run) to the last."""
        if len(self.rss_kb) < 2:
            return 0
        warm = self.rss_kb[max(1, len(self.rss_kb) // 10)][1] if len(self.rss_kb) > 2 else self.rss_kb[0][1]
        return self.rss_kb[-1][1] - warm

    def summary(self) -> dict:
        rss = [kb for _, kb in self.rss_kb]
        return {
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "requests_per_s": round(self.requests / self.seconds) if self.seconds else 0,
            "errors": len(self.errors),
            "faults": self.faults,
            "bookings": self.bookings,
            "rss_start_mb": round(rss[0] / 1024, 1) if rss else None,
            "rss_peak_mb": round(max(rss) / 1024, 1) if rss else None,
            "rss_end_mb": round(rss[-1] / 1024, 1) if rss else None,
            "rss_growth_after_warmup_mb": round(self.rss_growth_kb / 1024, 1),
            "rss_mb_by_10s": [round(kb / 1024) for t, kb in self.rss_kb if int(t) % 10 == 0][:60],
            "journal_lines": self.journal_lines,
            "journal_broken_lines": self.journal_broken,
            "consistency_problems": len(self.consistency),
            "outcomes": {f"{rpc} {what}": n for (rpc, what), n in sorted(self.outcomes.items())},
        }


READS_ONLY = {"lookup": 50, "check": 30, "list": 20}


def run(
    url: str,
    pid: int,
    seconds: float,
    threads: int = 4,
    seed: int = 11,
    faults: bool = True,
    journal: Path | None = None,
    weights: dict | None = None,
) -> SoakReport:
    """Drive mixed traffic for `seconds`, then check state, journal and memory."""
    http = Http(url)
    fault_note = _install_faults(http) if faults else "off"
    entries = plain_entries(http)
    groups = reschedule_targets(entries)
    ledger = Ledger()
    journal_before = journal_lines(journal)[0] if journal else 0
    stop = threading.Event()
    workers = [
        Worker(http, ledger, entries, groups, number=i, seed=seed, stop=stop, weights=weights or MIXED, prefix="soak")
        for i in range(threads)
    ]
    started = time.monotonic()
    samples = [(0.0, group_rss_kb(pid))]
    for worker in workers:
        worker.start()
    while time.monotonic() - started < seconds and any(w.is_alive() for w in workers):
        stop.wait(1.0)
        samples.append((round(time.monotonic() - started, 1), group_rss_kb(pid)))
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    elapsed = time.monotonic() - started
    errors = list(ledger.errors)
    errors += [f"{w.name} lost its connection" for w in workers if w.lost_connection]
    if faults:
        http.call("DELETE", "/_admin/faults")
    report = SoakReport(elapsed, ledger.answered_v3, dict(ledger.outcomes), errors, samples, fault_note)
    report.consistency = consistency_problems(http)
    report.bookings = http.get("/_admin/health")["counts"]["bookings"]
    if journal is not None:
        http.get("/_admin/recordings?limit=1")  # the listing writes out the journal's pending lines
        parsed, broken = journal_lines(journal)
        report.journal_lines, report.journal_broken = parsed - journal_before, len(broken)
    return report


def _install_faults(http: Http) -> str:
    """Fault rules through the admin API; says so when this build has none."""
    status, _ = http.call("GET", "/_admin/faults")
    if status == 404:
        return "unavailable (no /_admin/faults in this build)"
    for rule in FAULT_RULES:
        status, body = http.post("/_admin/faults", rule)
        if status != 201:
            raise RuntimeError(f"fault rule refused: {status} {body}")
    return "10% PAYMENT_ERROR on CreateBooking, 5% HTTP 503 on every /v3 method"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help="lookups, checks and lists only: state stays put, so growth is per-request cost",
    )
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (args.minutes or 5) * 60

    from tests.e2e.server import ServerProcess

    with tempfile.TemporaryDirectory(prefix="rwg-soak-") as folder:
        server = ServerProcess(Path(folder), MOCK_RECORDING="soak", MOCK_THREADS=str(max(8, args.threads * 2)))
        server.start()
        try:
            report = run(
                server.url,
                server.process.pid,
                seconds,
                args.threads,
                args.seed,
                not args.no_faults,
                Path(folder) / "rec" / "soak.jsonl",
                READS_ONLY if args.reads_only else None,
            )
        finally:
            server.stop()
    print(json.dumps(report.summary(), indent=2))
    for error in report.errors[:20]:
        print("error:", error, file=sys.stderr)
    complete = report.journal_lines == report.requests and not report.journal_broken
    ok = not report.errors and not report.consistency and complete
    print("soak", "passed" if ok else "FAILED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
