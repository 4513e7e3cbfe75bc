"""Every reader of the journal survives any line the sandbox wrote (issue 13 item 11).

Older versions wrote bodies nested deeper than orjson writes (254 levels) or even reads (1024), and a
crash or a full disk can tear a line. The journal below is written by hand with such lines between
good ones; every reader must still answer: the admin listing and fetch, both exports (the HAR a whole
JSON document), MOCK_REPLAY of the file and of both exports, `rwg-sandbox replay`, and the dashboard.
"""

from __future__ import annotations

import json

import orjson
import pytest

from mock_server import create_app
from mock_server.cli import main
from tests.conftest import FROZEN_AT
from tests.replaying import replay_in_process

BAD_REQUEST = b'{"code":400,"status":"Bad Request","message":"invalid request"}'
EMPTY_LIST = b'{"bookings":[]}'


def deep(depth: int) -> bytes:
    """A JSON object `depth` levels deep."""
    return b'{"user_id":"1","deep":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def line(seq: int, body: bytes, status: int, answer: bytes) -> bytes:
    """A journal line as the recorder writes it (ListBookings: any target answers it the same)."""
    return (
        b'{"seq":%d,"ts":"2026-01-01T00:00:%02d.000Z","clock_sec":%d,"rpc":"ListBookings","method":"POST",'
        b'"path":"/v3/ListBookings","query":"","request":{"headers":{"Content-Type":"application/json"},'
        b'"body":%s},"response":{"status":%d,"headers":{"Content-Type":"application/json"},"body":%s},'
        b'"duration_ms":1.0,"faults":[],"warnings":[]}' % (seq, seq, FROZEN_AT, body, status, answer)
    )


GOOD = line(1, b'{"user_id":"1"}', 200, EMPTY_LIST)
READABLE_DEEP = line(2, deep(300), 400, BAD_REQUEST)  # parses, but orjson cannot write it again
UNREADABLE_DEEP = line(3, deep(1023), 400, BAD_REQUEST)  # 1025 levels as a line: orjson refuses to parse it
TORN = line(4, b'{"user_id":"2"}', 200, EMPTY_LIST)[:90]
DEEP_ANSWER = line(5, b'{"user_id":"3"}', 200, b'{"bookings":' + deep(400) + b"}")
LAST = line(6, b'{"user_id":"4"}', 200, EMPTY_LIST)
LINES = [GOOD, READABLE_DEEP, UNREADABLE_DEEP, TORN, b"", DEEP_ANSWER, LAST]
# Lines an app of this process writes go to its in-memory index too (what the listing and dashboard read).
INDEXED = [(READABLE_DEEP, 400), (UNREADABLE_DEEP, 400), (DEEP_ANSWER, 200)]
TORN_REASON = "not a whole JSON record (torn by a crash or a full disk?)"


@pytest.fixture
def sandbox(tmp_path):
    """An app whose journal file holds the lines above, then the deep ones again through its index."""
    recordings = tmp_path / "rec"
    recordings.mkdir()
    (recordings / "old.jsonl").write_bytes(b"\n".join(LINES) + b"\n")
    app = create_app({"clock": FROZEN_AT, "recordings_dir": str(recordings), "recording": "old"}, environ={})
    journal = app.extensions["mock_server.recording"].recorder.journal
    for raw, status in INDEXED:
        journal.append_line(b'{"seq":0,' + raw.split(b",", 1)[1] + b"\n", 0.0, "ListBookings", status)
    journal.flush()
    return app, journal.path


def test_the_listing_holds_every_indexed_line_with_deep_bodies_as_text(sandbox):
    app, _ = sandbox
    response = app.test_client().get("/_admin/recordings")
    assert response.status_code == 200
    listed = json.loads(response.get_data())  # Python's json: a 1000-level body would be a RecursionError
    assert [x["seq"] for x in listed["exchanges"]] == [9, 8, 7]
    bodies = {x["seq"]: (x["request"]["body"], x["response"]["body"]) for x in listed["exchanges"]}
    assert bodies[7] == (deep(300).decode(), orjson.loads(BAD_REQUEST))
    assert bodies[8] == (deep(1023).decode(), orjson.loads(BAD_REQUEST))
    assert bodies[9] == ({"user_id": "3"}, '{"bookings":' + deep(400).decode() + "}")


