"""GET/PATCH /_admin/settings: a tenant's strict mode and response profile, per tenant, reset, journalled, shared."""

from __future__ import annotations

import orjson
import pytest

from mock_server import create_app
from tests.conftest import FROZEN_AT
from tests.helpers import journal_file
from tests.redis_server import forget, fresh_prefix

DEFAULTS = {"strict": False, "response_profile": "canonical"}


def test_settings_start_at_the_defaults_for_the_default_and_a_prefixed_tenant(client):
    assert client.get("/_admin/settings").get_json() == DEFAULTS
    assert client.get("/t/acme/_admin/settings").get_json() == DEFAULTS


def test_a_patch_changes_what_it_names_and_answers_the_whole_settings(client):
    answer = client.patch("/_admin/settings", json={"strict": True})
    assert (answer.status_code, answer.get_json()) == (200, {"strict": True, "response_profile": "canonical"})
    answer = client.patch("/_admin/settings", json={"response_profile": "minimal"})
    assert answer.get_json() == {"strict": True, "response_profile": "minimal"}
    assert client.get("/_admin/settings").get_json() == {"strict": True, "response_profile": "minimal"}


def test_tenants_keep_their_own_settings(client):
    client.patch("/t/acme/_admin/settings", json={"strict": True, "response_profile": "numbers"})
    assert client.get("/t/acme/_admin/settings").get_json() == {"strict": True, "response_profile": "numbers"}
    assert client.get("/_admin/settings").get_json() == DEFAULTS
    assert client.get("/t/other/_admin/settings").get_json() == DEFAULTS


def test_a_reset_puts_the_settings_back_to_the_defaults(client):
    client.patch("/t/acme/_admin/settings", json={"strict": True, "response_profile": "minimal"})
    client.patch("/_admin/settings", json={"strict": True})
    assert client.post("/t/acme/_admin/reset").status_code == 200
    assert client.get("/t/acme/_admin/settings").get_json() == DEFAULTS
    assert client.get("/_admin/settings").get_json() == {"strict": True, "response_profile": "canonical"}


def test_the_defaults_come_from_the_environment_and_a_reset_returns_to_them(tmp_path):
    app = create_app(
        {"clock": FROZEN_AT, "recordings_dir": str(tmp_path)},
        environ={"MOCK_STRICT": "1", "MOCK_RESPONSE_PROFILE": "numbers"},
    )
    client = app.test_client()
    assert client.get("/t/acme/_admin/settings").get_json() == {"strict": True, "response_profile": "numbers"}
    client.patch("/_admin/settings", json={"strict": False, "response_profile": "canonical"})
    client.post("/_admin/reset")
    assert client.get("/_admin/settings").get_json() == {"strict": True, "response_profile": "numbers"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"strict": "yes"}, "invalid request: strict: must be a JSON boolean: true or false"),
        ({"strict": 1}, "invalid request: strict: must be a JSON boolean: true or false"),
        (
            {"response_profile": "compact"},
            "invalid request: response_profile: Must be one of: canonical, minimal, numbers.",
        ),
        ({"verbose": True}, "invalid request: verbose: Unknown field."),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field_and_changes_nothing(client, body, message):
    answer = client.patch("/_admin/settings", json={"response_profile": "minimal", **body})
    assert answer.status_code == 400
    assert answer.get_json()["message"] == message
    assert client.get("/_admin/settings").get_json() == DEFAULTS


def test_a_patch_that_is_not_a_json_object_is_a_400(client):
    answer = client.patch("/_admin/settings", data="[]", content_type="application/json")
    assert answer.status_code == 400
    assert client.get("/_admin/settings").get_json() == DEFAULTS


def test_the_journal_line_records_the_settings_only_when_they_are_not_the_defaults(app, client):
    client.get("/v3/HealthCheck")
    client.patch("/_admin/settings", json={"response_profile": "minimal"})
    client.get("/v3/HealthCheck")
    before, change, after = [orjson.loads(line) for line in journal_file(app).read_bytes().splitlines()]
    assert change["marker"] == "settings"  # the change itself, between the two exchanges
    assert ("settings" in before, "settings" in after) == (False, True)
    assert after["settings"] == {"strict": False, "response_profile": "minimal"}
    listed = client.get("/_admin/recordings").get_json()  # the readers take the line as it is
    assert listed["count"] == 3


def test_every_server_of_a_tenant_serves_the_settings_one_of_them_changed(redis_url, tmp_path):
    prefix = fresh_prefix()
    apps = [
        create_app(
            {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / f"r{n}"), "store": redis_url, "store_prefix": prefix},
            environ={},
        )
        for n in (1, 2)
    ]
    try:
        one, two = (app.test_client() for app in apps)
        assert two.get("/t/acme/_admin/settings").get_json() == DEFAULTS  # the tenant exists on server two first
        one.patch("/t/acme/_admin/settings", json={"strict": True, "response_profile": "minimal"})
        # Server two takes the change on at its next /v3 request, as it takes on the clock.
        assert two.post("/t/acme/v3/GetBookingStatus", json={"booking_id": "B1", "extra": 1}).status_code == 400
        assert two.get("/t/acme/_admin/settings").get_json() == {"strict": True, "response_profile": "minimal"}
        two.post("/t/acme/_admin/reset")
        one.get("/t/acme/v3/HealthCheck")
        assert one.get("/t/acme/_admin/settings").get_json() == DEFAULTS
    finally:
        forget(redis_url, prefix)
