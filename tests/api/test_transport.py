"""Paths, methods, content types, malformed bodies and Basic auth on /v3."""

import base64

import pytest

from mock_server import create_app
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot

V3_POSTS = [
    "BatchAvailabilityLookup",
    "CheckAvailability",
    "CreateBooking",
    "UpdateBooking",
    "GetBookingStatus",
    "ListBookings",
]


def test_health_check(client):
    response = client.get("/v3/HealthCheck")
    assert (response.status_code, response.get_json()) == (200, {})


@pytest.mark.parametrize("path", ["/v3/HealthCheck/", "/v3/healthcheck", "/v3/HEALTHCHECK/"])
def test_trailing_slash_and_case_are_accepted(client, path):
    response = client.get(path)
    assert (response.status_code, response.get_json()) == (200, {})


def test_trailing_slash_on_post(client):
    response = client.post("/v3/ListBookings/", json={"user_id": "x"})
    assert (response.status_code, response.get_json()) == (200, {"bookings": []})


def test_unknown_method_is_404_listing_the_methods(client):
    response = client.post("/v3/CreateLease", json={})
    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404 and body["status"] == "Not Found"
    assert body["message"].startswith("no such path: /v3/CreateLease; v3 methods: /v3/BatchAvailabilityLookup")


def test_wrong_http_method_is_405(client):
    response = client.get("/v3/CreateBooking")
    assert response.status_code == 405
    assert response.get_json()["message"] == "GET is not allowed on /v3/CreateBooking; use OPTIONS, POST"


def test_malformed_json_is_400(client):
    response = client.post("/v3/CreateBooking", data=b'{"slot": ', content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("malformed JSON: ")


@pytest.mark.parametrize("body,kind", [(b"[1, 2]", "list"), (b'"text"', "str"), (b"3", "int")])
def test_json_that_is_not_an_object_is_400(client, body, kind):
    response = client.post("/v3/CreateBooking", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == f"the request body must be a JSON object, not {kind}"


def test_empty_body_is_400(client):
    response = client.post("/v3/ListBookings", data=b"", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"] == "the request body must be a JSON object; it was empty"


def test_wrong_content_type_is_415(client):
    response = client.post("/v3/ListBookings", data=b'{"user_id": "x"}', content_type="text/plain")
    assert response.status_code == 415
    assert response.get_json()["message"] == "Content-Type must be application/json, got 'text/plain'"


def test_body_over_the_limit_is_413(tmp_path):
    client = create_app({"clock": FROZEN_AT, "max_body_bytes": 1000, "record": 0}, environ={}).test_client()
    response = client.post("/v3/ListBookings", json={"user_id": "x" * 2000})
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


@pytest.mark.parametrize("value", [True, {"a": 1}, "12x", "1.5", 1.5, "99999999999999999999", -5])
def test_bad_int64_is_400(client, runtime, value):
    body = create_body(find_slot(runtime, vertical="classes"))
    body["slot"]["start_sec"] = value
    response = client.post("/v3/CreateBooking", json=body)
    assert response.status_code == 400
    assert "slot.start_sec:" in response.get_json()["message"]
    assert runtime.bookings.counts()["bookings"] == 0


def test_unknown_enum_name_is_400(client, runtime):
    body = create_body(find_slot(runtime, vertical="classes"))
    body["payment_information"] = {"prepayment_status": "PAID_MAYBE"}
    response = client.post("/v3/CreateBooking", json=body)
    assert response.status_code == 400
    assert "payment_information.prepayment_status: Must be one of:" in response.get_json()["message"]


def test_unknown_fields_are_ignored(client, runtime):
    body = create_body(find_slot(runtime, vertical="classes"), surprise={"x": 1})
    assert "booking" in client.post("/v3/CreateBooking", json=body).get_json()


class TestBasicAuth:
    """MOCK_BASIC_AUTH=user:pass protects every /v3 path, HealthCheck included."""

    @pytest.fixture
    def secured(self):
        return create_app({"clock": FROZEN_AT, "basic_auth": "google:s3cret", "record": 0}, environ={}).test_client()

    @staticmethod
    def _header(credentials):
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    @pytest.mark.parametrize("method", V3_POSTS)
    def test_every_post_method_needs_credentials(self, secured, method):
        response = secured.post(f"/v3/{method}", json={})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="booking-server"')
        assert response.get_json() == {
            "code": 401,
            "status": "Unauthorized",
            "message": "missing or wrong HTTP Basic credentials",
        }

    def test_health_check_needs_credentials_too(self, secured):
        assert secured.get("/v3/HealthCheck").status_code == 401
        assert secured.get("/v3/HealthCheck", headers=self._header("google:wrong")).status_code == 401
        assert secured.get("/v3/HealthCheck", headers=self._header("google:s3cret")).status_code == 200

    def test_feeds_and_admin_do_not_take_basic_auth(self, secured):
        assert secured.get("/_admin/health").get_json()["status"] == "ready"
        assert len(secured.get("/feeds/merchants.json").get_json()["merchant"]) == 12
