"""The shared store: lookup and create+cancel on Redis against memory, and throughput with 1 and 2 workers on Redis.

Three sandboxes as users run them (recording on, Basic auth): MOCK_STORE=memory; MOCK_STORE on a Redis on a unix
socket (started here: redis-server, no TCP port, no persistence) with MOCK_WORKERS=1; the same with MOCK_WORKERS=2.
Latency is measured at a modest load (4 connections), throughput at the run's connections (16), in turns over the
rounds. On a 2-core machine Redis, the load generator and the workers share the cores: the worker figure there says
what contention costs, not what more cores would give.
"""

from __future__ import annotations

import shutil

from tests.redis_server import start_local

from . import procs, report, workloads

LATENCY_CONNECTIONS = 4


def run(bench) -> None:
    """Measure the three sandboxes in turns; the medians and ratios go to out["stores"]."""
    started = start_local()
    if started is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    url, proc, folder = started
    tmp = bench.tmp
    try:
        servers = {
            "memory": procs.sandbox(tmp, extra_env={"MOCK_RECORDINGS_DIR": str(tmp / "rec-mem")}, name="store-memory"),
            "redis": procs.sandbox(
                tmp,
                extra_env={"MOCK_STORE": url, "MOCK_STORE_PREFIX": "b1", "MOCK_RECORDINGS_DIR": str(tmp / "rec-r1")},
                name="store-redis-w1",
            ),
            "redis, 2 workers": procs.sandbox(
                tmp,
                extra_env={
                    "MOCK_STORE": url,
                    "MOCK_STORE_PREFIX": "b2",
                    "MOCK_WORKERS": "2",
                    "MOCK_RECORDINGS_DIR": str(tmp / "rec-r2"),
                },
                name="store-redis-w2",
            ),
        }
        for server in servers.values():
            server.start()
        work = workloads.discover(servers["memory"].port, booking_slots=600)
        runs: dict[tuple[str, str], list] = {}
        d = bench.plan.scale_duration
        for _ in range(bench.plan.rounds):
            for label, server in servers.items():
                port = server.port
                runs.setdefault((label, "bal p"), []).append(
                    bench.bal(
                        "", f"BAL, {label}, {LATENCY_CONNECTIONS} conns", port, work.bal_body, d, LATENCY_CONNECTIONS
                    )
                )
                runs.setdefault((label, "bal rps"), []).append(bench.bal("", f"BAL, {label}", port, work.bal_body, d))
                runs.setdefault((label, "booking p"), []).append(
                    bench.booking("", f"Create+cancel, {label}", port, work.booking_slots, d, LATENCY_CONNECTIONS)
                )
        medians = {f"{label} {flow}": report.median_of(results) for (label, flow), results in runs.items()}
    finally:
        for server in locals().get("servers", {}).values():
            server.stop()
        proc.kill()
        shutil.rmtree(folder, ignore_errors=True)

    def ratio(a: str, b: str, metric: str) -> float:
        return round(medians[a][metric] / medians[b][metric], 2)

    bench.out["stores"] = {
        "medians": medians,
        "ratios": {
            "BAL p50 redis/memory": ratio("redis bal p", "memory bal p", "p50_ms"),
            "BAL p99 redis/memory": ratio("redis bal p", "memory bal p", "p99_ms"),
            "create+cancel p50 redis/memory": ratio("redis booking p", "memory booking p", "p50_ms"),
            "create+cancel p99 redis/memory": ratio("redis booking p", "memory booking p", "p99_ms"),
            "BAL req/s redis/memory": ratio("redis bal rps", "memory bal rps", "rps"),
            "BAL req/s redis 2 workers / 1": ratio("redis, 2 workers bal rps", "redis bal rps", "rps"),
        },
    }
    for label, value in bench.out["stores"]["ratios"].items():
        print(f"  {label}: {value:.2f}x", flush=True)


def summary(out: dict) -> list[str]:
    """Lines for the printed report."""
    stores = out.get("stores")
    if not stores:
        return []
    lines = [f"\n{'store':<30} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"]
    for label, r in stores["medians"].items():
        lines.append(f"{label:<30} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['rps']:>8.0f}")
    lines += [f"{label}: {value:.2f}x" for label, value in stores["ratios"].items()]
    return lines
