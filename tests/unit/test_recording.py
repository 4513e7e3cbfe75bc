"""Pure pieces of the recorder: journal file, canonical bodies, redaction, id mapping, HAR entries."""

from __future__ import annotations

import errno
import json
import os

import orjson
import pytest

from mock_server.recording import canonical as canon
from mock_server.recording.har import entry
from mock_server.recording.journal import Journal
from mock_server.recording.redact import pseudonym, redact_headers, redact_pii
from mock_server.recording.replay_target import learn_ids, map_ids, without
from tests.helpers import wait_for


def _record(rpc="HealthCheck", status=200, body=None):
    return {"seq": 0, "rpc": rpc, "response": {"status": status, "body": body}}


def _append(journal: Journal, record: dict, epoch: float) -> int:
    """A synthetic record as one journal line (the server's lines come from Recorder.encode); its seq."""
    line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    return journal.append_line(line, epoch, record["rpc"], record["response"]["status"])


# ---- journal ----


def test_journal_numbers_lines_and_writes_nothing_until_the_first_exchange(tmp_path):
    journal = Journal(tmp_path / "sub" / "j.jsonl")
    assert not journal.path.exists() and list(journal.lines()) == []
    assert [_append(journal, _record(), 1.0) for _ in range(3)] == [1, 2, 3]
    assert [json.loads(line)["seq"] for line in journal.lines()] == [1, 2, 3]
    assert journal.get(2)["seq"] == 2 and journal.get(4) is None


def test_journal_index_is_bounded_but_the_file_keeps_everything(tmp_path):
    journal = Journal(tmp_path / "j.jsonl", index_size=5)
    for n in range(20):
        _append(journal, _record(status=200 + n), float(n))
    assert journal.recorded == 20 and journal.indexed == 5
    assert [e.seq for e in journal.newest()][::-1] == [16, 17, 18, 19, 20]
    assert journal.get(3)["response"]["status"] == 202  # evicted from memory, read from the file
    assert len(list(journal.lines())) == 20


def test_journal_index_also_has_a_byte_budget(tmp_path):
    journal = Journal(tmp_path / "j.jsonl", index_size=1000, index_bytes=1000)
    for _ in range(50):
        _append(journal, _record(body="x" * 90), 0.0)  # ~150-byte lines
    assert journal.indexed < 10 and sum(len(e.line) for e in journal.newest()) <= 1000
    assert journal.recorded == 50 and len(list(journal.lines())) == 50


