"""CLI subcommands of the recorder: `rwg-sandbox replay FILE --target URL | --serve`."""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import resolve_path


def register(subcommands) -> None:
    """Add the `replay` subcommand to the `rwg-sandbox` parser."""
    replay = subcommands.add_parser(
        "replay",
        help="replay a recording against a server, or serve it as a mock",
        description="Re-send the recorded /v3 requests of FILE in order to a booking server and diff the "
        "answers (booking ids mapped, volatile fields ignored; exit 0 only when all match), or "
        "serve FILE as a mock that answers from the recording. The recording's markers (resets, clock "
        "changes, fault rules, settings, merchant decisions made between the exchanges) are made again "
        "on the target through its /_admin API, in their place.",
    )
    replay.add_argument(
        "file", metavar="FILE", help="recording: a JSONL journal (e.g. recordings/session-....jsonl) or a HAR export"
    )
    mode = replay.add_mutually_exclusive_group(required=True)
    mode.add_argument("--target", metavar="URL", help="base URL of the server to replay against")
    mode.add_argument("--serve", action="store_true", help="serve FILE as a mock (same as MOCK_REPLAY=FILE serve)")
    replay.add_argument(
        "--basic-auth",
        metavar="USER:PASS",
        default="",
        help="HTTP Basic credentials for the target (recordings never hold them)",
    )
    replay.add_argument(
        "--ignore",
        metavar="FIELD",
        action="append",
        default=[],
        help="another response field to ignore when comparing (repeatable)",
    )
    replay.add_argument(
        "--strict", action="store_true", help="also compare free text (description, message), ignored by default"
    )
    replay.add_argument(
        "--reset",
        action="store_true",
        help="target is an rwg-sandbox: POST /_admin/reset before replaying, and warn when its "
        "slots are anchored to another day than the recording's",
    )
    replay.add_argument(
        "--no-markers",
        action="store_true",
        help="only report the recording's markers, do not make them again on the target",
    )
    replay.add_argument(
        "--skip-faulted",
        action="store_true",
        help="leave out the exchanges a fault changed (counted), and the fault rules' markers",
    )
    replay.add_argument("--admin-token", metavar="TOKEN", default="", help="bearer token for the target's /_admin")
    replay.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer (default 10)")
    replay.add_argument("--quiet", action="store_true", help="print only mismatches and the summary")
    replay.add_argument("--port", metavar="PORT", help="with --serve: port to listen on [MOCK_PORT]")
    replay.epilog = (
        "Exit status: 0 when every answer matches, 1 when one differs, 2 when nothing could be "
        "checked: the file is missing, empty or holds no answered /v3 exchange, or the target cannot "
        "be reached or reset."
    )
    replay.set_defaults(handler=run)


def run(args) -> int:
    """Handler of `rwg-sandbox replay`."""
    path = resolve_path(args.file)
    if not path.is_file():
        print(f"no such recording: {args.file}", file=sys.stderr)
        return 2
    if args.serve:
        return _serve(path, args)
    return _against(path, args)


def _serve(path: Path, args) -> int:
    from .. import create_app
    from ..config import Settings
    from ..serve import serve

    overrides = {"replay": str(path), **({"port": args.port} if args.port else {})}
    serve(create_app, Settings.load(None, **overrides))
    return 0


def _against(path: Path, args) -> int:
    from . import replay_target
    from .replay_mock import UnusableRecording, load_recording

    try:
        recording = load_recording(path)
    except UnusableRecording as exc:  # checking nothing must not pass in CI
        print(f"nothing to check: {path}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if recording.skipped:
        print(f"warning: {path}: {recording.skipped}", file=sys.stderr)
    target = replay_target.Target(args.target, args.basic_auth, args.admin_token, args.timeout)
    volatile = (frozenset() if args.strict else replay_target.DEFAULT_VOLATILE) | frozenset(args.ignore)
    if args.reset:
        try:
            warning = replay_target.reset_sandbox(target, recording.records)
        except (OSError, RuntimeError, ValueError) as exc:
            print(f"could not reset the target sandbox: {exc}", file=sys.stderr)
            return 2
        if warning:
            print(f"warning: {warning}", file=sys.stderr)

    def show(outcome) -> None:
        recorded, actual = outcome.status
        if outcome.matched:
            if not args.quiet:
                print(f"ok    #{outcome.seq} {outcome.rpc} {actual}")
            return
        print(f"DIFF  #{outcome.seq} {outcome.rpc} recorded {recorded}, target {actual}")
        print(outcome.error or outcome.diff)

    def show_marker(marked) -> None:
        if marked.applied and not marked.note:
            if not args.quiet:
                print(f"mark  #{marked.seq} {marked.kind}: {marked.summary}")
            return
        print(f"mark  #{marked.seq} {marked.kind}: {marked.summary} ({marked.note})")

    print(f"replaying {path} against {target.base_url}")
    try:
        report = replay_target.replay(
            recording,
            target,
            volatile,
            on_outcome=show,
            apply_markers=not args.no_markers,
            skip_faulted=args.skip_faulted,
            on_marker=show_marker,
        )
    except replay_target.TargetUnreachable as exc:
        print(f"target not reachable: {exc}", file=sys.stderr)
        return 2
    differ = sum(1 for o in report.outcomes if not o.matched)
    skipped = f", {report.skipped} skipped (no recorded answer)" if report.skipped else ""
    faulted = f", {report.faulted} faulted skipped" if report.faulted else ""
    print(f"{len(report.outcomes)} exchanges: {len(report.outcomes) - differ} match, {differ} differ{skipped}{faulted}")
    if report.markers:
        applied = sum(1 for m in report.markers if m.applied)
        count = len(report.markers)
        print(f"{count} marker{'s' if count != 1 else ''}: {applied} applied, {count - applied} not applied")
    if report.id_map:
        mapped = sum(1 for k, v in report.id_map.items() if k != v)
        print(f"booking ids learned: {len(report.id_map)} ({mapped} differ from the recording)")
    return 0 if report.ok else 1
