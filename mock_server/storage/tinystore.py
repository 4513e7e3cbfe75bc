"""A TinyDB storage on orjson: same file format as TinyDB's JSONStorage, several times faster."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from tinydb.storages import Storage


class OrjsonStorage(Storage):
    """Reads and writes a whole TinyDB JSON document with orjson (sorted keys, so output is stable)."""

    def __init__(self, path: str | Path, access_mode: str = "r+", **_ignored):
        self.path = Path(path)
        self.access_mode = access_mode
        if access_mode != "r" and not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")

    def read(self) -> dict | None:
        data = self.path.read_bytes()
        return orjson.loads(data) if data.strip() else None

    def write(self, data: dict) -> None:
        if self.access_mode == "r":
            raise OSError(f"{self.path} is open read-only")
        with open(self.path, "wb") as handle:
            handle.write(orjson.dumps(data, option=orjson.OPT_SORT_KEYS))
            handle.flush()
            os.fsync(handle.fileno())
