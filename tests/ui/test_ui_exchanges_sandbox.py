"""Exchanges and sandbox pages over the test client: log, filters, live feed, export, clear, reset, clock."""

from __future__ import annotations

import json
import re

from .client import FROZEN_AT, flash, get, make_app, post, runtime_of, text


def test_the_log_shows_each_exchange_with_its_outcome_fault_and_warnings(client):
    client.post("/_admin/faults", json={"method": "CreateBooking", "kind": "payment_required", "times": 1})
    client.get("/v3/HealthCheck")
    body = {
        "slot": {"merchant_id": "salon-002", "service_id": "haircut", "start_sec": "1", "duration_sec": "1800"},
        "user_information": {"user_id": "u", "given_name": "A", "family_name": "B", "telephone": "1", "email": "a@b.c"},
        "idempotency_token": "tok-1",
    }
    client.post("/v3/CreateBooking", json=body)
    page = get(client, "/exchanges")
    html = page.get_data(as_text=True)
    entries = re.findall(r'<details class="exchange[^"]*" id="x-(\d+)"', html)
    assert entries == ["3", "2", "1"]  # newest first; #1 is the rule's marker
    assert '<details class="exchange faulted" id="x-3"' in html
    marker = text_of(html[html.index('id="x-1"') :])
    assert '<details class="exchange marker" id="x-1"' in html
    assert "marker: faults_added — fault rule armed: f1 payment_required on CreateBooking api" in marker
    assert '"kind": "payment_required"' in marker
    second = html[html.index('id="x-3"') : html.index('id="x-2"')]
    summary = text_of(second)
    assert "POST CreateBooking" in summary and "booking_failure PAYMENT_ERROR" in summary
    assert "fault: payment_required (f1)" in summary and "warning" in summary
    assert '"idempotency_token": "tok-1"' in second.replace("&#34;", '"')
    assert "no Basic auth sent (Google always sends it)" in summary
    assert "(3 recorded)" in text(page)


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).replace("&#34;", '"')


def test_filters_narrow_the_log(client):
    client.post("/_admin/faults", json={"method": "HealthCheck", "kind": "http_error", "status": 503, "times": 1})
    for _ in range(3):
        client.get("/v3/HealthCheck")
    client.post("/v3/ListBookings", json={"user_id": "u-1"})

    def seqs(query):
        return re.findall(r'id="x-(\d+)"', get(client, f"/exchanges?{query}").get_data(as_text=True))

    assert seqs("") == ["5", "4", "3", "2", "1"]  # #1: the rule's marker
    assert seqs("method=listbookings") == ["5"]
    assert seqs("method=marker") == ["1"]
    assert seqs("status=503") == ["2"]
    assert seqs("faulted=1") == ["2"]
    assert seqs("method=HealthCheck&status=200&limit=1") == ["4"]
    assert seqs("booking_id=B0000404") == []
    assert "status 'abc' ignored" in text(get(client, "/exchanges?status=abc"))


def test_the_feed_sends_only_newer_exchanges_as_html(client):
    client.get("/v3/HealthCheck")
    first = client.get("/_admin/ui/exchanges/feed?after=0", headers={"Accept": "application/json"}).get_json()
    assert (first["count"], first["last_seq"], first["recorded"], first["reset"]) == (1, 1, 1, False)
    assert 'id="x-1"' in first["html"] and "<html" not in first["html"]
    idle = client.get("/_admin/ui/exchanges/feed?after=1").get_json()
    assert (idle["count"], idle["html"], idle["last_seq"]) == (0, "", 1)
    client.get("/v3/HealthCheck")
    client.post("/v3/ListBookings", json={"user_id": "u"})
    newer = client.get("/_admin/ui/exchanges/feed?after=1&method=ListBookings").get_json()
    assert newer["count"] == 1 and 'id="x-3"' in newer["html"] and 'id="x-2"' not in newer["html"]
    assert newer["last_seq"] == 3  # the newest seen, matched or not: the next poll starts after it
    post(client, "/exchanges/clear")
    client.get("/v3/HealthCheck")
    restarted = client.get("/_admin/ui/exchanges/feed?after=3").get_json()
    assert restarted["reset"] is True and restarted["count"] == 1 and 'id="x-1"' in restarted["html"]


