"""Benchmark the sandbox against its baselines on loopback: `make bench` (~10 min) or `--quick` (~3.5 min)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import headtohead, loadgen, procs, report, stores, targets, tenancy, workloads  # noqa: E402
from bench.procs import AUTH_HEADER  # noqa: E402


@dataclass
class Plan:
    """Durations (seconds) and fixture sizes of one benchmark run."""

    duration: float
    warmup: float
    scale_duration: float
    sizes: tuple  # (label, merchants, days); ~49 slots per merchant-day
    rounds: int = 3  # head-to-head rounds: sandbox and echo alternate, medians are reported
    bookings: int = 100_000  # bookings the largest fixture holds during the scaling run
    thread_counts: tuple = (1, 2, 8)  # the thread sweep: sandbox and echo at each WSGI thread count
    startup_runs: int = 3
    install_wiremock: bool = True
    tenants: int = 1000  # the tenants section: tenants made beside the probe tenant


FULL = Plan(duration=10, warmup=2, scale_duration=5, sizes=(("1k", 3, 8), ("1M", 340, 60)))
QUICK = Plan(
    duration=4,
    warmup=1,
    scale_duration=3,
    sizes=(("1k", 3, 8), ("100k", 34, 60)),
    rounds=2,
    bookings=10_000,
    install_wiremock=False,
)
# name (as in --only and --no-<name>) -> (title, Bench method), in running order.
SECTIONS = {
    "startup": ("start-up", "startup"),
    "head_to_head": ("sandbox, its no-cliff variants and the baselines, alternating rounds", "head_to_head"),
    "threads": ("thread sweep", "thread_sweep"),
    "scaling": ("scaling", "scaling"),
    "tenants": ("tenants: 1,000 in one server, and one among them", "tenants"),
    "stores": ("the shared store: Redis against memory, 1 and 2 workers", "stores"),
}
STANDALONE = (
    "startup",
    "head_to_head",
    "scaling",
    "tenants",
    "stores",
)  # sections that need no other section's results
SCALE_CONNECTIONS = 4  # few connections: latency at a modest load, not saturation


def main(argv: list[str] | None = None) -> int:
    """Run every section, print the tables and write bench/results/<timestamp>.json."""
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.duration:
        plan = dataclasses.replace(plan, duration=args.duration)
    if args.rounds:
        plan = dataclasses.replace(plan, rounds=args.rounds)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rwg-bench-") as tmp:
        tmp = Path(tmp)
        gen = loadgen.pick(args.loadgen, tmp)
        out = {
            "meta": meta(args, plan, gen),
            "results": {},
            "scaling": [],
            "threads": [],
            "startup": {},
            "tenants": {},
            "stores": {},
            "notes": [],
        }
        print(f"rwg-sandbox benchmark ({'quick' if args.quick else 'full'}), load generator: {gen.name}", flush=True)
        if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
            out["notes"].append(
                f"the machine was busy at the start (load average {os.getloadavg()[0]:.1f} on "
                f"{os.cpu_count()} CPUs): figures are noisy; ratios from one run are fairer"
            )
        bench = Bench(gen, tmp, plan, args, out)
        for name, (title, method) in SECTIONS.items():
            if (args.only or name) == name and not getattr(args, f"no_{name}", False):
                bench.section(title, getattr(bench, method))
    out["ratios"] = report.ratios(out["results"])
    out["scaling_ratios"] = report.scaling_ratios(out["scaling"])
    out["targets"] = targets.evaluate(out["results"])
    out["meta"]["elapsed_s"] = round(time.perf_counter() - began, 1)
    report.print_report(out)
    if out["tenants"]:
        print("\n".join(tenancy.summary(out)))
    if out["stores"]:
        print("\n".join(stores.summary(out)))
    targets.print_table(out["targets"])
    print(f"\nwrote {report.write(out).relative_to(procs.ROOT)} in {out['meta']['elapsed_s']:.0f} s")
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, 2 rounds, ~100k-slot big fixture (~3.5 min)")
    parser.add_argument("--duration", type=float, help="seconds per measured run (default 10, quick 4)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of the head-to-head and scaling turns (default 3, "
        "quick 2; 3 or more make a median robust to one bad round)",
    )
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="wrk (installed with apt-get when root), python (fallback), auto (default)",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1k vs 1M slots comparison")
    parser.add_argument("--no-wiremock", action="store_true", help="leave WireMock out of the head-to-head")
    parser.add_argument("--no-threads", action="store_true", help="skip the WSGI thread-count sweep")
    parser.add_argument("--no-tenants", action="store_true", help="skip the 1,000-tenant section")
    parser.add_argument("--no-stores", action="store_true", help="skip the Redis store section")
    parser.add_argument(
        "--only", choices=STANDALONE, help="run just this section (threads needs head_to_head's request and answer)"
    )
    args = parser.parse_args(argv)
    if args.only and getattr(args, f"no_{args.only}", False):
        parser.error(f"--only {args.only} and --no-{args.only.replace('_', '-')} leave nothing to run")
    return args


def meta(args, plan: Plan, gen) -> dict:
    """Where and how the figures were taken."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=procs.ROOT, capture_output=True, text=True)
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "quick" if args.quick else "full",
        "loadgen": gen.name,
        "connections": args.connections,
        "plan": plan.__dict__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git": rev.stdout.strip(),
        "load_average_at_start": os.getloadavg(),
    }


