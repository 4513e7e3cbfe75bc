"""Scenarios: named sets of fault rules in fixtures/scenarios/<name>.json."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from marshmallow import ValidationError

from ..config import resolve_path
from .engine import FaultEngine, RuleError
from .rules import Rule, RuleSchema, cap_errors

SCENARIOS_DIR = "fixtures/scenarios"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; `status` is the HTTP answer (400 or 404)."""

    def __init__(self, status: int, message: str, errors: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def directory() -> Path:
    """Where scenario files live (relative to the working directory, else the source checkout)."""
    return resolve_path(SCENARIOS_DIR)


def available() -> list[dict]:
    """Every scenario file: name, description and how many rules it adds."""
    out = []
    for path in sorted(directory().glob("*.json")):
        if not NAME.match(path.stem):
            continue
        try:
            description, rules = _parse(path.stem, path.read_bytes())
        except ScenarioError as exc:
            out.append({"name": path.stem, "description": "", "rules": 0, "error": exc.message})
            continue
        out.append({"name": path.stem, "description": description, "rules": len(rules)})
    return out


def read(name: str) -> tuple[str, list[dict]]:
    """(description, raw rules) of one scenario; ScenarioError when the name or the file is bad."""
    if not NAME.match(name or ""):
        raise ScenarioError(400, f"bad scenario name {name!r}: letters, digits, '-' and '_' only, at most 64")
    path = directory() / f"{name}.json"
    if not path.is_file():
        names = ", ".join(s["name"] for s in available()) or "none"
        raise ScenarioError(404, f"no scenario {name!r} in {SCENARIOS_DIR}/; available: {names}")
    return _parse(name, path.read_bytes())


def load(engine: FaultEngine, name: str, now: int) -> tuple[str, list[Rule]]:
    """Add a scenario's rules to the engine, all or none; (description, rules added)."""
    description, raw_rules = read(name)
    loaded, errors = [], {}
    schema = RuleSchema()
    for index, raw in enumerate(raw_rules):
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            errors[str(index)] = exc.messages
            continue
        caps = cap_errors(data, engine.max_hold_ms)
        if caps:
            errors[str(index)] = caps
        loaded.append(data)
    if errors:
        raise ScenarioError(400, f"scenario {name!r} has invalid rules: {_summary(errors)}", {"rules": errors})
    try:
        return description, engine.add_all(loaded, now, source=f"scenario:{name}")
    except RuleError as exc:
        raise ScenarioError(409, f"scenario {name!r}: {exc}", {"rules": exc.errors}) from None


def _parse(name: str, raw: bytes) -> tuple[str, list]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ScenarioError(400, f"scenario {name!r} is not valid JSON: {exc}") from None
    if isinstance(doc, list):
        return "", doc
    if isinstance(doc, dict) and isinstance(doc.get("rules"), list):
        return str(doc.get("description", "")), doc["rules"]
    raise ScenarioError(400, f'scenario {name!r} must be a list of rules or {{"description", "rules": [...]}}')


def _summary(errors: dict) -> str:
    parts: list[str] = []
    for index, messages in errors.items():
        if isinstance(messages, dict):
            parts.extend(
                f"rule {index} {key}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
                for key, value in messages.items()
            )
        else:
            parts.append(f"rule {index}: {messages}")
    return "; ".join(parts)