def test_journal_continues_numbering_of_an_existing_recording_after_a_torn_line(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"seq":1,"rpc":"a"}\n{"seq":2,"rpc":"b"}\n{"seq":3,"rp')  # crashed mid-write
    journal = Journal(path)
    assert _append(journal, _record(), 0.0) == 3
    journal.flush()
    raw = path.read_bytes().splitlines()
    assert raw[2] == b'{"seq":3,"rp' and json.loads(raw[3])["seq"] == 3  # the torn line stays alone on its line


def test_journal_continues_after_the_highest_seq_even_if_lines_landed_out_of_order(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"seq":1}\n{"seq":3}\n{"seq":2}\n')
    assert _append(Journal(path), _record(), 0.0) == 4


def test_records_are_read_back_in_seq_order(tmp_path):
    from mock_server.recording.replay_mock import read_records

    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"seq":2}\n{"seq":1}\n{"seq":3,"torn')
    assert [r["seq"] for r in read_records(path)] == [1, 2]


def test_journal_clear_empties_file_and_index(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    _append(journal, _record(), 0.0)
    journal.clear()
    assert journal.path.read_bytes() == b"" and journal.indexed == 0 and journal.recorded == 0
    assert _append(journal, _record(), 0.0) == 1


def _append_from_threads(journal: Journal, threads: int = 4, each: int = 500) -> None:
    import threading

    def append_many():
        for _ in range(each):
            _append(journal, _record(), 0.0)

    workers = [threading.Thread(target=append_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_journal_without_a_background_writer_writes_each_line_as_it_comes(tmp_path):
    import threading

    from mock_server import process

    assert process.background_writer() is None  # as in any process that does not serve
    threads = threading.active_count()
    journal = Journal(tmp_path / "j.jsonl")
    _append(journal, _record(), 0.0)
    assert [json.loads(line)["seq"] for line in journal.path.read_bytes().splitlines()] == [1]  # no flush asked
    _append_from_threads(journal)
    assert [json.loads(line)["seq"] for line in journal.path.read_bytes().splitlines()] == list(range(1, 2002))
    assert threading.active_count() == threads


def test_journal_lines_wait_for_the_background_writer_and_its_stop_writes_them(tmp_path):
    from mock_server import process

    writer = process.start_background_writer(interval_s=3600)  # never on its own within this test
    try:
        journal = Journal(tmp_path / "j.jsonl")
        _append_from_threads(journal)
        assert journal.path.read_bytes() == b""  # batched: nothing written yet
    finally:
        writer.stop()
    assert [json.loads(line)["seq"] for line in journal.path.read_bytes().splitlines()] == list(range(1, 2001))


def test_journal_lines_reach_the_file_from_the_background_writer_in_seq_order(tmp_path):

    from mock_server import process

    writer = process.start_background_writer()
    try:
        journal = Journal(tmp_path / "j.jsonl")
        _append_from_threads(journal)
        # The writer runs every 50 ms; nobody reads or flushes here.
        wait_for(lambda: len(journal.path.read_bytes().splitlines()) >= 2000, "2000 lines from the background writer")
    finally:
        writer.stop()
    assert [json.loads(line)["seq"] for line in journal.path.read_bytes().splitlines()] == list(range(1, 2001))


def test_journal_close_writes_what_is_pending(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    _append(journal, _record(), 0.0)
    journal.close()
    assert json.loads(journal.path.read_bytes())["seq"] == 1


def test_journal_embeds_raw_json_fragments(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    _append(journal, _record(body=orjson.Fragment(b'{"a":"1"}')), 0.0)
    assert json.loads(next(journal.lines()))["response"]["body"] == {"a": "1"}


# ---- canonical bodies ----


def test_canonical_form_ignores_order_case_int64_form_and_ignored_fields():
    ignore = canon.ignore_set("idempotency_token, slot.duration_sec")
    a = {"idempotency_token": "x", "slot": {"start_sec": "10", "duration_sec": "5", "merchant_id": "m"}}
    b = {"slot": {"merchantId": "m", "startSec": 10}, "idempotencyToken": "y"}
    assert canon.key_of("CreateBooking", a, ignore) == canon.key_of("CreateBooking", b, ignore)
    assert canon.key_of("CreateBooking", a, ignore) != canon.key_of("UpdateBooking", a, ignore)
    assert canon.canonical({"flag": True, "n": 0, "list": [1, "2"]}) == {"flag": True, "n": "0", "list": ["1", "2"]}


def test_similarity_and_differences_describe_a_near_miss():
    recorded = canon.flatten({"slot": {"start_sec": "1", "service_id": "s"}, "extra": []})
    sent = canon.flatten({"slot": {"start_sec": "2", "service_id": "s"}, "new": "v"})
    assert canon.similarity(recorded, recorded) == 1.0
    assert canon.similarity(recorded, sent) == 0.25  # 1 leaf of 4 shared
    assert canon.differences(recorded, sent) == [
        "extra: recorded [] but not sent",
        'new: sent "v" but not in the recording',
        'slot.start_sec: recorded "1" but sent "2"',
    ]


# ---- redaction ----


def test_credentials_are_redacted_keeping_the_scheme():
    headers = redact_headers([("Authorization", "Basic dTpw"), ("Cookie", "a=b"), ("Accept", "*/*")])
    assert headers == {"Authorization": "Basic [REDACTED]", "Cookie": "[REDACTED]", "Accept": "*/*"}


def test_pii_pseudonyms_are_stable_and_plausible():
    user = {
        "user_id": "7",
        "givenName": "Ann",
        "family_name": "Lee",
        "email": "ann@example.com",
        "telephone": "+14155550123",
        "address": {"country": "US", "locality": "Springfield", "postal_code": ""},
    }
    once, twice = redact_pii({"booking": {"user_information": user}}), redact_pii({"user_information": user})
    assert once["booking"]["user_information"] == twice["user_information"]
    red = twice["user_information"]
    assert red["user_id"] == "7" and red["givenName"] == pseudonym("given", "Ann") != "Ann"
    assert red["email"].endswith("@example.invalid") and red["telephone"].startswith("+1555")
    assert len(red["telephone"]) == 12 and red["telephone"][1:].isdigit()
    assert red["address"]["country"] == "US" and red["address"]["locality"] != "Springfield"
    assert red["address"]["postal_code"] == ""
    assert user["givenName"] == "Ann"  # the input is not modified


# ---- replay against a target: id mapping ----


def test_booking_ids_are_learned_from_answers_and_rewritten_in_requests():
    ids: dict[str, str] = {}
    learn_ids(
        {"bookings": [{"booking_id": "B1"}, {"booking_id": "B2"}]},
        {"bookings": [{"booking_id": "X9"}, {"booking_id": "X8"}]},
        ids,
    )
    learn_ids({"booking": {"booking_id": "B1"}}, {"booking": {"booking_id": "other"}}, ids)  # first mapping wins
    assert ids == {"B1": "X9", "B2": "X8"}
    assert map_ids({"booking": {"booking_id": "B2", "status": "CANCELED"}}, ids) == {
        "booking": {"booking_id": "X8", "status": "CANCELED"}
    }
    assert without({"booking_failure": {"cause": "C", "description": "d"}}, frozenset({"description"})) == {
        "booking_failure": {"cause": "C"}
    }


# ---- HAR ----


def test_har_entry_of_a_recorded_exchange():
    record = {
        "seq": 3,
        "ts": "2026-01-01T00:00:00.000Z",
        "rpc": "GetBookingStatus",
        "method": "POST",
        "path": "/v3/GetBookingStatus",
        "query": "",
        "duration_ms": 2.5,
        "faults": [],
        "warnings": [],
        "request": {"headers": {"Host": "h:1", "Content-Type": "application/json"}, "body": {"booking_id": "B1"}},
        "response": {"status": 404, "headers": {"Content-Type": "application/json"}, "body": {"code": 404}},
    }
    har = entry(record, "http://fallback")
    assert har["request"]["url"] == "http://h:1/v3/GetBookingStatus"
    assert har["request"]["postData"] == {"mimeType": "application/json", "text": '{"booking_id":"B1"}'}
    assert har["request"]["bodySize"] == 19
    assert har["response"]["statusText"] == "Not Found" and har["response"]["content"]["text"] == '{"code":404}'
    assert har["time"] == 2.5 and har["timings"] == {"send": 0, "wait": 2.5, "receive": 0}


def test_the_journal_write_writes_everything_and_reports_a_failed_write(tmp_path):
    from mock_server.recording import journal as journal_module

    path = tmp_path / "w.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    data = bytes(range(256)) * 4096  # 1 MiB, zero bytes included
    journal_module._write_all(fd, data)
    os.close(fd)
    assert path.read_bytes() == data
    with pytest.raises(OSError) as failed:
        journal_module._write_all(fd, b"x")  # closed descriptor
    assert failed.value.errno == errno.EBADF


def test_a_journal_that_cannot_be_written_says_so_once_and_keeps_indexing(tmp_path, caplog):
    journal = Journal(tmp_path / "j.jsonl")
    _append(journal, _record(), 0.0)
    journal.flush()
    os.close(journal._fd)
    journal._fd = os.open(tmp_path / "j.jsonl", os.O_RDONLY)  # every write now fails with EBADF
    with caplog.at_level("ERROR", logger="mock_server.recording"):
        for _ in range(3):
            _append(journal, _record(), 0.0)
            journal.flush()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [f"recording to {journal.path} failed"]
    assert journal.recorded == 4 and [e.seq for e in journal.newest()][::-1] == [1, 2, 3, 4]


def test_the_journal_writes_many_lines_in_order_through_writev(tmp_path):
    from mock_server.recording import journal as journal_module

    path = tmp_path / "v.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    lines = [b'{"n":%d}\n' % n for n in range(journal_module._IOV_MAX * 2 + 7)]  # three writev calls
    journal_module._write_lines(fd, lines)
    os.close(fd)
    assert path.read_bytes() == b"".join(lines)


def test_a_short_writev_is_finished_with_the_rest(tmp_path, monkeypatch):
    from mock_server.recording import journal as journal_module

    path = tmp_path / "s.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    real_writev = os.writev
    monkeypatch.setattr(journal_module.os, "writev", lambda fd, bufs: real_writev(fd, [bufs[0][:5]]))
    lines = [b'{"first":1}\n', b'{"second":2}\n', b'{"third":3}\n']
    journal_module._write_lines(fd, lines)
    os.close(fd)
    assert path.read_bytes() == b"".join(lines)


# ---- the one journal line of an exchange ----


def _recorder(tmp_path, name, **settings):
    from mock_server.config import Settings
    from mock_server.domain.clock import SandboxClock
    from mock_server.recording.capture import Recorder

    settings = Settings(recordings_dir=str(tmp_path), recording=name, **settings)
    return Recorder(settings, SandboxClock(frozen_at=1767225600))


def _environ(body: bytes, **extra) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v3/CreateBooking",
        "QUERY_STRING": "",
        "SERVER_NAME": "x",
        "wsgi.input": None,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_AUTHORIZATION": "Basic c2VjcmV0",
        "HTTP_USER_AGENT": 'ü "q"',
        **extra,
    }


@pytest.mark.parametrize(
    "body,extra,warnings,redact",
    [
        (b'{"slot":{"merchant_id":"m1"},"idempotency_token":"t"}', {}, [], 0),
        (b'{"slot":{"merchant_id":"m1"}}', {"QUERY_STRING": 'a="\\\xc3\xa9', "HTTP_COOKIE": "c=1"}, ['reused "t"'], 0),
        ('{"n":"\u00e9 \\\\ \\t \\u00e9 \\"q\\""}'.encode(), {"HTTP_X_NEVER_SEEN_BEFORE": "\t\u00e9"}, [], 0),
        (b'{"payment_information":{"payment_method_token":"tok"}}', {}, [], 0),  # a secret: redacted
        (b'{\n "slot": {}\n}', {}, [], 0),  # not one line: parsed, not embedded
        (b'{"user_information":{"given_name":"Ada","email":"ada@example.com"}}', {}, [], 1),  # PII redaction
    ],
)
def test_an_answered_exchange_is_one_whole_journal_line_with_secrets_and_pii_redacted(
    tmp_path, monkeypatch, body, extra, warnings, redact
):
    import time
    import types

    from mock_server.recording import capture
    from mock_server.v3.exchange import Exchange

    # A stand-in module, so no other thread sees a stopped clock.
    monkeypatch.setattr(capture, "time", types.SimpleNamespace(**{**vars(time), "perf_counter": lambda: 10.0}))
    environ = _environ(body, **extra)
    payload = {"booking": {"booking_id": "B1", "status": "CONFIRMED"}, "user": {"given_name": "Ada"}}
    out = orjson.dumps(payload)
    exchange = Exchange(
        environ,
        "/v3/CreateBooking",
        "POST",
        epoch=1767225600.25,
        started=9.998,
        rpc="CreateBooking",
        raw=body,
        body=orjson.loads(body),
        trusted=True,
        payload=payload,
        out=out,
        headers=[("Content-Type", "application/json"), ("Content-Length", str(len(out)))],
    )
    exchange.warnings.extend(warnings)
    recorder = _recorder(tmp_path, "one", redact_pii=redact)
    recorder.record(exchange)
    (line,) = list(recorder.journal.lines())
    written = json.loads(line)
    assert written["seq"] == 1 and written["rpc"] == "CreateBooking" and written["path"] == "/v3/CreateBooking"
    assert written["duration_ms"] == 2.0 and written["warnings"] == warnings and written["faults"] == []
    assert written["response"]["status"] == 200
    assert written["response"]["headers"] == {"Content-Type": "application/json", "Content-Length": str(len(out))}
    assert written["request"]["headers"]["Authorization"] == "Basic [REDACTED]"
    assert b'"tok"' not in line and b"c2VjcmV0" not in line
    assert (b"Ada" in line) is not bool(redact)
    if not redact:
        assert written["response"]["body"] == payload
        assert written["request"]["body"] == capture.request_body(body, False)


def _fail_after(monkeypatch, module, written_bytes: int, cut_back_fails: bool = False):
    """writev writes `written_bytes` of its batch, then the disk is full; optionally ftruncate fails too."""
    real_writev, real_truncate = os.writev, os.ftruncate
    state = {"left": written_bytes}

    def writev(fd, bufs):
        if state["left"] is None:
            raise OSError(errno.ENOSPC, "No space left on device")
        data, state["left"] = b"".join(bufs)[: state["left"]], None
        return real_writev(fd, [data])

    def ftruncate(fd, size):
        if cut_back_fails:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_truncate(fd, size)

    monkeypatch.setattr(module.os, "writev", writev)
    monkeypatch.setattr(module.os, "write", lambda fd, data: writev(fd, [data]))
    monkeypatch.setattr(module.os, "ftruncate", ftruncate)


@pytest.fixture
def batching():
    """A background writer that never writes on its own: lines wait in batches until flushed, as when served."""
    from mock_server import process

    writer = process.start_background_writer(interval_s=3600)
    yield writer
    writer.stop()


@pytest.mark.parametrize("cut_back_fails", [False, True])
def test_a_full_disk_keeps_whole_lines_and_never_leaves_a_torn_one_mid_file(
    tmp_path, monkeypatch, cut_back_fails, batching
):
    from mock_server.recording import journal as journal_module

    journal = Journal(tmp_path / "j.jsonl")
    _append(journal, _record(), 0.0)
    journal.flush()
    for _ in range(3):
        _append(journal, _record(), 0.0)
    # The batch is torn 10 bytes into its second line.
    _fail_after(monkeypatch, journal_module, len(journal._pending[0]) + 10, cut_back_fails)
    journal.flush()
    _append(journal, _record(), 0.0)
    journal.flush()  # still full: dropped too
    error = "Read-only file system" if cut_back_fails else "No space left on device"  # the last failure
    dropped = 3  # the torn batch's first line was whole: kept (a failed cut is retried before the next write)
    assert journal.state()["dropped"] == dropped and journal.state()["error"] == error
    monkeypatch.undo()  # space again
    _append(journal, _record(), 0.0)
    journal.flush()
    lines = (tmp_path / "j.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["seq"] for line in lines] == [1, 2, 6]  # whole lines only, in order
    assert journal.state() == {"journal": str(tmp_path / "j.jsonl"), "recorded": 6, "dropped": dropped, "error": error}
