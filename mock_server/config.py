"""Settings: defaults, then MOCK_* environment variables, then explicit overrides (tests)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Where `pip install` puts fixtures/ (pyproject's data-files), for installs outside a checkout.
INSTALLED_DATA = Path(sys.prefix) / "share" / "rwg-sandbox"
MAX_JSON_DEPTH = 250


def resolve_path(path: str) -> Path:
    """A relative path is taken from the working directory, else the source checkout, else the install."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    for base in (ROOT, INSTALLED_DATA):
        if (base / candidate).exists():
            return base / candidate
    return candidate


@dataclass
class Settings:
    """Every knob of the sandbox; each field F is read from the env var MOCK_<F upper-cased>."""

    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 42
    fixture: str = "fixtures/default.json"
    db_path: str = ""
    clock: int | None = None  # freeze the sandbox clock at this epoch second
    basic_auth: str = ""  # "user:pass" turns on HTTP Basic auth for /v3
    admin_token: str = ""  # turns on "Authorization: Bearer <token>" for /_admin
    threads: int = 8
    server: str = "granian"  # granian | waitress | werkzeug
    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    max_slot_times: int = 1000
    recordings_dir: str = "recordings"
    record: int = 1  # 0 turns the exchange journal off
    recording: str = ""  # journal name (recordings/<name>.jsonl); default: one per server start
    redact_pii: int = 0  # 1 replaces names, email and telephone in recordings
    replay: str = ""  # serve /v3 answers from this recording instead of live state
    # Request fields ignored when matching replays (payment tokens are single-use, and redacted anyway).
    replay_ignore: str = "idempotency_token,payment_method_token,unparsed_payment_method_token"
    scenario: str = ""  # fault scenario (fixtures/scenarios/<name>.json) loaded at start-up
    timeout_ms: int = 30_000  # how long the `timeout` fault holds a request before its 504
    fast_path: int = 1  # 0 sends every /v3 call through the full Flask pipeline (same answers, slower)
    db_fsync: int = 0  # 1 fsyncs the log before each change is answered (power-loss safe; kill -9 safe either way)
    read_timeout_s: float = 10.0  # a request body that stalls this long is answered 408 and its connection closed
    max_json_depth: int = 100  # deeper JSON request bodies get 400 (protobuf's own parser limit)
    # extra Host names /_admin answers to (comma-separated; "*" any), besides loopback and MOCK_HOST
    allowed_hosts: str = ""

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Build settings from the environment, then apply overrides."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"MOCK_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, str(f.type), raw)
        values.update(overrides)
        settings = cls(**values)
        if not 1 <= settings.max_json_depth <= MAX_JSON_DEPTH:
            # Deeper bodies could not be journalled as JSON (orjson writes 254 levels; a record adds 4).
            raise SystemExit(f"MOCK_MAX_JSON_DEPTH must be between 1 and {MAX_JSON_DEPTH}, "
                             f"got {settings.max_json_depth}")
        return settings


def _coerce(name: str, type_name: str, raw: str):
    """Turn an env string into the field's type, with an error that names the variable."""
    if "float" in str(type_name):
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not 0 < value < float("inf"):
            raise SystemExit(f"MOCK_{name.upper()} must be a positive number, got {raw!r}")
        return value
    if "int" in str(type_name):
        try:
            return int(raw)
        except ValueError:
            raise SystemExit(f"MOCK_{name.upper()} must be an integer, got {raw!r}") from None
    return raw


def describe() -> list[tuple[str, str, str]]:
    """(env var, default, type) for every setting: the README's config table is checked against it."""
    rows = []
    for f in fields(Settings):
        default = f.default
        rows.append((f"MOCK_{f.name.upper()}", "" if default in (None, "") else str(default), str(f.type)))
    return rows