class Bench:
    """The benchmark sections; each adds to `out`."""

    def __init__(self, gen, tmp: Path, plan: Plan, args: argparse.Namespace, out: dict):
        self.gen, self.tmp, self.plan, self.args, self.out = gen, tmp, plan, args, out
        self.connections = args.connections
        self.answer_path = tmp / "bal-answer.json"
        self.bal_body: bytes | None = None  # the head-to-head's canonical lookup, reused by the thread sweep

    def section(self, name: str, run) -> None:
        """Run one section; a failure becomes a note and the others still run."""
        print(f"- {name}", flush=True)
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - report and carry on with the other sections
            traceback.print_exc()
            self.out["notes"].append(f"{name} failed: {exc}")

    def bal(self, key: str, scenario: str, port: int, body: bytes, duration=None, connections=None, warmup=None):
        """Warm up, then measure repeated BatchAvailabilityLookup requests."""
        connections = connections or self.connections
        if warmup or self.plan.warmup:
            self.gen.bal("warm-up", port, body, AUTH_HEADER, warmup or self.plan.warmup, connections)
        result = self.gen.bal(scenario, port, body, AUTH_HEADER, duration or self.plan.duration, connections)
        return self.keep_result(key, result)

    def booking(self, key: str, scenario: str, port: int, slots: list[str], duration=None, connections=None):
        """Warm up, then measure CreateBooking + cancel cycles (unique tokens and users per cycle)."""
        connections = connections or self.connections
        stamp = f"{key}-{time.time_ns()}"
        # The warm-up books its own slots: bookings still in flight when it stops are never cancelled.
        split = len(slots) - max(1, len(slots) // 5)
        self.gen.booking("warm-up", port, slots[split:], f"{stamp}-w", AUTH_HEADER, self.plan.warmup, connections)
        result = self.gen.booking(
            scenario, port, slots[:split], stamp, AUTH_HEADER, duration or self.plan.duration, connections
        )
        creates = result.counters.get("creates", 0)
        result.counters["cycles_per_s"] = round(min(creates, result.counters.get("cancels", 0)) / result.duration_s, 1)
        return self.keep_result(key, result)

    def keep_result(self, key: str, result: loadgen.Result) -> loadgen.Result:
        """Print one result; under `key` in the results too, unless key is empty."""
        if key:
            self.out["results"][key] = result.as_dict()
        print(
            f"  {result.scenario}: {result.rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms {result.counters or ''}",
            flush=True,
        )
        return result

    def startup(self) -> None:
        """Popen to first 200 of /_admin/health with the default fixture, several runs."""
        runs = []
        for _ in range(self.plan.startup_runs):
            with procs.sandbox(self.tmp) as server:
                runs.append(round(server.ready_s, 3))
                memory = server.memory_mb()
        self.out["startup"] = {"ready_s": runs, "memory_mb": memory}
        print(f"  ready in {', '.join(f'{x:.2f}' for x in runs)} s; {memory}", flush=True)

    def head_to_head(self) -> None:
        """The sandbox, its no-cliff variants and the baselines, measured in turns (bench/headtohead.py)."""
        headtohead.run(self, with_wiremock=not self.args.no_wiremock)

    def thread_sweep(self) -> None:
        """BAL (recording on) and the echo at each WSGI thread count: what the GIL hand-offs cost both."""
        body = self.bal_body
        if body is None or not self.answer_path.exists():
            raise RuntimeError("needs the head-to-head section's request and answer")
        for threads in self.plan.thread_counts:
            row = {"threads": threads}
            with procs.sandbox(self.tmp, record=1, threads=threads) as server:
                workloads.check_bal(server.port, body)
                row["sandbox"] = self.bal("", f"BAL sandbox, {threads} thread(s)", server.port, body).as_dict()
            with procs.echo(self.tmp, self.answer_path, threads=threads) as server:
                row["echo"] = self.bal("", f"BAL echo, {threads} thread(s)", server.port, body).as_dict()
            self.out["threads"].append(row)

    def scaling(self) -> None:
        """The smallest fixture with no bookings against the largest one filled with bookings.

        Both servers are up at once and measured in turns (BAL, then create+cancel cycles), round after
        round, at a modest load (SCALE_CONNECTIONS); memory is taken before and after the fill.
        """
        (small_label, *small_size), (big_label, *big_size) = self.plan.sizes[0], self.plan.sizes[-1]
        small_fixture, big_fixture = procs.cached_fixture(*small_size), procs.cached_fixture(*big_size)
        with (
            procs.sandbox(self.tmp, record=0, fixture=str(small_fixture), ready_timeout=300) as small,
            procs.sandbox(self.tmp, record=0, fixture=str(big_fixture), ready_timeout=300) as big,
        ):
            cycle_slots = 500
            works = {
                small_label: workloads.discover(small.port, booking_slots=cycle_slots),
                # Twice as many entries as bookings: many entries hold a single spot.
                big_label: workloads.discover(big.port, booking_slots=cycle_slots + 2 * self.plan.bookings),
            }
            rows = {}
            for label, server in ((small_label, small), (big_label, big)):
                workloads.check_bal(server.port, works[label].bal_body)
                rows[label] = {
                    "size": label,
                    "slots": works[label].slots_total,
                    "ready_s": round(server.ready_s, 2),
                    **server.memory_mb(),
                }
            fill = self.fill(big.port, works[big_label].booking_slots[cycle_slots:], self.plan.bookings)
            rows[big_label].update(fill, memory_filled_mb=big.memory_mb())
            runs: dict[tuple, list] = {}
            d, c = self.plan.scale_duration, SCALE_CONNECTIONS
            for _ in range(self.plan.rounds):
                for label, server in ((small_label, small), (big_label, big)):
                    runs.setdefault((label, "bal"), []).append(
                        self.bal("", f"BAL {label} slots", server.port, works[label].bal_body, d, c)
                    )
                for label, server in ((small_label, small), (big_label, big)):
                    cycle = works[label].booking_slots[:cycle_slots]
                    runs.setdefault((label, "booking"), []).append(
                        self.booking("", f"Create+cancel {label} slots", server.port, cycle, d, c)
                    )
        for (label, flow), results in runs.items():
            rows[label][flow] = report.median_of(results)
        self.out["scaling"] = [rows[small_label], rows[big_label]]

    def tenants(self) -> None:
        """1,000 tenants in one server: memory per tenant; a probe tenant's latency there and alone (bench/tenancy)."""
        tenancy.run(self, self.plan.tenants)

    def stores(self) -> None:
        """Redis against memory, and 1 against 2 workers on Redis (bench/stores)."""
        stores.run(self)

    def fill(self, port: int, slots: list[str], target: int) -> dict:
        """CreateBooking (kept) until the server holds `target` bookings; how long it took."""
        began, stamp = time.perf_counter(), f"fill-{time.time_ns()}"
        held, order = 0, list(slots)
        for chunk in range(100):
            # Each wrk run starts at the top of its list: a new order per run, or it retries full slots.
            random.Random(chunk).shuffle(order)
            self.gen.booking("fill", port, order, f"{stamp}-{chunk}", AUTH_HEADER, 3, self.connections, keep=True)
            _, health = workloads.call(port, "GET", "/_admin/health")
            held, before = health["counts"]["bookings"], held
            if held >= target or held - before < target // 100:  # done, or hardly a spot left
                break
        print(f"  filled with {held} bookings in {time.perf_counter() - began:.0f} s", flush=True)
        return {"bookings": held, "fill_s": round(time.perf_counter() - began, 1)}


if __name__ == "__main__":
    sys.exit(main())
