"""Canonical request bodies for replay matching, and readable differences between two of them."""

from __future__ import annotations

import orjson

from ..api.common import snake_case as snake


def ignore_set(spec: str) -> frozenset[str]:
    """`MOCK_REPLAY_IGNORE` ("a,b.c") as a set of snake_case names or dotted paths."""
    return frozenset(
        snake(part.strip()) if "." not in part else ".".join(snake(p) for p in part.strip().split("."))
        for part in spec.split(",")
        if part.strip()
    )


def canonical(value, ignore: frozenset[str] = frozenset(), path: str = ""):
    """Keys in snake_case, int64 numbers as strings, ignored fields gone (dict order is irrelevant)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = snake(key) if isinstance(key, str) else str(key)
            dotted = f"{path}.{name}" if path else name
            if name in ignore or dotted in ignore:
                continue
            out[name] = canonical(item, ignore, dotted)
        return out
    if isinstance(value, list):
        return [canonical(item, ignore, path) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # int64 travels as a string or a number: both mean the same
    return value


def key_of(rpc: str, body, ignore: frozenset[str]) -> bytes:
    """The lookup key of a request: its RPC name and canonical body, encoded with sorted keys."""
    return rpc.encode() + b" " + orjson.dumps(canonical(body, ignore), option=orjson.OPT_SORT_KEYS)


def flatten(value, prefix: str = "") -> dict[str, object]:
    """{"a": {"b": [1]}} -> {"a.b[0]": 1}: leaves by path, for scoring and describing differences."""
    if isinstance(value, dict):
        if not value:
            return {prefix: {}} if prefix else {}
        out = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        if not value:
            return {prefix: []}
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def similarity(a: dict[str, object], b: dict[str, object]) -> float:
    """Share of leaves (path and value) the two flattened bodies have in common: 1.0 is identical."""
    keys = a.keys() | b.keys()
    if not keys:
        return 1.0
    same = sum(1 for k in keys if k in a and k in b and a[k] == b[k])
    return same / len(keys)


def differences(recorded: dict[str, object], sent: dict[str, object], limit: int = 10) -> list[str]:
    """Human-readable differences, recorded side first: `slot.start_sec: recorded "1" but sent "2"`."""
    out = []
    for key in sorted(recorded.keys() | sent.keys()):
        if key not in sent:
            out.append(f"{key or '(body)'}: recorded {_show(recorded[key])} but not sent")
        elif key not in recorded:
            out.append(f"{key or '(body)'}: sent {_show(sent[key])} but not in the recording")
        elif recorded[key] != sent[key]:
            out.append(f"{key or '(body)'}: recorded {_show(recorded[key])} but sent {_show(sent[key])}")
        if len(out) >= limit:
            out.append("...")
            break
    return out


def _show(value) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."
