"""Prometheus metrics: /v3 exchanges counted once each as they finish, exposed by GET /_admin/metrics.

The gateway's `measure` step bumps one tenant's plain counters (dict increments under that tenant's one lock:
cheaper per request than prometheus_client's metric objects, which take a lock per labelled child). At scrape
time a custom collector on the app's own CollectorRegistry (never the global one: tests build many apps) turns
them into metric families, and reads the journal figures then too, so a request pays nothing for those.
Label values come from bounded sets only: tenants are capped by MOCK_MAX_TENANTS, and a path that names no v3
method, a status or a cause from outside the contract gets one catch-all value.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from . import linewriter
from .domain.models import FAILURE_CAUSES

if TYPE_CHECKING:
    from .recording.capture import Recorder
    from .tenancy import Tenant
    from .v3.exchange import Exchange

REGISTRY_KEY = "mock_server.metrics"  # app.extensions: the app's CollectorRegistry
# Seconds: from a sub-millisecond lookup up to a request a delay or timeout fault holds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BOUNDS = (*(repr(bound) for bound in LATENCY_BUCKETS), "+Inf")
OTHER = "other"  # the one label value for a path naming no v3 method, a non-HTTP status, an unknown cause
NO_TENANT = "(none)"  # exchanges answered before a tenant was selected, naming none that exists (never a tenant name)
BOOKING_METHODS = frozenset({"CreateBooking", "UpdateBooking"})
CAUSES = frozenset(FAILURE_CAUSES)  # a replayed recording may carry any string: "other" then


class ExchangeCounts:
    """One tenant's /v3 figures since it was made: bumped by the gateway for every exchange, read when scraped."""

    __slots__ = ("bookings", "failures", "faults", "latency", "lock", "requests")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}  # (method, status) -> exchanges
        self.latency: dict[str, list[float]] = {}  # method -> observations per bucket (+Inf last), then their sum
        self.faults: dict[str, int] = {}  # fault kind -> times fired
        self.bookings: dict[str, int] = {}  # outcome -> answers
        self.failures: dict[str, int] = {}  # BookingFailure cause -> answers

    def count(self, exchange: Exchange, seconds: float) -> None:
        """Count one finished exchange that took `seconds`."""
        method = exchange.rpc or OTHER  # only routed methods have a name: any other path is one value
        status = exchange.status if 100 <= exchange.status <= 599 else 0
        outcome, cause = booking_outcome(exchange) if method in BOOKING_METHODS else (None, None)
        with self.lock:
            key = (method, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            buckets = self.latency.get(method)
            if buckets is None:
                buckets = self.latency[method] = [0.0] * (len(_BOUNDS) + 1)
            buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            buckets[-1] += seconds
            for fault in exchange.faults:
                kind = fault["kind"]
                self.faults[kind] = self.faults.get(kind, 0) + 1
            if outcome is not None:
                self.bookings[outcome] = self.bookings.get(outcome, 0) + 1
                if cause is not None:
                    self.failures[cause] = self.failures.get(cause, 0) + 1

    def snapshot(self) -> tuple[dict, dict, dict, dict, dict]:
        """Copies of the counters, taken together (requests, latency, faults, bookings, failures)."""
        with self.lock:
            latency = {method: list(buckets) for method, buckets in self.latency.items()}
            return dict(self.requests), latency, dict(self.faults), dict(self.bookings), dict(self.failures)


def booking_outcome(exchange: Exchange) -> tuple[str | None, str | None]:
    """(outcome, failure cause) of a CreateBooking or UpdateBooking answer as the sandbox made it; (None, None)
    for an answer that is not about a booking (an error status, a 400)."""
    payload = exchange.payload
    if exchange.status != 200 or type(payload) is not dict:
        return None, None
    failure = payload.get("booking_failure")
    if type(failure) is dict:
        cause = failure.get("cause")
        return "failed", cause if cause in CAUSES else OTHER
    booking = payload.get("booking")
    if type(booking) is not dict:
        return None, None
    status = booking.get("status")
    if exchange.rpc == "UpdateBooking":
        return ("cancelled" if status == "CANCELED" else "modified"), None
    if exchange.replayed:
        return "replayed", None  # an idempotent retry: the booking was made (and counted) before
    return ("pending" if status == "PENDING_MERCHANT_CONFIRMATION" else "confirmed"), None


class SandboxCollector(Collector):
    """The figures of some tenants, read when scraped; the app-wide view adds the un-attributed exchanges and
    the process's dropped log lines."""

    def __init__(self, tenants: Callable[[], Iterable[Tenant]], unattributed: ExchangeCounts | None = None):
        self.tenants = tenants
        self.unattributed = unattributed

    def collect(self) -> Iterator[Metric]:
        """Every family, one series per tenant and label values seen (none for a tenant that saw nothing)."""
        requests = CounterMetricFamily(
            "sandbox_v3_requests",
            "/v3 exchanges answered, by method and HTTP status",
            labels=["tenant", "method", "code"],
        )
        latency = HistogramMetricFamily(
            "sandbox_v3_request_duration_seconds",
            "Time from a /v3 request's arrival to its answer, holds of delay faults included",
            labels=["tenant", "method"],
        )
        faults = CounterMetricFamily(
            "sandbox_faults_fired", "Fault effects applied to /v3 exchanges", labels=["tenant", "kind"]
        )
        bookings = CounterMetricFamily(
            "sandbox_bookings",
            "CreateBooking and UpdateBooking answers: confirmed, pending, replayed, modified, cancelled, failed",
            labels=["tenant", "outcome"],
        )
        failures = CounterMetricFamily(
            "sandbox_booking_failures", "BookingFailure answers by cause", labels=["tenant", "cause"]
        )
        pending = GaugeMetricFamily(
            "sandbox_journal_pending_lines", "Journal lines queued, not yet written to the file", labels=["tenant"]
        )
        dropped = CounterMetricFamily(
            "sandbox_journal_dropped_lines", "Journal lines a failed write could not keep", labels=["tenant"]
        )
        sources: list[tuple[str, ExchangeCounts, Recorder | None]] = [
            (tenant.name, tenant.counts, tenant.recording.recorder) for tenant in self.tenants()
        ]
        if self.unattributed is not None:
            sources.append((NO_TENANT, self.unattributed, None))
        for name, counts, recorder in sources:
            by_status, by_method, by_kind, by_outcome, by_cause = counts.snapshot()
            for (method, status), value in sorted(by_status.items()):
                requests.add_metric([name, method, str(status) if status else OTHER], value)
            for method, observed in sorted(by_method.items()):
                cumulative, running = [], 0.0
                for bound, value in zip(_BOUNDS, observed[:-1], strict=True):
                    running += value
                    cumulative.append((bound, running))
                latency.add_metric([name, method], cumulative, observed[-1])
            for kind, value in sorted(by_kind.items()):
                faults.add_metric([name, kind], value)
            for outcome, value in sorted(by_outcome.items()):
                bookings.add_metric([name, outcome], value)
            for cause, value in sorted(by_cause.items()):
                failures.add_metric([name, cause], value)
            if recorder is not None and recorder.enabled:
                pending.add_metric([name], recorder.journal.pending)
                dropped.add_metric([name], recorder.journal.dropped)
        yield from (requests, latency, faults, bookings, failures, pending, dropped)
        if self.unattributed is not None:
            yield CounterMetricFamily(
                "sandbox_log_lines_dropped",
                "Log lines this process dropped because stderr did not take them",
                value=linewriter.dropped_lines(),
            )


def app_registry(tenants: Callable[[], Iterable[Tenant]], unattributed: ExchangeCounts) -> CollectorRegistry:
    """The app's own registry: every tenant's figures and the un-attributed exchanges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SandboxCollector(tenants, unattributed))
    return registry


def tenant_registry(tenant: Tenant | None) -> CollectorRegistry:
    """A registry of one tenant's figures (none for a tenant that does not exist), made for one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SandboxCollector(lambda: [] if tenant is None else [tenant]))
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry's samples in the format the Accept header asks for (OpenMetrics or Prometheus text), and its
    content type; Prometheus text 0.0.4 when the header names nothing prometheus_client can write."""
    try:
        encoder, content_type = choose_encoder(accept or "")
    except (TypeError, ValueError):  # a version it cannot compare (`version=abc`): the default format
        encoder, content_type = generate_latest, CONTENT_TYPE_PLAIN_0_0_4
    return encoder(registry), content_type
