"""Many tenants in one server: memory per tenant, and one tenant's latency with 1,000 others beside it.

Two sandboxes as users run them (recording on, access log on), both with Basic-auth tenancy
(MOCK_BASIC_AUTH='*:bench': the username picks the tenant, so the wrk scripts run unchanged):

- "crowded" gets `tenants` tenants, each made by a lookup and holding one booking; its worker RSS is read before
  and after, and the difference per tenant (less what its one booking costs in the lone server) is the figure
  the tenants issue budgets at 64 KB;
- "alone" has no tenant but the probe's.

Then the probe tenant's 10-slot lookup and create+cancel cycles are measured on both, in turns, round after round.
"""

from __future__ import annotations

import base64
import gc
import time

from . import procs, report, workloads

PROBE = "probe"
PASSWORD = "bench"


def auth(tenant: str) -> str:
    """The Authorization header that selects `tenant` under MOCK_BASIC_AUTH='*:bench'."""
    return "Basic " + base64.b64encode(f"{tenant}:{PASSWORD}".encode()).decode()


def run(bench, tenants: int) -> None:
    """Fill one server with tenants, measure memory, then the probe tenant on both servers in turns."""
    common = {"MOCK_BASIC_AUTH": f"*:{PASSWORD}", "MOCK_MAX_TENANTS": str(tenants + 10)}
    tmp = bench.tmp
    with (
        procs.sandbox(
            tmp, extra_env={**common, "MOCK_RECORDINGS_DIR": str(tmp / "rec-alone")}, name="tenants-alone"
        ) as alone,
        procs.sandbox(
            tmp, extra_env={**common, "MOCK_RECORDINGS_DIR": str(tmp / "rec-crowded")}, name="tenants-crowded"
        ) as crowded,
    ):
        # The feeds are the same for every tenant (the inventory is shared); the `bench` user's tenant reads them.
        work = workloads.discover(crowded.port, booking_slots=tenants + 500)
        spare, cycle = work.booking_slots[:tenants], work.booking_slots[tenants:]
        for server in (alone, crowded):
            _lookup(server.port, PROBE, work.bal_body)
        gc.collect()
        empty = crowded.memory_mb()
        began = time.perf_counter()
        for n in range(tenants):
            _lookup(crowded.port, f"t{n:04d}", work.bal_body)
        made_s = time.perf_counter() - began
        made = crowded.memory_mb()
        for n in range(tenants):
            _book(crowded.port, f"t{n:04d}", spare[n], n)
        booked = crowded.memory_mb()
        _, listing = _call(crowded.port, "GET", "/_admin/tenants", auth("default"))
        if len(listing["tenants"]) < tenants:
            raise RuntimeError(f"only {len(listing['tenants'])} tenants are active, not {tenants}")
        per_tenant_kb = (made["worker_rss_mb"] - empty["worker_rss_mb"]) * 1024 / tenants
        with_booking_kb = (booked["worker_rss_mb"] - empty["worker_rss_mb"]) * 1024 / tenants
        print(
            f"  {tenants} tenants made in {made_s:.1f} s ({made_s / tenants * 1000:.2f} ms each); worker RSS "
            f"{empty['worker_rss_mb']:.0f} -> {made['worker_rss_mb']:.0f} MB = {per_tenant_kb:.1f} KB per tenant; "
            f"{with_booking_kb:.1f} KB with one booking each",
            flush=True,
        )
        runs: dict[tuple[str, str], list] = {}
        d, c = bench.plan.scale_duration, SCALE_CONNECTIONS
        for _ in range(bench.plan.rounds):
            for label, server in (("alone", alone), ("crowded", crowded)):
                bench.gen.bal("warm-up", server.port, work.bal_body, auth(PROBE), bench.plan.warmup, c)
                runs.setdefault((label, "bal"), []).append(
                    bench.keep_result("", bench.gen.bal(f"BAL, {label}", server.port, work.bal_body, auth(PROBE), d, c))
                )
            for label, server in (("alone", alone), ("crowded", crowded)):
                stamp = f"{label}-{time.time_ns()}"
                runs.setdefault((label, "booking"), []).append(
                    bench.keep_result(
                        "",
                        bench.gen.booking(f"Create+cancel, {label}", server.port, cycle, stamp, auth(PROBE), d, c),
                    )
                )
    medians = {f"{label} {flow}": report.median_of(results) for (label, flow), results in runs.items()}
    bench.out["tenants"] = {
        "tenants": tenants,
        "made_s": round(made_s, 2),
        "memory_mb": {"empty": empty, "tenants_made": made, "one_booking_each": booked},
        "per_tenant_kb": round(per_tenant_kb, 1),
        "per_tenant_with_booking_kb": round(with_booking_kb, 1),
        "probe": medians,
        "ratios": {
            f"{flow} p{p} crowded/alone": round(
                medians[f"crowded {flow}"][f"p{p}_ms"] / medians[f"alone {flow}"][f"p{p}_ms"], 2
            )
            for flow in ("bal", "booking")
            for p in (50, 99)
        },
    }
    for label, ratio in bench.out["tenants"]["ratios"].items():
        print(f"  {label}: {ratio:.2f}x", flush=True)


SCALE_CONNECTIONS = 4  # latency at a modest load, as the scaling section measures it


def _lookup(port: int, tenant: str, body: bytes) -> None:
    status, answer = _call(port, "POST", "/v3/BatchAvailabilityLookup", auth(tenant), body)
    if status != 200 or "slot_time_availability" not in answer:
        raise RuntimeError(f"tenant {tenant}: lookup answered {status} {answer}")


def _book(port: int, tenant: str, slot: str, n: int) -> None:
    body = (
        f'{{"slot":{slot},"user_information":{{"user_id":"u{n}","given_name":"Bench","family_name":"User",'
        f'"telephone":"+1 555-010-0101","email":"bench@example.com"}},"idempotency_token":"{tenant}-{n}"}}'
    ).encode()
    status, answer = _call(port, "POST", "/v3/CreateBooking", auth(tenant), body)
    if status != 200 or "booking" not in answer:
        raise RuntimeError(f"tenant {tenant}: CreateBooking answered {status} {answer}")


def _call(port: int, method: str, path: str, authorization: str, body: bytes | None = None) -> tuple[int, dict]:
    return workloads.call(port, method, path, body, authorization=authorization)


def summary(out: dict) -> list[str]:
    """Lines for the printed report."""
    t = out.get("tenants")
    if not t:
        return []
    lines = [
        f"\n{t['tenants']} tenants in one server: {t['per_tenant_kb']:.1f} KB per tenant "
        f"({t['per_tenant_with_booking_kb']:.1f} KB with one booking each; budget 64 KB), made in {t['made_s']} s",
        f"{'probe tenant':<22} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}",
    ]
    for label, r in t["probe"].items():
        lines.append(f"{label:<22} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['rps']:>8.0f}")
    lines.append(
        "crowded/alone: "
        + ", ".join(f"{k.removesuffix(' crowded/alone')} {v:.2f}x" for k, v in t["ratios"].items())
        + " (budget 1.2x)"
    )
    return lines
