"""The exchange journal: one JSON line per exchange (or marker), plus a bounded in-memory index.

In a serving process a write per exchange cost more than everything else the recorder does (the syscall,
and under load one more hand-over of the GIL between request threads), so there lines are written in
batches by the process's background writer (process.py) every 50 ms, by whoever reads the file (it
flushes first), and when the process ends; a kill -9 can lose the last 50 ms. Where no background writer
runs (an app built in a test or by the pytest plugin) each line is written as it comes: no thread, no
flush needed. The index is updated at once either way, so the admin listing never lags.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import orjson

from .. import process
from . import lines as journal_lines

INDEX_SIZE = 10_000
INDEX_BYTES = 64 * 1024 * 1024  # large answers (a 1000-slot lookup is ~100 KB) must not grow memory either

_SEQ_PREFIX = len(b'{"seq":0,')  # every record has seq as its first key


def _iov_max() -> int:
    """Buffers one writev call may take (sysconf says -1 for "no limit", or may not know the name)."""
    try:
        limit = os.sysconf("SC_IOV_MAX")
    except (ValueError, OSError):
        return 16  # POSIX's minimum
    return 1024 if limit <= 0 else min(limit, 1024)


_IOV_MAX = _iov_max()

log = logging.getLogger("mock_server.recording")


class IndexEntry(NamedTuple):
    """What the admin listing filters on, plus the encoded line (far smaller than the dict it came from)."""

    seq: int
    epoch: float
    rpc: str
    status: int | None
    line: bytes


class Journal:
    """Append-only JSONL file; the last lines (at most `index_size`, `index_bytes`) stay in memory too."""

    def __init__(self, path: Path, index_size: int = INDEX_SIZE, index_bytes: int = INDEX_BYTES):
        self.path = Path(path)
        self.index_size = index_size
        self.index_bytes = index_bytes
        self._held_bytes = 0
        self._lock = threading.Lock()
        self._fd: int | None = None  # opened on the first write: an app that records nothing leaves no file
        self._seq = 0
        self._index: deque[tuple] = deque()  # IndexEntry fields, as plain tuples
        self._pending: list[bytes] = []  # encoded lines not written yet, in seq order
        self._write_lock = threading.Lock()  # one writer at a time, so the file stays in seq order
        self._failed = False
        self.dropped = 0  # lines a failed write could not write whole (and so left out)
        self.last_error: str | None = None
        self._torn_at: int | None = None  # where the file must be cut back to before the next write
        self._batched = False  # lines wait for the background writer (set when the file is opened)

    def append_line(self, encoded: bytes, epoch: float, rpc: str, status: int | None) -> int:
        """Number an encoded record (it starts `{"seq":0,` and ends with a newline) and queue it; its seq.

        Queued for the background writer in a serving process; elsewhere written before this returns.
        """
        # Encoded before taking the lock, numbered under it by swapping the `{"seq":0,` prefix: a thread
        # that loses the GIL while it holds the lock makes every other request queue on the lock, and
        # that queue feeds itself (a lock convoy); so the lock is held for as little as possible.
        with self._lock:
            if self._fd is None:
                self._open()
            seq = self._seq = self._seq + 1
            line = b"".join((b'{"seq":%d,' % seq, memoryview(encoded)[_SEQ_PREFIX:]))  # one copy, not two
            # A plain tuple in IndexEntry's field order (NamedTuple's constructor costs a Python call).
            index = self._index
            index.append((seq, epoch, rpc, status, line))
            self._held_bytes += len(line)
            while len(index) > self.index_size or (self._held_bytes > self.index_bytes and len(index) > 1):
                self._held_bytes -= len(index.popleft()[4])
            self._pending.append(line)
        if not self._batched:
            self.flush()
        return seq

    def flush(self) -> None:
        """Write every pending line now (readers call this first, so they see every answered exchange)."""
        with self._write_lock:
            with self._lock:
                lines, self._pending = self._pending, []
                fd = self._fd
            if lines:
                assert fd is not None  # append_line opens the file before it queues a line; close() empties the queue
                self._write(fd, lines)

    def _write(self, fd: int, lines: list[bytes]) -> None:
        """Write a batch of whole lines: a failed write is cut back to its last whole line, so none is ever torn."""
        try:
            if self._torn_at is not None:  # an earlier batch could not be cut back: try again first
                os.ftruncate(fd, self._torn_at)
                self._torn_at = None
            before = os.fstat(fd).st_size
        except OSError as exc:
            self._drop(len(lines), exc)  # never write after a half line
            return
        try:
            _write_lines(fd, lines)
        except OSError as exc:
            # Keep the lines that made it whole; cut off the one torn by the failure, drop the rest.
            kept, end = 0, before
            try:
                size = os.fstat(fd).st_size
                while kept < len(lines) and end + len(lines[kept]) <= size:
                    end += len(lines[kept])
                    kept += 1
                if size != end:
                    os.ftruncate(fd, end)
            except OSError:
                self._torn_at = end
            self._drop(len(lines) - kept, exc)

    def _drop(self, count: int, exc: OSError) -> None:
        self.dropped += count
        self.report_failure(exc)

    def report_failure(self, exc: OSError) -> None:
        """Recording must never break serving: say once that the journal cannot be written, not every time."""
        self.last_error = f"{exc.strerror or exc}"
        if not self._failed:
            self._failed = True
            log.error("recording to %s failed: %s (further errors not logged; see /_admin/health)", self.path, exc)

    def state(self) -> dict:
        """What /_admin/health says about the journal: lines written, and lines dropped by failed writes."""
        return {
            "journal": self.name,
            "recorded": self._seq,
            "dropped": self.dropped,
            **({"error": self.last_error} if self.last_error else {}),
        }

    @property
    def pending(self) -> int:
        """Lines queued for the background writer, not yet in the file (the metrics' journal lag)."""
        return len(self._pending)

    @property
    def recorded(self) -> int:
        """Exchanges in the file (the last seq)."""
        return self._seq

    @property
    def indexed(self) -> int:
        """Exchanges still held in memory."""
        return len(self._index)

    def newest(self) -> Iterator[IndexEntry]:
        """The in-memory index, newest first (from a copy: writers keep appending)."""
        with self._lock:
            entries = list(self._index)
        return map(IndexEntry._make, reversed(entries))

    @property
    def name(self) -> str:
        """What the listing and health name as the journal: its file."""
        return str(self.path)

    def get(self, seq: int) -> dict | None:
        """One exchange by seq: from memory, else from the file; a line that holds no record as its stand-in."""
        line = None
        with self._lock:
            if self._index and self._index[0][0] <= seq <= self._index[-1][0]:
                # seqs in the index are consecutive, so the position is arithmetic.
                line = self._index[seq - self._index[0][0]][4]
        if line is None:
            prefix = b'{"seq":%d,' % seq
            line = next((candidate for candidate in self.lines() if candidate.startswith(prefix)), None)
            if line is None:
                return None
        return journal_lines.record_of(line) or journal_lines.stand_in(line)

    def lines(self) -> Iterator[bytes]:
        """Every complete line of the file, as it stands now (lines written meanwhile are not included)."""
        self.flush()
        with self._lock:
            size = os.fstat(self._fd).st_size if self._fd is not None else _size(self.path)
        if not size:
            return
        with open(self.path, "rb") as handle:
            remaining = size
            for line in handle:
                remaining -= len(line)
                if remaining < 0 or not line.endswith(b"\n"):
                    break
                yield line.rstrip(b"\n")

    def clear(self) -> None:
        """Empty the file and the index; numbering starts again at 1."""
        with self._write_lock, self._lock:
            self._pending = []
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
            elif self.path.exists():
                self.path.write_bytes(b"")
            self._index.clear()
            self._held_bytes = 0
            self._seq = 0
            self._torn_at = None

    def close(self) -> None:
        """Write what is pending and release the file descriptor."""
        with self._write_lock, self._lock:
            lines, self._pending = self._pending, []
            if self._fd is not None:
                if lines:
                    self._write(self._fd, lines)
                os.close(self._fd)
                self._fd = None

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: every write lands at the end, whatever else holds the file open.
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # Opened by the first write, so in the process that serves (granian's worker builds the app): its
        # background writer, if it runs one, writes the batches.
        writer = process.background_writer()
        if writer is not None:
            writer.add(self)
            self._batched = True
        size = os.fstat(self._fd).st_size
        if size:
            # A named recording may already hold exchanges: continue its numbering, after any torn line.
            self._seq = _last_seq(self.path)
            with open(self.path, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    _write_all(self._fd, b"\n")


def _write_lines(fd: int, lines: list[bytes]) -> None:
    """Write the lines in order, straight from their buffers (writev: no joined copy of a batch)."""
    for start in range(0, len(lines), _IOV_MAX):
        chunk = lines[start : start + _IOV_MAX]
        written = os.writev(fd, chunk)
        if written < sum(map(len, chunk)):  # a short write (rare on a file): the rest the slow way
            _write_all(fd, b"".join(chunk)[written:])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _last_seq(path: Path, chunk: int = 65536) -> int:
    """The highest seq near the end of the file, read backwards (a long journal is not scanned).

    Concurrent lines may land in either order, so the whole last chunk is looked at, not one line.
    """
    size = _size(path)
    with open(path, "rb") as handle:
        tail = b""
        position = size
        while position > 0:
            step = min(chunk, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            lines = tail.split(b"\n")
            # lines[0] may be cut by the chunk boundary; it is only trusted at the start of the file.
            seqs = [seq for seq in map(_seq_of, lines if position == 0 else lines[1:]) if seq is not None]
            if seqs:
                return max(seqs)
    return 0


def _seq_of(line: bytes) -> int | None:
    try:
        seq = orjson.loads(line).get("seq") if line.strip() else None
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return seq if isinstance(seq, int) else None
