"""Settings: defaults, then MOCK_* environment variables, then explicit overrides (the CLI, tests).

Standard library only, on purpose. pydantic-settings would do the loader's work, but importing it (pydantic,
pydantic-core, annotated-types) takes 140 ms warm and 230 ms cold on this machine (`python -X importtime`): a
seventh or more of the whole < 1 s start-up budget, paid again by every process and test session that builds an
app. For one flat dataclass of five field types, the two functions below do the same, and every error names the
variable.
"""

from __future__ import annotations

import math
import os
import sys
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Where `pip install` puts fixtures/ (pyproject's data-files), for installs outside a checkout.
INSTALLED_DATA = Path(sys.prefix) / "share" / "rwg-sandbox"
MAX_JSON_DEPTH = 250
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# Settings that no longer exist: their MOCK_* variable is ignored, and so is an override of that name.


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
    record: bool = True  # 0 turns the exchange journal off
    recording: str = ""  # journal name (recordings/<name>.jsonl); default: one per server start
    redact_pii: bool = False  # 1 replaces names, email and telephone in recordings
    replay: str = ""  # serve /v3 answers from this recording instead of live state
    # Request fields ignored when matching replays (payment tokens are single-use, and redacted anyway).
    replay_ignore: str = "idempotency_token,payment_method_token,unparsed_payment_method_token"
    scenario: str = ""  # fault scenario (fixtures/scenarios/<name>.json) loaded at start-up
    timeout_ms: int = 30_000  # how long the `timeout` fault holds a request before its 504
    db_fsync: bool = False  # 1 fsyncs the log before each change is answered (power-loss safe; kill -9 safe either way)
    read_timeout_s: float = 10.0  # a request body that stalls this long is answered 408 and its connection closed
    max_json_depth: int = 100  # deeper JSON request bodies get 400 (protobuf's own parser limit)
    # extra Host names /_admin answers to (comma-separated; "*" any), besides loopback and MOCK_HOST
    allowed_hosts: str = ""
    # a JSON object {"<tenant>": "<password>"}: that tenant's Basic-auth username and password (its own sandbox)
    tenants_file: str = ""
    # tenants (the default included) one server holds; a new one past it: 503 JSON. Tenants share the inventory, so
    # each costs ~16 KB beyond its bookings (bench/tenancy.py)
    max_tenants: int = 1000
    # a tenant unused this many seconds is forgotten when a new one needs its room (0: never)
    tenant_idle_s: int = 0
    trace: bool = False  # 1 adds an X-Sandbox-Steps response header naming the /v3 pipeline steps each request took
    # where booking state lives: memory (this process) or a Redis URL (redis://, rediss://, unix://) shared by servers
    store: str = "memory"
    store_prefix: str = "rwg"  # the Redis key prefix: rwg:{<tenant>}:...
    workers: int = 1  # worker processes of one server (granian); more than 1 needs a shared MOCK_STORE
    # each tenant's starting fidelity settings (/_admin/settings changes them per tenant; a reset restores these)
    strict: bool = False  # 1: unknown /v3 request fields, impossible updates and contradictions are 400s
    response_profile: str = "canonical"  # canonical | minimal (defaults omitted) | numbers (int64 as JSON numbers)
    # booking notifications (Maps Booking API PATCH .../notification/partners/{partner}/bookings/{id}) go to this
    # base URL (http:// or https://; unset: none are sent) when a merchant action changes a booking (/_admin)
    notify_url: str = ""
    partner_id: str = "sandbox-partner"  # the {partner_id} of notification paths and resource names
    notify_attempts: int = 5  # tries per notification; connection errors, timeouts, 5xx and 429 are retried
    notify_backoff_s: float = 0.5  # wait before the first retry, doubled before each next one
    notify_timeout_s: float = 5.0  # one attempt's deadline to connect and be answered

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from the environment, then apply overrides (each checked against its field's type)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, kind in FIELD_TYPES.items():
            raw = env.get(env_name(name))
            if raw:  # set but empty counts as unset (`MOCK_X=` in a compose file)
                values[name] = _from_text(name, kind, raw)
        for name, value in overrides.items():
            if name not in FIELD_TYPES:
                raise TypeError(f"unknown setting {name!r} (settings: {', '.join(FIELD_TYPES)})")
            values[name] = _from_override(name, FIELD_TYPES[name], value)
        settings = cls(**values)  # type: ignore[arg-type]  # each value was checked against its field's type
        if not 1 <= settings.max_json_depth <= MAX_JSON_DEPTH:
            # Deeper bodies could not be journalled as JSON (orjson writes 254 levels; a record adds 4).
            raise SystemExit(
                f"MOCK_MAX_JSON_DEPTH must be between 1 and {MAX_JSON_DEPTH}, got {settings.max_json_depth}"
            )
        _check_store(settings)
        _check_notify(settings)
        if settings.response_profile not in RESPONSE_PROFILES:
            allowed = ", ".join(RESPONSE_PROFILES)
            raise SystemExit(f"MOCK_RESPONSE_PROFILE must be one of {allowed}, got {settings.response_profile!r}")
        return settings


# How /v3 answers are printed (v3/profiles.py): as today, defaults omitted everywhere, int64 as JSON numbers.
RESPONSE_PROFILES = ("canonical", "minimal", "numbers")


STORE_SCHEMES = ("redis://", "rediss://", "unix://")


def _check_notify(settings: Settings) -> None:
    """MOCK_NOTIFY_URL is an http(s) base URL; a partner id is a plain name; at least one attempt."""
    if settings.notify_url and not settings.notify_url.startswith(("http://", "https://")):
        raise SystemExit(f"MOCK_NOTIFY_URL must be an http:// or https:// base URL, got {settings.notify_url!r}")
    if "@" in settings.notify_url.split("//", 1)[-1].split("/", 1)[0]:
        # Every attempt's URL is journalled and exported: credentials there would leak into recordings.
        raise SystemExit("MOCK_NOTIFY_URL must not carry credentials (user:password@); the sandbox sends none")
    if not settings.partner_id or "/" in settings.partner_id or "?" in settings.partner_id:
        raise SystemExit(f"MOCK_PARTNER_ID must be a non-empty name without '/' or '?', got {settings.partner_id!r}")
    if not 1 <= settings.notify_attempts <= 20:
        raise SystemExit(f"MOCK_NOTIFY_ATTEMPTS must be between 1 and 20, got {settings.notify_attempts}")


def _check_store(settings: Settings) -> None:
    """MOCK_STORE is `memory` or a Redis URL, a Redis store is not combined with MOCK_DB_PATH, and several
    MOCK_WORKERS share a store."""
    if settings.workers < 1:
        raise SystemExit(f"MOCK_WORKERS must be 1 or more, got {settings.workers}")
    if settings.workers > 1 and settings.store == "memory":
        raise SystemExit(
            f"MOCK_WORKERS={settings.workers} needs a shared store: each worker process would hold its own bookings "
            "in memory; set MOCK_STORE to a Redis URL (see Scaling out in the README), or MOCK_WORKERS=1"
        )
    if settings.store == "memory":
        return
    if not settings.store.startswith(STORE_SCHEMES):
        raise SystemExit(
            f"MOCK_STORE must be memory or a Redis URL (redis://HOST:PORT/DB, rediss://..., "
            f"unix:///path/redis.sock?db=N), got {settings.store!r}"
        )
    if settings.db_path:
        raise SystemExit(
            "MOCK_DB_PATH is the memory store's persistence; with MOCK_STORE on Redis, durability is Redis's "
            "(its AOF): unset one of them"
        )


# Each field's real type (the annotations are strings under `from __future__ import annotations`).
FIELD_TYPES: dict[str, object] = typing.get_type_hints(Settings)
OPTIONAL_INT = int | None
TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str", OPTIONAL_INT: "int | None"}


def env_name(name: str) -> str:
    """The environment variable of a setting."""
    return f"MOCK_{name.upper()}"


def _from_text(name: str, kind: object, raw: str) -> object:
    """An env (or command-line) string as the field's type, with an error that names the variable."""
    if kind is bool:
        word = raw.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise SystemExit(f"{env_name(name)} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")
    if kind is int or kind == OPTIONAL_INT:
        try:
            return int(raw)
        except ValueError:
            raise SystemExit(f"{env_name(name)} must be an integer, got {raw!r}") from None
    if kind is float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        return _positive(name, value, raw)
    return raw


def _from_override(name: str, kind: object, value: object) -> object:
    """An override as the field's type: a string is read as the env would be; 0/1 stand for a bool."""
    if isinstance(value, str) and kind is not str:
        return _from_text(name, kind, value)
    number = isinstance(value, int | float) and not isinstance(value, bool)  # True is an int to Python only
    if kind is bool and isinstance(value, int) and value in (0, 1):
        return bool(value)
    if kind is float and number:
        return _positive(name, float(value), value)  # type: ignore[arg-type]  # a number, checked above
    if kind in (int, OPTIONAL_INT) and number and isinstance(value, int):
        return value
    if (kind == OPTIONAL_INT and value is None) or (kind is str and isinstance(value, str)):
        return value
    raise TypeError(f"setting {name!r} must be of type {TYPE_NAMES[kind]}, got {value!r}")


def _positive(name: str, value: float, given: object) -> float:
    if not 0 < value < math.inf:
        raise SystemExit(f"{env_name(name)} must be a positive number, got {given!r}")
    return value


def describe() -> list[tuple[str, str, str]]:
    """(env var, default, type) for every setting: the README's config table is checked against it.

    A bool's default is shown as the env var is usually set: 1 or 0.
    """
    rows = []
    for f in fields(Settings):
        default = f.default
        if isinstance(default, bool):
            shown = "1" if default else "0"
        else:
            shown = "" if default in (None, "") else str(default)
        rows.append((env_name(f.name), shown, TYPE_NAMES[FIELD_TYPES[f.name]]))
    return rows
