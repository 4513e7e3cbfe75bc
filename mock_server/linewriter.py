"""Log lines of the serving process (access lines and every other record): written by their own thread.

A request thread only appends a line to a bounded buffer; one thread per process writes the buffer out
every INTERVAL_S (as nginx's `access_log ... flush=`). If stderr is a pipe nobody reads, that thread
blocks in write() and nothing else does: the journal has its own thread (process.py), the buffer stops
at MAX_BYTES and further lines are dropped and counted (`dropped_lines()`, and a line saying how many
once writing works again). At exit, what is buffered gets FINAL_WAIT_S to go out, so a stuck stderr
cannot hold the process. Lines go to the stream's file descriptor with os.write, not through
sys.stderr's buffer, whose lock a blocked writer would hold while Python tries to flush it at exit.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util
import os
import threading

import orjson

INTERVAL_S = 0.05
MAX_BYTES = 4 * 1024 * 1024
FINAL_WAIT_S = 1.0


class LineWriter:
    """A bounded buffer of lines, written out in order by its own thread (started lazily, per process)."""

    def __init__(self, stream, max_bytes: int = MAX_BYTES, interval_s: float = INTERVAL_S):
        self._stream = stream
        self._max_bytes = max_bytes
        self._interval_s = interval_s
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked child (granian's worker) starts empty, with its own lock and thread.
        self._lines: list[str] = []
        self._bytes = 0
        self._dropped = 0  # in all, since the start
        self._dropped_unsaid = 0  # not yet reported in the log itself
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None

    def add(self, line: str) -> None:
        """Queue one line (no newline); dropped, and counted, when the buffer is full."""
        with self._lock:
            if self._bytes + len(line) > self._max_bytes:
                self._dropped += 1
                self._dropped_unsaid += 1
                return
            self._lines.append(line)
            self._bytes += len(line) + 1
            if self._thread is None:
                self._start()

    @property
    def dropped(self) -> int:
        """Lines dropped since the start because the stream did not take them fast enough."""
        return self._dropped

    def flush(self, timeout: float | None = FINAL_WAIT_S) -> bool:
        """Have the writer thread write what is buffered now; False if that took longer than `timeout`."""
        with self._lock:
            if not self._lines and not self._dropped_unsaid:
                return self._idle.wait(timeout)  # a batch may still be on its way out
            if self._thread is None:
                self._start()
            self._idle.clear()
        self._wake.set()
        return self._idle.wait(timeout)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()
        atexit.register(self.flush)
        if multiprocessing.parent_process() is not None:  # granian's worker ends with os._exit
            multiprocessing.util.Finalize(None, self.flush, exitpriority=90)

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self._write_batch()

    def _write_batch(self) -> None:
        with self._lock:
            lines, self._lines, self._bytes = self._lines, [], 0
            dropped, self._dropped_unsaid = self._dropped_unsaid, 0
            if not lines and not dropped:
                self._idle.set()
                return
        if dropped:
            lines.append(
                orjson.dumps({"log_lines_dropped": dropped, "why": "stderr was not read fast enough"}).decode()
            )
        _write(self._stream, "\n".join(lines) + "\n")
        with self._lock:
            if not self._lines:
                self._idle.set()


def _write(stream, text: str) -> None:
    """Write to the stream's file descriptor (blocking this thread only); any error drops the text."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None  # an in-memory stream (tests)
    try:
        if fd is None:
            stream.write(text)
            stream.flush()
            return
        view = memoryview(text.encode("utf-8", "backslashreplace"))
        while view:
            view = view[os.write(fd, view) :]
    except (OSError, ValueError):
        pass  # stderr closed: a log line must never take the server down


class LineHandler(logging.Handler):
    """A logging handler that queues formatted records on a LineWriter instead of writing them."""

    def __init__(self, writer: LineWriter):
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.add(self.format(record))
        except Exception:  # noqa: BLE001 - as logging.StreamHandler: report, never raise
            self.handleError(record)


_writer: LineWriter | None = None


def install(stream) -> LineWriter:
    """Route every log record of this process through one LineWriter on `stream` (the serving process)."""
    global _writer
    _writer = LineWriter(stream)
    handler = LineHandler(_writer)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.root.handlers[:] = [handler]
    return _writer


def writer() -> LineWriter | None:
    """The process's LineWriter, if `install` ran."""
    return _writer


def dropped_lines() -> int:
    """Log lines this process dropped because stderr did not take them (0 when none, or not installed)."""
    return _writer.dropped if _writer is not None else 0
