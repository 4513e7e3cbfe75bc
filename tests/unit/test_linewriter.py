"""Log lines of the serving process: never a wait for a request, bounded when stderr is not read, in order."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time

from mock_server.linewriter import LineHandler, LineWriter


class BlockedStream(io.StringIO):
    """A stream whose write() blocks until released (a pipe nobody reads)."""

    def __init__(self):
        super().__init__()
        self.released = threading.Event()
        self.writing = threading.Event()

    def fileno(self):
        raise OSError("no descriptor")  # written through write(), like a test stream

    def write(self, text):
        self.writing.set()
        self.released.wait()
        return super().write(text)


def test_a_blocked_stream_blocks_nobody_and_the_buffer_stays_bounded():
    stream = BlockedStream()
    writer = LineWriter(stream, max_bytes=10_000, interval_s=0.01)
    writer.add("first")
    assert stream.writing.wait(30)  # the writer thread is now stuck in write()
    started = time.monotonic()
    for i in range(20_000):
        writer.add(f"line {i:05d}")  # 10 characters + newline each
    assert time.monotonic() - started < 2  # no add() waited for the stream
    assert writer.dropped == 20_000 - 10_000 // 11
    assert writer.flush(timeout=0.2) is False  # a final flush gives up instead of hanging
    stream.released.set()
    assert writer.flush(timeout=30) is True
    lines = stream.getvalue().splitlines()
    assert lines[0] == "first" and lines[1] == "line 00000" and lines[-2] == f"line {10_000 // 11 - 1:05d}"
    assert json.loads(lines[-1]) == {"log_lines_dropped": writer.dropped, "why": "stderr was not read fast enough"}


def test_lines_from_many_threads_all_arrive_each_threads_in_order():
    stream = io.StringIO()
    writer = LineWriter(stream)

    def add(thread: int) -> None:
        for i in range(2000):
            writer.add(f"{thread}:{i}")

    threads = [threading.Thread(target=add, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert writer.flush(timeout=30)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8 * 2000 and writer.dropped == 0
    for t in range(8):
        assert [int(x.split(":")[1]) for x in lines if x.startswith(f"{t}:")] == list(range(2000))


def test_lines_go_to_the_descriptor_not_through_the_streams_buffer():
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "w") as stream, os.fdopen(read_fd, "rb") as pipe:
        writer = LineWriter(stream)
        writer.add("über")
        assert writer.flush(timeout=30)
        assert os.read(pipe.fileno(), 100) == "über\n".encode()


def test_a_closed_stream_drops_lines_without_raising():
    stream = io.StringIO()
    writer = LineWriter(stream)
    stream.close()
    writer.add("x")
    assert writer.flush(timeout=30)


def test_the_handler_queues_formatted_records():
    stream = io.StringIO()
    writer = LineWriter(stream)
    handler = LineHandler(writer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test_linewriter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("disk %s", "full")
    finally:
        logger.removeHandler(handler)
    assert writer.flush(timeout=30)
    assert stream.getvalue() == "WARNING disk full\n"
