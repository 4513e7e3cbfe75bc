"""SetMarketingPreference: kept per user and per tenant, echoed, shown by /_admin, forgotten by a reset, durable."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from mock_server import create_app
from tests.conftest import FROZEN_AT
from tests.helpers import journal_file, user, wait_until_fired

PATH = "/v3/SetMarketingPreference"
ADMIN = "/_admin/marketing-preferences"
NONE_KEPT = {"marketing_preferences": [], "count": 0}


def consent(n: int = 1, wants: bool = True, **changes) -> dict:
    """A SetMarketingPreferenceRequest for user n."""
    return {"user_information": user(n, **changes), "user_to_receive_marketing": wants}


def kept(*rows: tuple[int, bool]) -> dict:
    """The admin list of these (user n, consent) rows, set at the frozen time."""
    preferences = [{**consent(n, wants), "updated_sec": FROZEN_AT} for n, wants in rows]
    return {"marketing_preferences": preferences, "count": len(preferences)}


def test_the_preference_is_echoed_and_kept_per_user(client):
    first = client.post(PATH, json=consent(1, True))
    assert first.status_code == 200 and first.get_json() == consent(1, True)
    assert client.post(PATH, json=consent(2, False)).get_json() == consent(2, False)
    assert client.get(ADMIN).get_json() == kept((1, True), (2, False))
    # The user changes their mind: the last call wins, one row per user.
    assert client.post(PATH, json=consent(1, False)).get_json() == consent(1, False)
    assert client.get(ADMIN).get_json() == kept((1, False), (2, False))
    assert client.get(f"{ADMIN}?user_id={user(2)['user_id']}").get_json() == kept((2, False))
    assert client.get(f"{ADMIN}?user_id=nobody").get_json() == NONE_KEPT


def test_an_omitted_false_is_false_and_camel_case_and_the_address_are_read(client):
    """proto3 JSON: a printer that omits defaults sends no user_to_receive_marketing for false."""
    address = {"country": "US", "postal_code": "94043"}
    body = {"userInformation": user(3, address=address)}
    answer = client.post("/v3/setmarketingpreference/", json=body)
    assert answer.status_code == 200
    assert answer.get_json() == {"user_information": user(3, address=address), "user_to_receive_marketing": False}


NOT_A_BOOL = (
    "user_to_receive_marketing: must be a JSON boolean: true or false",
    {"user_to_receive_marketing": ["must be a JSON boolean: true or false"]},
)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({**consent(), "user_to_receive_marketing": "yes"}, NOT_A_BOOL),
        ({**consent(), "user_to_receive_marketing": 1}, NOT_A_BOOL),  # proto3 JSON: true or false, not a number
        (
            {"user_to_receive_marketing": True},
            (
                "user_information: Missing data for required field.",
                {"user_information": ["Missing data for required field."]},
            ),
        ),
        (
            {"user_information": "u1"},
            ("user_information: Invalid input type.", {"user_information": {"_schema": ["Invalid input type."]}}),
        ),
        (
            consent(email=""),
            ("user_information.email: must not be empty", {"user_information": {"email": ["must not be empty"]}}),
        ),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field_and_keeps_nothing(client, body, why):
    message, errors = why
    answer = client.post(PATH, json=body)
    assert answer.status_code == 400
    assert answer.get_json() == {
        "code": 400,
        "status": "Bad Request",
        "message": f"invalid request: {message}",
        "errors": {"json": errors},
    }
    assert client.get(ADMIN).get_json() == NONE_KEPT


def test_a_body_that_is_not_an_object_is_a_400(client):
    answer = client.post(PATH, data="[]", content_type="application/json")
    assert answer.status_code == 400
    assert answer.get_json() == {
        "code": 400,
        "status": "Bad Request",
        "message": "the request body must be a JSON object, not list",
    }


def test_each_tenant_keeps_its_own_and_a_reset_forgets_only_its_own(client):
    assert client.post(f"/t/acme{PATH}", json=consent(1, True)).get_json() == consent(1, True)
    assert client.post(PATH, json=consent(2, True)).get_json() == consent(2, True)
    assert client.get(f"/t/acme{ADMIN}").get_json() == kept((1, True))
    assert client.get(ADMIN).get_json() == kept((2, True))
    assert client.get(f"/t/other{ADMIN}").get_json() == NONE_KEPT
    assert client.post("/t/acme/_admin/reset").status_code == 200
    assert client.get(f"/t/acme{ADMIN}").get_json() == NONE_KEPT
    assert client.get(ADMIN).get_json() == kept((2, True))
    assert client.post("/_admin/reset").status_code == 200
    assert client.get(ADMIN).get_json() == NONE_KEPT


def test_a_fault_rule_answers_for_it_and_nothing_is_kept_and_the_exchange_is_recorded(app, client):
    rule = {"method": "SetMarketingPreference", "kind": "http_error", "status": 503, "times": 1}
    assert client.post("/_admin/faults", json=rule).status_code == 201
    faulted = client.post(PATH, json=consent(1, True))
    assert faulted.status_code == 503 and faulted.get_json()["code"] == 503
    assert client.get(ADMIN).get_json() == NONE_KEPT
    assert client.post(PATH, json=consent(1, True)).get_json() == consent(1, True)
    marker, *records = [json.loads(line) for line in journal_file(app).read_text().splitlines()]
    assert marker["marker"] == "faults_added"  # the rule, journalled before the exchanges it changed
    assert [(r["rpc"], r["response"]["status"]) for r in records] == [
        ("SetMarketingPreference", 503),
        ("SetMarketingPreference", 200),
    ]
    assert records[1]["response"]["body"] == consent(1, True)


def test_it_takes_basic_auth_like_every_v3_method():
    client = create_app({"clock": FROZEN_AT, "basic_auth": "google:s3cret", "record": 0}, environ={}).test_client()
    refused = client.post(PATH, json=consent())
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    good = {"Authorization": "Basic " + base64.b64encode(b"google:s3cret").decode()}
    assert client.post(PATH, json=consent(), headers=good).get_json() == consent()


def test_with_persistence_a_kept_preference_survives_restarts_and_a_reset_forgets_it(tmp_path):
    settings = {"clock": FROZEN_AT, "record": 0, "db_path": str(tmp_path / "db" / "state.json")}
    first = create_app(settings, environ={}).test_client()
    first.post(PATH, json=consent(1, True))
    first.post(PATH, json=consent(1, False))  # the log holds both lines: the later one wins on load
    restarted = create_app(settings, environ={}).test_client()  # log replayed, then folded into a snapshot
    assert restarted.get(ADMIN).get_json() == kept((1, False))
    again = create_app(settings, environ={}).test_client()  # read back from the snapshot alone
    assert again.get(ADMIN).get_json() == kept((1, False))
    again.post("/_admin/reset")
    assert create_app(settings, environ={}).test_client().get(ADMIN).get_json() == NONE_KEPT


def test_a_preference_in_flight_when_its_tenant_is_deleted_is_refused_not_resurrected(tmp_path):
    settings = {"clock": FROZEN_AT, "record": 0, "db_path": str(tmp_path / "db.json")}
    client = create_app(settings, environ={}).test_client()
    # The delay must outlast the poll below and the delete on a loaded machine (the delete does not cut it short).
    rule = {"method": "SetMarketingPreference", "kind": "delay", "delay_ms": 2000}
    added = client.post("/t/x/_admin/faults", json=rule)
    assert added.status_code == 201
    answers = []
    held = threading.Thread(target=lambda: answers.append(client.post(f"/t/x{PATH}", json=consent())))
    held.start()
    # The request is held by the delay once the rule fired.
    wait_until_fired(lambda path: client.get(path).get_json(), added.get_json()["id"], "/t/x")
    assert client.delete("/_admin/tenants/x").status_code == 204
    held.join(60)
    assert answers[0].status_code == 503
    assert answers[0].get_json() == {
        "code": 503,
        "status": "Service Unavailable",
        "message": "the tenant was deleted or evicted while this request ran; nothing was changed",
    }
    assert create_app(settings, environ={}).test_client().get(f"/t/x{ADMIN}").get_json() == NONE_KEPT
