"""`rwg-sandbox state save|load`: a running sandbox's state snapshot (GET/PUT /_admin/state) to a file and back."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

TIMEOUT_S = 60.0


def register(subcommands) -> None:
    """Add the `state` subcommands to the `rwg-sandbox` parser."""
    state = subcommands.add_parser("state", help="save a sandbox's state to a file, or load it back").add_subparsers(
        title="state commands", metavar="ACTION"
    )
    save = state.add_parser(
        "save",
        help="write a tenant's state snapshot (GET /_admin/state) to a file or stdout",
        description="Save a running sandbox's state: bookings, idempotency tokens, the id sequence, marketing "
        "preferences, the clock and the fault rules, as one JSON document.",
    )
    _common(save)
    save.add_argument("--out", metavar="FILE", help="write here (default: stdout)")
    save.set_defaults(handler=_save)
    load = state.add_parser(
        "load",
        help="replace a tenant's state with a snapshot (PUT /_admin/state)",
        description="Restore a saved state document into a running sandbox, whole (a bad document changes nothing).",
    )
    _common(load)
    load.add_argument("file", metavar="FILE", help="a document written by `state save` ('-': stdin)")
    load.set_defaults(handler=_load)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="base URL of the sandbox, e.g. http://127.0.0.1:8080")
    parser.add_argument("--tenant", default=None, help="tenant name (default: the default tenant)")
    parser.add_argument(
        "--token",
        default=None,
        help="bearer token of /_admin (default: MOCK_ADMIN_TOKEN from the environment)",
    )


def state_url(base: str, tenant: str | None) -> str:
    """Where a tenant's state is: /_admin/state, or /t/<tenant>/_admin/state."""
    prefix = "" if tenant in (None, "", "default") else f"/t/{tenant}"
    return f"{base.rstrip('/')}{prefix}/_admin/state"


def _request(args, method: str, body: bytes | None = None) -> tuple[int, bytes]:
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    token = args.token if args.token is not None else os.environ.get("MOCK_ADMIN_TOKEN", "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(state_url(args.url, args.tenant), data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _call(args, action: str, method: str, body: bytes | None = None) -> bytes | None:
    """The server's 200 answer; None after saying on stderr why there is none (unreachable, or a 4xx/5xx)."""
    try:
        status, answer = _request(args, method, body)
    except (urllib.error.URLError, OSError) as exc:
        print(f"state {action}: cannot reach {args.url}: {exc}", file=sys.stderr)
        return None
    if status != 200:
        print(f"state {action}: {status}: {answer.decode(errors='replace')}", file=sys.stderr)
        return None
    return answer


def _save(args) -> int:
    body = _call(args, "save", "GET")
    if body is None:
        return 1
    if args.out:
        Path(args.out).write_bytes(body + b"\n")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(body.decode() + "\n")
    return 0


def _load(args) -> int:
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"state load: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if _call(args, "load", "PUT", data) is None:
        return 1
    print(f"restored {args.file} into {state_url(args.url, args.tenant)}", file=sys.stderr)
    return 0
