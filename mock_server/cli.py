"""`rwg-sandbox`: serve the sandbox, generate fixtures, export feeds (and more, per subcommand)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Each serve flag mirrors one MOCK_* variable; a flag given is an override of that setting (flags win).
SERVE_FLAGS = (
    ("--host", "MOCK_HOST", "address to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)"),
    ("--port", "MOCK_PORT", "port to listen on (default 8080)"),
    ("--seed", "MOCK_SEED", "seed of the runtime RNG (fault dice); fixtures come from --fixture"),
    ("--fixture", "MOCK_FIXTURE", "fixture file (default fixtures/default.json)"),
    ("--db-path", "MOCK_DB_PATH", "persist bookings here (survives kill -9 and restart)"),
    ("--clock", "MOCK_CLOCK", "freeze the sandbox clock at this epoch second"),
    ("--basic-auth", "MOCK_BASIC_AUTH", "user:pass required as HTTP Basic auth on /v3"),
    ("--admin-token", "MOCK_ADMIN_TOKEN", "bearer token required on /_admin"),
    ("--scenario", "MOCK_SCENARIO", "fault scenario from fixtures/scenarios/ to load at start-up"),
    ("--recording", "MOCK_RECORDING", "name of the recording (recordings/<name>.jsonl)"),
    ("--server", "MOCK_SERVER", "WSGI server: granian (default), waitress or werkzeug"),
    ("--threads", "MOCK_THREADS", "worker threads (default 8)"),
    ("--notify-url", "MOCK_NOTIFY_URL", "send booking notifications (Maps Booking API) to this base URL"),
    ("--partner-id", "MOCK_PARTNER_ID", "partner id in notification paths (default sandbox-partner)"),
)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return args.handler(args) or 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rwg-sandbox",
        description="Local stateful sandbox of Google's Actions Center Booking Server API v3.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="serve the sandbox over HTTP",
        description="Serve the Booking Server v3 sandbox. Every flag mirrors a MOCK_* "
        "environment variable; flags win over the environment.",
    )
    for flag, env, text in SERVE_FLAGS:
        serve.add_argument(flag, dest=env, metavar=env.removeprefix("MOCK_"), help=f"{text} [{env}]")
    serve.set_defaults(handler=_serve)

    fixtures_parser = sub.add_parser("fixtures", help="fixture files", description="Fixture files.")
    fixtures_parser.set_defaults(handler=_usage_of(fixtures_parser))  # no ACTION: this command's usage
    fixtures = fixtures_parser.add_subparsers(title="fixture commands", metavar="ACTION")
    gen = fixtures.add_parser(
        "generate",
        help="generate a fixture file from a seed",
        description="Generate merchants, services and slots with a seeded Faker. "
        "The same seed and size give a byte-identical file.",
    )
    gen.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    gen.add_argument("--merchants", type=int, default=12, help="number of merchants (default 12)")
    gen.add_argument("--days", type=int, default=14, help="days of slots after today (default 14)")
    # Required: a default would silently overwrite the committed fixtures/default.json.
    gen.add_argument("--out", required=True, help="output file, or - for stdout")
    gen.set_defaults(handler=_generate)

    feeds_parser = sub.add_parser("feeds", help="Actions Center feeds", description="Actions Center feeds.")
    feeds_parser.set_defaults(handler=_usage_of(feeds_parser))
    feeds = feeds_parser.add_subparsers(title="feed commands", metavar="ACTION")
    export = feeds.add_parser(
        "export",
        help="write merchants.json, services.json and availability.json",
        description="Write the three feed files for the fixture, as a fresh sandbox would serve them under /feeds.",
    )
    export.add_argument("directory", help="folder to write the feed files into")
    export.add_argument("--fixture", default=None, help="fixture file (default: MOCK_FIXTURE or the default)")
    export.set_defaults(handler=_export_feeds)

    for register in _extensions():
        register(sub)
    return parser


def _usage_of(parser: argparse.ArgumentParser):
    """A handler for a command given without its ACTION: print that command's help, exit 2."""

    def usage(args) -> int:
        parser.print_help()
        return 2

    return usage


def _extensions():
    """Subcommands contributed by other packages (e.g. recording replay, state snapshots)."""
    from . import state_cli
    from .recording import cli as recording_cli

    return [recording_cli.register, state_cli.register]


def _serve(args) -> int:
    from . import create_app
    from .config import Settings
    from .serve import serve

    # The flags' strings are read as their env var would be ("--port x": "MOCK_PORT must be an integer").
    overrides = {
        env.removeprefix("MOCK_").lower(): getattr(args, env)
        for _, env, _ in SERVE_FLAGS
        if getattr(args, env) is not None
    }
    serve(create_app, Settings.load(None, **overrides))
    return 0


def _generate(args) -> int:
    from .fixturegen import FixtureSize, generate, render, write

    if args.merchants < 1 or args.days < 1:
        print("--merchants and --days must be at least 1", file=sys.stderr)
        return 2
    tables = generate(args.seed, FixtureSize(merchants=args.merchants, days=args.days))
    summary = (
        f"{len(tables['merchants'])} merchants, {len(tables['services'])} services, "
        f"{len(tables['slots'])} slots (seed {args.seed})"
    )
    if args.out == "-":
        sys.stdout.write(render(tables))
        print(f"wrote stdout: {summary}", file=sys.stderr)  # stdout holds the fixture alone
        return 0
    write(tables, args.out)
    print(f"wrote {args.out}: {summary}")
    return 0


def _export_feeds(args) -> int:
    from . import create_app

    overrides = {"fixture": args.fixture} if args.fixture else {}
    client = create_app(overrides).test_client()
    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("merchants", "services", "availability"):
        body = client.get(f"/feeds/{name}.json").get_json()
        (out / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out / f'{name}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
