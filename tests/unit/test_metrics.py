"""ExchangeCounts: latency buckets as Prometheus reads them (le: at most), and bounded label values."""

from __future__ import annotations

import pytest

from mock_server.metrics import LATENCY_BUCKETS, ExchangeCounts, SandboxCollector
from mock_server.v3.exchange import Exchange


def exchange(rpc: str | None = "CreateBooking", status: int = 200, payload=None) -> Exchange:
    done = Exchange({}, "/v3/x", "POST", rpc=rpc)
    done.status, done.payload = status, payload
    return done


def samples(counts: ExchangeCounts) -> dict[tuple, float]:
    """{(sample name, labels without the tenant): value} of one collection."""
    out = {}
    for family in SandboxCollector(lambda: [], counts).collect():
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "tenant"))
            out[(sample.name, labels)] = sample.value
    return out


def test_an_observation_on_a_bound_lands_in_that_bucket():
    counts = ExchangeCounts()
    counts.count(exchange("HealthCheck"), 0.001)
    counts.count(exchange("HealthCheck"), 0.0010001)
    counts.count(exchange("HealthCheck"), 60.0)

    got = samples(counts)

    bucket = "sandbox_v3_request_duration_seconds_bucket"
    assert got[(bucket, (("le", "0.0005"), ("method", "HealthCheck")))] == 0
    assert got[(bucket, (("le", "0.001"), ("method", "HealthCheck")))] == 1
    assert got[(bucket, (("le", "0.0025"), ("method", "HealthCheck")))] == 2
    assert got[(bucket, (("le", repr(LATENCY_BUCKETS[-1])), ("method", "HealthCheck")))] == 2
    assert got[(bucket, (("le", "+Inf"), ("method", "HealthCheck")))] == 3
    assert got[("sandbox_v3_request_duration_seconds_sum", (("method", "HealthCheck"),))] == pytest.approx(60.0020001)


def test_causes_and_statuses_outside_the_contract_are_one_value():
    counts = ExchangeCounts()
    counts.count(exchange(payload={"booking_failure": {"cause": "MADE_UP_BY_A_RECORDING"}}), 0.01)
    counts.count(exchange(payload={"booking_failure": {"cause": "ANOTHER_ONE"}}), 0.01)
    counts.count(exchange(rpc=None, status=999), 0.01)

    got = samples(counts)

    assert got[("sandbox_booking_failures_total", (("cause", "other"),))] == 2
    assert got[("sandbox_bookings_total", (("outcome", "failed"),))] == 2
    assert got[("sandbox_v3_requests_total", (("code", "other"), ("method", "other")))] == 1


def test_an_update_that_is_not_a_cancellation_is_modified_and_a_pending_create_is_pending():
    counts = ExchangeCounts()
    counts.count(exchange("UpdateBooking", payload={"booking": {"status": "CONFIRMED"}}), 0.01)
    counts.count(exchange(payload={"booking": {"status": "PENDING_MERCHANT_CONFIRMATION"}}), 0.01)
    counts.count(exchange(status=503, payload={"code": 503}), 0.01)  # an error answer is no booking outcome

    got = samples(counts)

    assert {key: value for key, value in got.items() if key[0] == "sandbox_bookings_total"} == {
        ("sandbox_bookings_total", (("outcome", "modified"),)): 1,
        ("sandbox_bookings_total", (("outcome", "pending"),)): 1,
    }
