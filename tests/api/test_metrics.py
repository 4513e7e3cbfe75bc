"""GET /_admin/metrics: Prometheus samples of /v3 traffic, faults, bookings and journals, per tenant, exact."""

from __future__ import annotations

import base64

from prometheus_client.parser import text_string_to_metric_families

from mock_server import create_app
from mock_server.metrics import LATENCY_BUCKETS
from tests.conftest import FROZEN_AT
from tests.helpers import book, create_body, find_slot

PLAIN = "text/plain; version=0.0.4; charset=utf-8"


def scrape(client, path: str = "/_admin/metrics", **headers) -> dict[str, set[tuple]]:
    """{family name: {(sample name, sorted labels, value)}} of one scrape, which must be a 200 in Prometheus text."""
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.data
    assert response.headers["Content-Type"] == PLAIN
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items())), s.value) for s in family.samples}
        for family in text_string_to_metric_families(response.get_data(as_text=True))
    }


def counts(families: dict, name: str) -> dict[tuple, float]:
    """The samples named `name` (`sandbox_bookings_total`, `..._bucket`) as {labels: value}."""
    return {labels: value for samples in families.values() for sample, labels, value in samples if sample == name}


def test_requests_faults_bookings_and_journal_are_counted_per_tenant(client, runtime, strict_answers):
    full = find_slot(runtime, vertical="appointments", spots_total=1)
    taken = book(client, full, user_n=1)
    retried = create_body(find_slot(runtime, vertical="classes"), user_n=2, token="again")
    assert client.post("/v3/CreateBooking", json=retried).get_json()["booking"]["status"] == "CONFIRMED"
    assert client.post("/v3/CreateBooking", json=retried).status_code == 200  # the idempotent retry
    refused = client.post("/v3/CreateBooking", json=create_body(full, user_n=3)).get_json()
    assert refused["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    cancel = {"booking": {"booking_id": taken["booking_id"], "status": "CANCELED"}}
    assert client.post("/v3/UpdateBooking", json=cancel).get_json()["booking"]["status"] == "CANCELED"
    rule = {"method": "HealthCheck", "kind": "http_error", "status": 503, "times": 1}
    assert client.post("/_admin/faults", json=rule).status_code == 201
    assert client.get("/v3/HealthCheck").status_code == 503
    assert client.get("/v3/HealthCheck").status_code == 200
    assert client.post("/v3/CreateBooking", json={}).status_code == 400
    assert client.get("/t/acme/v3/HealthCheck").status_code == 200

    families = scrape(client)

    assert counts(families, "sandbox_v3_requests_total") == {
        (("code", "200"), ("method", "CreateBooking"), ("tenant", "default")): 4,
        (("code", "400"), ("method", "CreateBooking"), ("tenant", "default")): 1,
        (("code", "200"), ("method", "UpdateBooking"), ("tenant", "default")): 1,
        (("code", "503"), ("method", "HealthCheck"), ("tenant", "default")): 1,
        (("code", "200"), ("method", "HealthCheck"), ("tenant", "default")): 1,
        (("code", "200"), ("method", "HealthCheck"), ("tenant", "acme")): 1,
    }
    assert counts(families, "sandbox_faults_fired_total") == {(("kind", "http_error"), ("tenant", "default")): 1}
    assert counts(families, "sandbox_bookings_total") == {
        (("outcome", "confirmed"), ("tenant", "default")): 2,
        (("outcome", "replayed"), ("tenant", "default")): 1,
        (("outcome", "failed"), ("tenant", "default")): 1,
        (("outcome", "cancelled"), ("tenant", "default")): 1,
    }
    assert counts(families, "sandbox_booking_failures_total") == {
        (("cause", "SLOT_UNAVAILABLE"), ("tenant", "default")): 1
    }
    # Test apps write each journal line as it comes: nothing queued, nothing dropped.
    assert counts(families, "sandbox_journal_pending_lines") == {(("tenant", "acme"),): 0, (("tenant", "default"),): 0}
    assert counts(families, "sandbox_journal_dropped_lines_total") == {
        (("tenant", "acme"),): 0,
        (("tenant", "default"),): 0,
    }
    assert counts(families, "sandbox_log_lines_dropped_total") == {(): 0}
    durations = counts(families, "sandbox_v3_request_duration_seconds_count")
    assert durations == {
        (("method", "CreateBooking"), ("tenant", "default")): 5,
        (("method", "UpdateBooking"), ("tenant", "default")): 1,
        (("method", "HealthCheck"), ("tenant", "default")): 2,
        (("method", "HealthCheck"), ("tenant", "acme")): 1,
    }
    buckets = counts(families, "sandbox_v3_request_duration_seconds_bucket")
    assert len(buckets) == len(durations) * (len(LATENCY_BUCKETS) + 1)
    for labels, total in durations.items():
        ladder = [buckets[tuple(sorted((*labels, ("le", le))))] for le in (*map(str, LATENCY_BUCKETS), "+Inf")]
        assert ladder == sorted(ladder) and ladder[-1] == total  # cumulative, ending at the count


def test_a_tenant_path_shows_that_tenant_only_and_creates_none(app, client):
    assert client.get("/t/acme/v3/HealthCheck").status_code == 200
    assert client.get("/v3/HealthCheck").status_code == 200

    families = scrape(client, "/t/acme/_admin/metrics")

    assert counts(families, "sandbox_v3_requests_total") == {
        (("code", "200"), ("method", "HealthCheck"), ("tenant", "acme")): 1
    }
    assert counts(families, "sandbox_log_lines_dropped_total") == {}  # the process's figures: un-prefixed view only
    nobody = scrape(client, "/t/ghost/_admin/metrics")
    assert all(not samples for samples in nobody.values())
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default", "acme"]
    assert client.delete("/_admin/tenants/acme").status_code == 204
    assert {labels for labels in counts(scrape(client), "sandbox_v3_requests_total")} == {
        (("code", "200"), ("method", "HealthCheck"), ("tenant", "default"))
    }


def test_paths_naming_no_method_share_one_label_value(client):
    for n in range(40):
        assert client.post(f"/v3/Xyz{n}", json={}).status_code == 404
    assert client.get("/v3/CreateBooking").status_code == 405

    requests = counts(scrape(client), "sandbox_v3_requests_total")

    assert requests == {
        (("code", "404"), ("method", "other"), ("tenant", "default")): 40,
        (("code", "405"), ("method", "other"), ("tenant", "default")): 1,
    }


def test_admin_token_guards_the_metrics_and_refusals_before_a_tenant_are_counted_apart(tmp_path):
    app = create_app(
        {"clock": FROZEN_AT, "admin_token": "s3cret", "basic_auth": "u:p", "recordings_dir": str(tmp_path)},
        environ={},
    )
    client = app.test_client()
    wrong = "Basic " + base64.b64encode(b"u:nope").decode()
    assert client.get("/t/ghost/v3/HealthCheck", headers={"Authorization": wrong}).status_code == 401
    assert client.get("/v3/HealthCheck", headers={"Authorization": wrong}).status_code == 401

    refused = client.get("/_admin/metrics")
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "admin token required: Authorization: Bearer <MOCK_ADMIN_TOKEN>"
    assert client.get("/t/acme/_admin/metrics").status_code == 401
    families = scrape(client, Authorization="Bearer s3cret")

    assert counts(families, "sandbox_v3_requests_total") == {
        (("code", "401"), ("method", "HealthCheck"), ("tenant", "(none)")): 1,  # a tenant that was never made
        (("code", "401"), ("method", "HealthCheck"), ("tenant", "default")): 1,
    }


def test_openmetrics_when_asked_and_the_default_format_for_a_version_it_cannot_read(client):
    assert client.get("/v3/HealthCheck").status_code == 200

    open_metrics = client.get("/_admin/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert open_metrics.status_code == 200
    assert open_metrics.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert open_metrics.get_data(as_text=True).endswith("# EOF\n")
    odd = client.get("/_admin/metrics", headers={"Accept": "text/plain; version=abc"})
    assert odd.status_code == 200
    assert odd.headers["Content-Type"] == PLAIN
