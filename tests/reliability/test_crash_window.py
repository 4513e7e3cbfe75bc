"""A crash anywhere inside the log write of one CreateBooking: a retry with the same token never books twice."""

import shutil

import pytest

from mock_server import create_app
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot


def _app(db):
    return create_app({"clock": FROZEN_AT, "db_path": str(db), "record": 0}, environ={})


@pytest.fixture(scope="module")
def crashed_states(tmp_path_factory):
    """One CreateBooking's log line, absent, torn half-way, and whole: every state a kill -9 can leave."""
    root = tmp_path_factory.mktemp("window")
    app = _app(root / "live" / "db.json")
    body = create_body(find_slot(app.extensions["mock_server"], vertical="classes"), token="retry-me")
    answer = app.test_client().post("/v3/CreateBooking", json=body).get_json()
    log = (root / "live" / "db.json.wal").read_bytes()
    assert log.count(b"\n") == 1, log  # the booking and its token: one line, written whole
    states = []
    for cut, kept in enumerate((b"", log[: len(log) // 2], log)):
        folder = root / f"cut{cut}"
        shutil.copytree(root / "live", folder)
        (folder / "db.json.wal").write_bytes(kept)
        states.append(folder / "db.json")
    return body, answer["booking"], states


@pytest.mark.parametrize("cut", [0, 1, 2])
def test_retry_after_a_crash_between_the_lines_books_once(crashed_states, cut):
    body, original, states = crashed_states
    client = _app(states[cut]).test_client()
    retried = client.post("/v3/CreateBooking", json=body).get_json()
    stored = client.get("/_admin/bookings").get_json()["bookings"]
    assert len(stored) == 1, stored  # never the unanswered booking plus a second one for the retry
    assert retried["booking"]["booking_id"] == stored[0]["booking_id"]
    if cut == 2:
        assert retried["booking"] == original
