"""A tenant's journal on Redis: the exchanges of every server on the store, numbered in the order they were recorded.

Each server still writes its own file (the recording.journal.Journal this wraps, with its own numbering); every
line is also appended, with the tenant's next seq, to one stream (one Lua script per line), and the journal's readers
(the recordings API, the dashboard) read the stream: a listing or export through any server holds every server's
exchanges, in order.

    <prefix>:{<tenant>}:journal   STREAM  entry id <seq>-1: epoch, rpc, status, line (the last STREAM_KEPT kept)
    <prefix>:{<tenant>}:jseq      STRING  the last seq given
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import redis

from ..recording.journal import IndexEntry, Journal
from ..recording.lines import record_of, stand_in
from .redis_store import JOURNAL_KEYS, TenantKeys, unavailable

log = logging.getLogger("mock_server")
STREAM_KEPT = 100_000  # exchanges the stream keeps (each server's own file keeps all it served)
READ_CHUNK = 1_000

# A line arrives numbered 0 (`{"seq":0,...`): it gets the tenant's next seq, and that seq is its entry's id. When the
# counter is gone but the stream is not (evicted under maxmemory), it goes on from the stream's last entry.
APPEND_LUA = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if last then redis.call('SET', KEYS[2], string.match(last[1], '^%d+')) end
end
local seq = redis.call('INCR', KEYS[2])
local line = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 10)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], seq .. '-1',
  'epoch', ARGV[2], 'rpc', ARGV[3], 'status', ARGV[4], 'line', line)
return seq
"""
LAST_SEQ = 2**63 - 1  # INCR's ceiling: a larger seq was never given


class SharedJournal:
    """The Journal's readers' interface over the tenant's stream; appends go to this server's file and the stream."""

    def __init__(self, local: Journal, client: redis.Redis, keys: TenantKeys, index_size: int, index_bytes: int):
        self.local = local
        self.path = local.path  # this server's own file (what an export is named after)
        self._client = client
        self._stream, self._seq = (keys.tag + k for k in JOURNAL_KEYS)
        self._append = client.register_script(APPEND_LUA)
        self._index_size, self._index_bytes = index_size, index_bytes  # what a listing reads, as a local index holds
        self._lock = threading.Lock()
        self.dropped = 0  # lines the stream could not take (Redis unreachable); this server's file has them
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        """What the listing and health name as the journal: the tenant's stream."""
        return self._stream

    def append_line(self, encoded: bytes, epoch: float, rpc: str, status: int | None) -> int:
        """This server's file, then the stream; the seq the stream gave (0 when Redis could not take it)."""
        try:
            self.local.append_line(encoded, epoch, rpc, status)
        except OSError as exc:  # the file could not be opened: the stream still takes the line
            self.local.report_failure(exc)
        try:
            args = [encoded, repr(epoch), rpc, "" if status is None else status, STREAM_KEPT]
            return int(self._append(keys=[self._stream, self._seq], args=args))
        except redis.RedisError as exc:  # recording never breaks serving: counted, said once, in health
            with self._lock:
                self.dropped += 1
                first, self.last_error = self.last_error is None, str(exc)
            if first:
                log.error("recording to the shared journal failed: %s (see /_admin/health)", exc)
            return 0

    def report_failure(self, exc: OSError) -> None:
        """This server's file could not be opened."""
        self.local.report_failure(exc)

    def flush(self) -> None:
        """This server's pending lines to its file (the stream has every line already)."""
        self.local.flush()

    @property
    def pending(self) -> int:
        """Lines queued for this server's file, not yet written (the stream took each as it came)."""
        return self.local.pending

    @property
    def recorded(self) -> int:
        """The last seq given, by any server."""
        return int(self._read(self._client.get, self._seq) or 0)

    @property
    def indexed(self) -> int:
        """Exchanges a listing reaches: the stream's newest, as many as a server's in-memory index holds."""
        return min(int(self._read(self._client.xlen, self._stream)), self._index_size)

    def newest(self) -> Iterator[IndexEntry]:
        """The stream's newest exchanges, newest first, read a chunk at a time (a reader that stops early reads
        little), up to what a server's in-memory index would hold."""
        end, given, held = "+", 0, 0
        while given < self._index_size:
            count = min(READ_CHUNK, self._index_size - given)
            chunk = self._read(self._client.xrevrange, self._stream, end, "-", count)
            for _, fields in chunk:
                entry = _entry(fields)
                held += len(entry.line)
                if given and held > self._index_bytes:
                    return
                given += 1
                yield entry
            if len(chunk) < count:
                return
            end = "(" + chunk[-1][0].decode()

    def get(self, seq: int) -> dict | None:
        """One exchange by seq."""
        if not 0 < seq <= LAST_SEQ:
            return None
        found = self._read(self._client.xrange, self._stream, f"{seq}-1", f"{seq}-1")
        if not found:
            return None
        line = found[0][1][b"line"]
        return record_of(line) or stand_in(line)

    def lines(self) -> Iterator[bytes]:
        """Every line the stream holds, in seq order. The first chunk is read now, so an export Redis cannot serve
        is a 503; a failure later cuts the download off (its chunked body never ends), never a 200 that looks whole."""
        first = self._read(self._client.xrange, self._stream, "-", "+", READ_CHUNK)
        return self._lines_from(first)

    def _lines_from(self, chunk: list) -> Iterator[bytes]:
        while True:
            for _, fields in chunk:
                yield fields[b"line"].rstrip(b"\n")
            if len(chunk) < READ_CHUNK:
                return
            chunk = self._read(self._client.xrange, self._stream, "(" + chunk[-1][0].decode(), "+", READ_CHUNK)

    def clear(self) -> None:
        """Empty the stream (numbering starts again at 1) and this server's file (other servers keep theirs)."""
        self._read(self._client.unlink, self._stream, self._seq)
        self.local.clear()

    def close(self) -> None:
        """Write out and close this server's file."""
        self.local.close()

    def state(self) -> dict:
        """What /_admin/health says: the stream, its count, lines it could not take, and this server's file."""
        return {
            "journal": self.name,
            "recorded": self.recorded,
            "dropped": self.dropped,
            **({"error": self.last_error} if self.last_error else {}),
            "file": self.local.state(),
        }

    @staticmethod
    def _read(command, *args):
        try:
            return command(*args)
        except redis.RedisError as exc:
            raise unavailable(exc) from None


def _entry(fields: dict[bytes, bytes]) -> IndexEntry:
    status = fields[b"status"]
    line = fields[b"line"]
    return IndexEntry(
        int(line[7 : line.index(b",")]),
        float(fields[b"epoch"]),
        fields[b"rpc"].decode(),
        int(status) if status else None,
        line,
    )
