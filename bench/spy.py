"""Where the served request spends its GIL time: py-spy on the real server under wrk load.

    .venv/bin/pip install -e ".[bench]"         # py-spy
    .venv/bin/python bench/spy.py               # BAL with recording on, 8 threads
    .venv/bin/python bench/spy.py --record 0 --threads 2 --flow booking

Only samples taken while a thread holds the GIL are counted (`py-spy --gil`): under load the GIL is the
resource the requests queue for, so that is the time worth removing. Prints the top functions by own
and by inclusive share, and keeps py-spy's raw output under bench/results/.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen, procs, workloads  # noqa: E402
from bench.procs import AUTH_HEADER  # noqa: E402
from bench.report import RESULTS  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=int, default=1, help="MOCK_RECORD of the server (default 1)")
    parser.add_argument("--threads", type=int, default=procs.THREADS, help="MOCK_THREADS (default 8)")
    parser.add_argument("--flow", choices=("bal", "booking"), default="bal")
    parser.add_argument("--seconds", type=float, default=5.0, help="sampling time (default 5)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    spy = procs._venv_bin("py-spy")
    if not shutil.which(spy):
        print('py-spy is not installed: .venv/bin/pip install -e ".[bench]"', file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="rwg-spy-"))
    gen = loadgen.pick("auto", tmp)
    RESULTS.mkdir(exist_ok=True)
    raw = RESULTS / f"spy-{args.flow}-record{args.record}-t{args.threads}-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    with procs.sandbox(tmp, record=args.record, threads=args.threads) as server:
        work = workloads.discover(server.port)
        load = {
            "bal": lambda d: gen.bal("load", server.port, work.bal_body, AUTH_HEADER, d, 16),
            "booking": lambda d: gen.booking(
                "load", server.port, work.booking_slots, f"spy-{time.time_ns()}", AUTH_HEADER, d, 16
            ),
        }[args.flow]
        load(1.0)  # warm-up
        runner = threading.Thread(target=load, args=(args.seconds + 2,))
        runner.start()
        time.sleep(1.0)
        worker = max(server.pids())  # granian's worker, forked after the parent
        subprocess.run(
            [
                spy,
                "record",
                "--gil",
                "--nonblocking",
                "-p",
                str(worker),
                "-d",
                str(int(args.seconds)),
                "-r",
                "500",
                "-f",
                "raw",
                "-o",
                str(raw),
            ],
            check=False,
            capture_output=True,
        )
        runner.join()
    own, inclusive, total = summarise(raw)
    print(f"{total} samples with the GIL held ({raw.relative_to(procs.ROOT)})\n\nown time:")
    for name, count in own.most_common(args.top):
        print(f"  {count / total * 100:5.1f}%  {name}")
    print("\ninclusive:")
    for name, count in inclusive.most_common(args.top):
        print(f"  {count / total * 100:5.1f}%  {name}")
    return 0


def summarise(raw: Path) -> tuple[collections.Counter, collections.Counter, int]:
    """Own and inclusive sample counts per function from py-spy's raw (collapsed stacks) output."""
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame.split(" (")[0] or "(native)" for frame in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for name in set(frames):
            inclusive[name] += int(count)
    return own, inclusive, max(total, 1)


if __name__ == "__main__":
    raise SystemExit(main())
