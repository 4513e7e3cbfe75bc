"""Faults page over the test client: the form validates with the API's schema; remove, clear, scenarios."""

from __future__ import annotations

import re

import pytest

from mock_server.api.ui.forms import rule_data

from .client import flash, get, post, text


def api_messages(client, body: dict) -> dict:
    response = client.post("/_admin/faults", json=body)
    assert response.status_code == 400, response.get_json()
    return response.get_json()["errors"]["json"]


def test_a_rule_from_the_form_is_the_rule_the_api_would_add(client):
    page = post(
        client,
        "/faults",
        {
            "method": "CreateBooking",
            "kind": "booking_failure",
            "cause": "PAYMENT_ERROR_CARD_TYPE_REJECTED",
            "rejected_card_type": "AMERICAN_EXPRESS",
            "times": "2",
            "probability": "0.5",
            "ttl_s": "600",
            "match_merchant_id": "dining-001",
            "match_user_id": "",
            "description": "",
        },
    )
    assert page.status_code == 200
    assert flash(page) == "Rule f1 added: booking_failure on CreateBooking."
    [rule] = client.get("/_admin/faults").get_json()["faults"]
    assert {
        k: rule[k]
        for k in (
            "id",
            "method",
            "kind",
            "cause",
            "rejected_card_type",
            "times",
            "probability",
            "ttl_s",
            "match",
            "fired",
            "remaining",
            "source",
        )
    } == {
        "id": "f1",
        "method": "CreateBooking",
        "kind": "booking_failure",
        "cause": "PAYMENT_ERROR_CARD_TYPE_REJECTED",
        "rejected_card_type": "AMERICAN_EXPRESS",
        "times": 2,
        "probability": 0.5,
        "ttl_s": 600,
        "match": {"merchant_id": "dining-001"},
        "fired": 0,
        "remaining": 2,
        "source": "api",
    }
    row = re.search(r'<tr id="rule-f1">.*?</tr>', page.get_data(as_text=True), re.S).group(0)
    assert 'data-label="fired">0<' in row and 'data-label="remaining">2<' in row
    assert "in 10 min" in row  # expires: ttl on the sandbox clock


@pytest.mark.parametrize(
    "form",
    [
        {"method": "CreateBooking", "kind": "http_error"},  # status missing
        {"method": "CreateBooking", "kind": "http_error", "status": "503", "retry_after_s": "x"},
        {"method": "HealthCheck", "kind": "slot_taken"},  # kind does not apply
        {"method": "CreateBooking", "kind": "delay", "min_ms": "500"},  # max_ms missing
        {"method": "Nope", "kind": "delay", "delay_ms": "10", "times": "0", "probability": "2"},
        {"method": "CreateBooking", "kind": "slot_taken", "times": "abc", "id": "bad id!"},
    ],
)
def test_form_errors_are_the_api_errors_word_for_word(client, form):
    expected = api_messages(client, rule_data(form))
    page = post(client, "/faults", form, follow=False)
    assert page.status_code == 400
    body = page.get_data(as_text=True)
    shown = text(page)
    for field, messages in expected.items():
        for message in messages:
            assert message in shown, (field, message)
        assert f'id="err-{field}"' in body  # next to its input, which points at it
        assert f'aria-describedby="err-{field}' in body
    assert 'aria-invalid="true"' in body
    # What was typed is kept.
    for name, value in form.items():
        assert f'value="{value}"' in body or f'<option value="{value}" selected>' in body, name
    assert client.get("/_admin/faults").get_json()["faults"] == []


def test_engine_refusals_are_shown_in_the_form(client):
    post(client, "/faults", {"method": "*", "kind": "delay", "delay_ms": "5", "id": "slow"})
    again = post(client, "/faults", {"method": "*", "kind": "delay", "delay_ms": "5", "id": "slow"}, follow=False)
    assert again.status_code == 400
    assert "a rule with id 'slow' exists; delete it first" in text(again)
    too_long = post(
        client, "/faults", {"method": "CreateBooking", "kind": "timeout", "hold_ms": "600000"}, follow=False
    )
    assert "must be at most 30000 (MOCK_TIMEOUT_MS)" in text(too_long)


def test_remove_one_then_clear_all(client):
    for kind in ("slot_taken", "payment_required", "booking_failure"):
        extra = {"cause": "USER_OVER_BOOKING_LIMIT"} if kind == "booking_failure" else {}
        post(client, "/faults", {"method": "CreateBooking", "kind": kind, **extra})
    removed = post(client, "/faults/f2/delete")
    assert flash(removed) == "Rule f2 removed (payment_required on CreateBooking, fired 0×)."
    assert [r["id"] for r in client.get("/_admin/faults").get_json()["faults"]] == ["f1", "f3"]
    missing = post(client, "/faults/f2/delete")
    assert flash(missing) == "No active rule f2 (it may have been used up or expired)."
    cleared = post(client, "/faults/clear")
    assert flash(cleared) == "2 rules removed."
    assert "No active rules" in text(cleared)


def test_the_rules_fragment_shows_live_counters(client):
    post(client, "/faults", {"method": "HealthCheck", "kind": "http_error", "status": "503", "times": "3"})
    client.get("/v3/HealthCheck")
    fragment = get(client, "/faults?fragment=rules").get_data(as_text=True)
    assert "<html" not in fragment
    assert 'data-label="fired">1<' in fragment and 'data-label="remaining">2<' in fragment


def test_apply_a_scenario_and_see_a_bad_one_refused(client):
    page = get(client, "/faults")
    assert 'id="scenario-retry_storm"' in page.get_data(as_text=True)
    applied = post(client, "/scenarios/retry_storm/apply")
    assert flash(applied).startswith("Scenario retry_storm applied: rules ")
    [rule] = client.get("/_admin/faults").get_json()["faults"]
    assert rule["source"] == "scenario:retry_storm"
    missing = post(client, "/scenarios/nope/apply")
    assert flash(missing).startswith("Scenario nope not applied: no scenario 'nope' in fixtures/scenarios/")


def test_without_javascript_every_parameter_input_is_labelled(client):
    body = get(client, "/faults").get_data(as_text=True)
    inputs = re.findall(r'<(?:input|select)\b[^>]*\bid="([^"]+)"', body)
    labels = set(re.findall(r'<label for="([^"]+)"', body))
    assert inputs and set(inputs) <= labels
    for name in ("cause", "status", "delay_ms", "hold_ms", "commit", "match_booking_id"):
        assert f'id="f-{name}"' in body


def test_numeric_inputs_carry_a_real_inputmode_attribute(client):
    from html.parser import HTMLParser

    class Inputs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.attrs: dict[str, dict] = {}

        def handle_starttag(self, tag, attrs):
            if tag == "input" and dict(attrs).get("name"):
                self.attrs[dict(attrs)["name"]] = dict(attrs)

    page = Inputs()
    page.feed(get(client, "/faults").get_data(as_text=True))
    modes = {name: attrs["inputmode"] for name, attrs in page.attrs.items() if "inputmode" in attrs}
    assert modes == {
        "times": "numeric",
        "probability": "decimal",
        "ttl_s": "numeric",
        "retry_after_s": "numeric",
        "delay_ms": "numeric",
        "min_ms": "numeric",
        "max_ms": "numeric",
        "hold_ms": "numeric",
    }
    assert page.attrs["times"]["aria-describedby"] == "hint-times"  # no stray space before a lone id
