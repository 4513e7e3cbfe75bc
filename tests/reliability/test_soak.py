"""The soak's CI form: ~30 s of mixed traffic with faults on (python -m tests.reliability.soak for longer)."""

from __future__ import annotations

import pytest

from . import soak
from .support import env_int

pytestmark = pytest.mark.e2e

SECONDS = env_int("RELIABILITY_SOAK_SECONDS", 30)


def test_mixed_traffic_with_faults_holds(start_server, tmp_path, figures):
    server = start_server(MOCK_RECORDING="soak", MOCK_THREADS="8")
    report = soak.run(server.url, server.process.pid, SECONDS, threads=4, journal=tmp_path / "rec" / "soak.jsonl")
    summary = report.summary()
    assert report.errors == [], report.errors[:10]
    assert report.consistency == [], report.consistency[:10]
    # Every answered /v3 request is one whole journal line: none lost, none torn.
    assert (report.journal_lines, report.journal_broken) == (report.requests, 0)
    if not report.faults.startswith("unavailable"):
        injected = sum(n for key, n in summary["outcomes"].items() if "injected" in key)
        assert injected > 0
    # Memory is stated, not timed; this only trips on a runaway (state itself grows with the bookings).
    assert report.rss_growth_kb < 256 * 1024, summary
    figures["soak"] = (
        f"{summary['seconds']} s, {summary['requests']} requests ({summary['requests_per_s']}/s), "
        f"{summary['bookings']} bookings, errors {summary['errors']}, faults: {summary['faults']}"
    )
    figures["soak memory (MB)"] = (
        f"start {summary['rss_start_mb']}, end {summary['rss_end_mb']}, "
        f"growth after warm-up {summary['rss_growth_after_warmup_mb']}"
    )