def test_export_and_clear(app, client):
    client.get("/v3/HealthCheck")
    client.post("/v3/ListBookings", json={"user_id": "u"})
    jsonl = get(client, "/exchanges/export?format=jsonl")
    assert jsonl.mimetype == "application/x-ndjson"
    assert jsonl.headers["Content-Disposition"] == 'attachment; filename="ui.jsonl"'
    lines = [json.loads(line) for line in jsonl.get_data(as_text=True).splitlines()]
    assert [line["rpc"] for line in lines] == ["HealthCheck", "ListBookings"]
    assert jsonl.get_data() == client.get("/_admin/recordings/export?format=jsonl").get_data()
    har = json.loads(get(client, "/exchanges/export?format=har").get_data())
    assert [e["request"]["url"].rsplit("/", 1)[-1] for e in har["log"]["entries"]] == ["HealthCheck", "ListBookings"]
    cleared = post(client, "/exchanges/clear")
    assert flash(cleared) == "Exchange log emptied (2 exchanges)."
    assert "No exchanges yet." in text(cleared)
    assert app.extensions["mock_server.recording"].recorder.journal.recorded == 0


def test_reset_from_the_sandbox_page(app, client):
    runtime = runtime_of(app)
    client.post("/_admin/faults", json={"method": "*", "kind": "delay", "delay_ms": 1})
    client.get("/v3/HealthCheck")
    runtime.clock.advance(3600)
    page = post(client, "/reset")
    assert flash(page).startswith("Sandbox reset: bookings forgotten")
    assert runtime.clock.now() == FROZEN_AT
    assert client.get("/_admin/faults").get_json()["faults"] == []
    journal = app.extensions["mock_server.recording"].recorder.journal
    # The log is kept by default: the rule's marker, the exchange, the reset's marker.
    assert [json.loads(line)["marker"] for line in journal.lines() if b'"marker"' in line] == ["faults_added", "reset"]
    assert journal.recorded == 3
    post(client, "/reset", {"clear_recordings": "1"})
    (line,) = journal.lines()  # emptied, then the reset that emptied it
    assert json.loads(line)["detail"] == {
        "anchor_sec": FROZEN_AT,
        "clock": {"now_sec": FROZEN_AT, "frozen": True, "offset_sec": 0},
        "recordings_cleared": True,
    }
    assert json.loads(line)["via"] == "dashboard"


def test_clock_controls(app, client):
    clock = runtime_of(app).clock
    page = post(client, "/clock", {"action": "advance", "amount": "2", "unit": "hours"})
    assert clock.now() == FROZEN_AT + 7200
    assert flash(page) == "Clock frozen at 2026-01-01 02:00:00 UTC."
    post(client, "/clock", {"action": "advance", "amount": "-30", "unit": "minutes"})
    assert clock.now() == FROZEN_AT + 5400
    post(client, "/clock", {"action": "freeze_at", "at": "2026-03-01T12:30"})
    assert clock.now() == 1772368200 and clock.frozen
    post(client, "/clock", {"action": "unfreeze"})
    assert not clock.frozen
    post(client, "/clock", {"action": "freeze"})
    assert clock.frozen
    bad = post(client, "/clock", {"action": "advance", "amount": "soon", "unit": "hours"})
    assert flash(bad) == "Clock unchanged: the amount must be a whole number (negative goes back)"
    bad_time = post(client, "/clock", {"action": "freeze_at", "at": "tomorrow"})
    assert flash(bad_time).startswith("Clock unchanged: give a date and time")


def test_the_sandbox_page_shows_health_and_settings_without_secrets(tmp_path):
    client = make_app(tmp_path, basic_auth="user:pw-secret", seed=7).test_client()
    page = get(client, "/")
    shown = text(page)
    assert "Seed 7" in shown and "fixtures/default.json" in shown and "HTTP Basic on /v3 on" in shown
    assert "pw-secret" not in page.get_data(as_text=True)
    fragment = get(client, "/?fragment=status").get_data(as_text=True)
    assert "<html" not in fragment and "Merchants" in fragment


def test_the_sandbox_page_shows_and_changes_the_fidelity_settings(client):
    html = get(client, "/").get_data(as_text=True)
    assert '<input id="fidelity-strict" name="strict" type="checkbox" value="1">' in html
    assert '<option value="canonical" selected>canonical</option>' in html
    page = post(client, "/fidelity", {"strict": "1", "response_profile": "minimal"})
    assert flash(page) == "Strict mode on, response profile minimal."
    assert client.get("/_admin/settings").get_json() == {"strict": True, "response_profile": "minimal"}
    html = get(client, "/").get_data(as_text=True)
    assert 'value="1" checked>' in html and '<option value="minimal" selected>minimal</option>' in html
    refused = post(client, "/fidelity", {"response_profile": "compact"})
    assert flash(refused) == "Settings unchanged: response_profile must be one of canonical, minimal, numbers."
    assert client.get("/_admin/settings").get_json() == {"strict": True, "response_profile": "minimal"}
