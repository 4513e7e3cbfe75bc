"""The figures the "one /v3 pipeline" work is judged by, each against its target, from one run's medians."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One row: a scenario's own figures (no denominator) or its ratio to another scenario of the same run."""

    label: str
    top: str
    bottom: str | None = None
    minimum: float | None = None  # the req/s ratio the target asks for; None: context only
    wanted: str = ""


TARGETS = (
    Target("BAL 10 slots, Basic auth, recording on", "bal_rec_on", wanted="no slower than the baseline"),
    Target("  / bare Flask echo on granian", "bal_rec_on", "bal_echo", 1.6, ">= 1.6x"),
    Target("  / WireMock canned stub, JIT-warm", "bal_rec_on", "bal_wiremock", 1.0, "> 1x (aim)"),
    Target("  / raw WSGI callable on granian", "bal_rec_on", "bal_raw", wanted="context: the stack's ceiling"),
    Target("BAL lowerCamelCase / canonical", "bal_camel", "bal_rec_on", 0.9, ">= 0.9x (no cliff)"),
    Target("BAL, unrelated fault rule armed / none", "bal_fault_armed", "bal_rec_on", 0.9, ">= 0.9x (no cliff)"),
    Target(
        "CreateBooking + payment_information / without", "create_payment", "create_plain", 0.9, ">= 0.9x (no cliff)"
    ),
    Target("BAL recording on / off", "bal_rec_on", "bal_rec_off", 0.9, ">= 0.9x (recording < 10%)"),
    Target("CreateBooking alone, recording on", "create_plain", wanted="context"),
)


def evaluate(results: dict) -> list[dict]:
    """Every target whose scenarios were measured: req/s and p99 (or their ratios) and whether it is met."""
    rows = []
    for t in TARGETS:
        top, bottom = results.get(t.top), results.get(t.bottom) if t.bottom else None
        if top is None or (t.bottom and (bottom is None or not bottom["rps"] or not bottom["p99_ms"])):
            continue
        row: dict[str, Any] = {"label": t.label, "ratio": bottom is not None, "wanted": t.wanted}
        if bottom is None:
            row.update(rps=top["rps"], p99=top["p99_ms"])
        else:
            row.update(rps=round(top["rps"] / bottom["rps"], 3), p99=round(top["p99_ms"] / bottom["p99_ms"], 3))
        if t.minimum is not None:
            row["met"] = row["rps"] >= t.minimum
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    """The summary: figure, req/s (or the req/s ratio), p99 (or the p99 ratio), target, met."""
    if not rows:
        return
    head = f"{'one /v3 pipeline: figure (medians, same run)':<48} {'req/s':>8} {'p99 ms':>8}  {'target':<28} met"
    print("\n" + head + "\n" + "-" * len(head))
    for row in rows:
        if row["ratio"]:
            rps, p99 = f"{row['rps']:.2f}x", f"{row['p99']:.2f}x"
        else:
            rps, p99 = f"{row['rps']:.0f}", f"{row['p99']:.2f}"
        met = "" if "met" not in row else "yes" if row["met"] else "NO"
        print(f"{row['label']:<48} {rps:>8} {p99:>8}  {row['wanted']:<28} {met}")
    print(
        "(ratios: req/s of the first scenario over the second's, and the same for p99, where lower is better; "
        "'met' judges req/s)"
    )
