"""`rwg-sandbox replay` and MOCK_REPLAY never pass on nothing (issue 13 item 16); a HAR export replays too.

An empty file, a file that is not a recording, or one without an answered /v3 exchange used to print
"0 exchanges" and exit 0 (a false green in CI), and MOCK_REPLAY started on it and answered 404 to all.
Now both refuse with one line naming the file and the problem. The sandbox's own HAR export, and a
HAR a browser saved (pretty-printed), are read back into exchanges.
"""

from __future__ import annotations

import json

import pytest

from mock_server.cli import main
from mock_server.recording.demo import run_flow
from tests.replaying import caller, make_app, replay_in_process

UNREACHABLE = "http://127.0.0.1:9"  # never contacted: the file is refused first

BAD_FILES = {
    "empty": (b"", "the file is empty"),
    "blank lines": (b"\n\n  \n", "the file is empty"),
    "not JSON": (
        b"hello\nworld\n",
        (
            "not a recording: none of its 2 lines is a journal record (line 1: not a whole "
            "JSON record (torn by a crash or a full disk?))"
        ),
    ),
    "JSON but no records": (
        b"[1, 2]\n42\n",
        ("not a recording: none of its 2 lines is a journal record (line 1: not a JSON object)"),
    ),
    "no /v3 exchange": (
        b'{"seq":1,"path":"/_admin/reset","response":{"status":200}}\n',
        "no answered /v3 exchange among its 1 record",
    ),
    "no answer": (
        (b'{"seq":1,"rpc":"ListBookings","path":"/v3/ListBookings","response":null,"no_response":"drop_connection"}\n'),
        "no answered /v3 exchange among its 1 record",
    ),
    "truncated HAR": (b'{"log":{"version":"1.2","entries":[{"startedDateTime":"2026-01-01', "not a whole HAR document"),
    "HAR without entries": (
        b'{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}',
        "a HAR document with no /v3 entry",
    ),
}


@pytest.fixture
def in_process_target(monkeypatch):
    """`rwg-sandbox replay --target` sends to a fresh in-process sandbox instead of over HTTP."""
    replay_in_process(monkeypatch)


@pytest.fixture(scope="module")
def flow_exports(tmp_path_factory):
    """The demo flow on a sandbox, its answers, and its recording as JSONL, HAR and a browser-style HAR."""
    tmp = tmp_path_factory.mktemp("flow")
    source = make_app(tmp, "flow")
    client = source.test_client()
    flow = run_flow(caller(client))
    files = {}
    for fmt in ("jsonl", "har"):
        files[fmt] = tmp / f"flow.{fmt}"
        files[fmt].write_bytes(client.get(f"/_admin/recordings/export?format={fmt}").get_data())
    files["browser har"] = tmp / "browser.har"
    files["browser har"].write_text(json.dumps(json.loads(files["har"].read_bytes()), indent=2))
    return flow, files


@pytest.mark.parametrize("name", BAD_FILES)
def test_replay_against_a_target_refuses_a_file_with_nothing_to_check(tmp_path, capsys, name):
    content, reason = BAD_FILES[name]
    path = tmp_path / "recording.jsonl"
    path.write_bytes(content)
    assert main(["replay", str(path), "--target", UNREACHABLE]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"nothing to check: {path}: {reason}") and err.count("\n") == 1, err


@pytest.mark.parametrize("name", BAD_FILES)
def test_mock_replay_refuses_to_start_on_a_file_with_nothing_to_answer(tmp_path, name):
    content, reason = BAD_FILES[name]
    path = tmp_path / "recording.jsonl"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as stopped:
        make_app(tmp_path, "mock", replay=str(path))
    message = str(stopped.value.code)
    assert message.startswith(f"MOCK_REPLAY: {path}: {reason}") and "\n" not in message, message


@pytest.mark.parametrize("fmt", ["jsonl", "har", "browser har"])
def test_every_export_replays_against_a_fresh_sandbox(flow_exports, in_process_target, capsys, fmt):
    flow, files = flow_exports
    assert main(["replay", str(files[fmt]), "--target", "http://sandbox.test"]) == 0
    out, err = capsys.readouterr()
    assert f"{len(flow)} exchanges: {len(flow)} match, 0 differ" in out and err == "", out + err


@pytest.mark.parametrize("fmt", ["jsonl", "har", "browser har"])
def test_every_export_serves_as_a_mock(flow_exports, tmp_path, fmt):
    flow, files = flow_exports
    mock = make_app(tmp_path, "mock", replay=str(files[fmt]))
    client = mock.test_client()
    assert run_flow(caller(client)) == flow
    status = client.get("/_admin/recordings/replay").get_json()
    assert (status["exchanges"], status["played"], status["misses"]) == (len(flow), len(flow), 0)


def test_a_har_export_keeps_what_the_replay_needs(flow_exports):
    _, files = flow_exports
    entries = json.loads(files["har"].read_bytes())["log"]["entries"]
    assert all(isinstance(e["_clock_sec"], int) for e in entries)
    assert [e["_seq"] for e in entries] == list(range(1, len(entries) + 1))