def test_each_line_can_be_fetched_and_a_torn_one_says_so(sandbox):
    app, _ = sandbox
    client = app.test_client()
    fetched = {}
    for seq in range(1, 10):
        response = client.get(f"/_admin/recordings/{seq}")
        assert response.status_code == 200, (seq, response.get_data()[:200])
        fetched[seq] = json.loads(response.get_data())
    assert fetched[1] == orjson.loads(GOOD)
    assert fetched[2]["request"]["body"] == fetched[7]["request"]["body"] == deep(300).decode()
    assert fetched[3]["request"]["body"] == fetched[8]["request"]["body"] == deep(1023).decode()
    assert fetched[5]["response"]["body"] == '{"bookings":' + deep(400).decode() + "}"
    assert fetched[4] == {"seq": 4, "unreadable": TORN_REASON, "text": TORN.decode()}
    assert client.get("/_admin/recordings/10").status_code == 404


def test_the_jsonl_export_is_the_file_and_the_har_export_a_whole_document(sandbox):
    app, path = sandbox
    client = app.test_client()
    jsonl = client.get("/_admin/recordings/export?format=jsonl")
    assert jsonl.status_code == 200 and jsonl.get_data() == path.read_bytes()
    for url in ("/_admin/recordings/export?format=har", "/_admin/ui/exchanges/export?format=har"):
        har = client.get(url)
        assert har.status_code == 200
        log = json.loads(har.get_data())["log"]  # the whole document parses
        assert [e["_seq"] for e in log["entries"]] == [1, 2, 3, 5, 6, 7, 8, 9]
        assert log["comment"] == f"1 unreadable line of the journal left out: line 4, {TORN_REASON}"
        texts = {e["_seq"]: e["request"]["postData"]["text"] for e in log["entries"]}
        assert texts[2] == texts[7] == deep(300).decode() and texts[3] == deep(1023).decode()
        answer = {e["_seq"]: e["response"]["content"]["text"] for e in log["entries"]}[5]
        assert answer == '{"bookings":' + deep(400).decode() + "}"


def test_mock_replay_serves_the_file_and_both_exports(sandbox, tmp_path):
    app, path = sandbox
    client = app.test_client()
    exports = {"journal": path}
    for fmt in ("jsonl", "har"):
        exports[fmt] = tmp_path / f"export.{fmt}"
        exports[fmt].write_bytes(client.get(f"/_admin/recordings/export?format={fmt}").get_data())
    for name, source in exports.items():
        mock = create_app({"clock": FROZEN_AT, "replay": str(source), "record": 0}, environ={}).test_client()
        good = mock.post("/v3/ListBookings", json={"user_id": "1"})
        assert (good.status_code, good.get_json(), good.headers["X-Sandbox-Replay"]) == (
            200,
            {"bookings": []},
            "seq=1",
        ), name
        # The deep requests match their recordings by their text.
        for body, seq in ((deep(300), "seq=2"), (deep(1023), "seq=3")):
            answer = mock.post("/v3/ListBookings", data=body, content_type="application/json")
            assert (answer.status_code, answer.headers["X-Sandbox-Replay"]) == (400, seq), name
        status = mock.get("/_admin/recordings/replay").get_json()
        assert status["exchanges"] == 8 and status["misses"] == 0, name


def test_rwg_sandbox_replay_checks_every_readable_line(sandbox, tmp_path, monkeypatch, capsys):
    _app, path = sandbox
    replay_in_process(monkeypatch)
    code = main(["replay", str(path), "--target", "http://sandbox.test"])
    out, err = capsys.readouterr()
    # The deep answers (#5, #9) are compared as text and differ from the live ones: a DIFF, not a traceback.
    assert code == 1, out + err
    assert out.count("\nok    #") == 6 and out.count("DIFF  #") == 2
    assert "DIFF  #5 ListBookings recorded 200, target 200" in out and "8 exchanges: 6 match, 2 differ" in out
    assert err == f"warning: {path}: 1 unreadable line skipped: line 4, {TORN_REASON}\n"


def test_the_dashboard_shows_deep_exchanges_as_text(sandbox):
    app, _ = sandbox
    client = app.test_client()
    page = client.get("/_admin/ui/exchanges", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert [html.count(f'id="x-{seq}"') for seq in (7, 8, 9)] == [1, 1, 1]
    assert "[" * 1022 + "]" * 1022 in html
    feed = client.get("/_admin/ui/exchanges/feed?after=7")
    assert feed.status_code == 200 and feed.get_json()["count"] == 2
