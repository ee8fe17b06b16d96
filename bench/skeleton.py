"""`python -m bench.skeleton`: the walking skeleton's first figures beside raw baselines.

Every run measures, on the same Kafka and FerretDB, with the same closed-loop shape
(N operations from C tasks, each waiting for its answer before the next):

a. raw Kafka: aiokafka `send_and_wait`, idempotent producer (acks=all), ~500 B keyed JSON;
b. raw MongoDB: PyMongo async `insert_one` of ~1 KB documents into FerretDB
   (a and b do more operations than c, --raw-count, so that they last a second or more);
c. intake: POST /v1/tickets (202 = acknowledged by Kafka), and the ratio to (a); then the
   drain: until every one of those tickets' notifications is stored; then until every
   Switchboard consumer group has caught up (what follows the notification: delivery
   events on the ticket's timeline), so that (d) and the next run start from quiet;
d. end to end: from POST sent to the in-app notification stored, one ticket at a time by
   default, so it measures latency rather than queueing. Two figures: `e2e` as the client
   sees it, polling by `_id` every 10 ms, and `e2e_stamped` by the notifier's `created_at`.

The stack (unless --kafka/--mongo name running servers that no other Switchboard uses:
topic names and consumer groups are fixed) and the three services start once; each run
uses a fresh customer with no webhook. Before each run the tickets and notifications of
the previous one are deleted (not with --keep-data): on FerretDB every query not by `_id`
scans its whole collection, so the platform slows down as they grow, and runs on ever
more data would not be repeats of one another. Results go to stdout and to JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from pymongo import MongoClient

from bench.cpu import CpuMeter
from bench.report import build_report, print_table, write_json
from bench.runs import measure
from infra.services import Platform
from infra.stack import start_local_stack
from shared.mongo import Document

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "skeleton.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.skeleton",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=_positive, default=3, help="runs; medians are quoted")
    parser.add_argument("--tickets", type=_positive, default=200, help="tickets per run for c")
    parser.add_argument(
        "--raw-count", type=_positive, default=2000, help="messages (a) and documents (b) per run"
    )
    parser.add_argument("--concurrency", type=_positive, default=16, help="C tasks for a, b, c")
    parser.add_argument("--e2e-tickets", type=_positive, default=60, help="tickets for d")
    parser.add_argument("--e2e-concurrency", type=_positive, default=1, help="tasks for d")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep earlier runs' tickets and notifications (shows the slow-down as they grow)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--kafka", help="bootstrap of a running Kafka (with --mongo)")
    parser.add_argument("--mongo", help="URL of a running MongoDB/FerretDB (with --kafka)")
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the services, e.g. SWITCHBOARD_LOG_LEVEL=WARNING",
    )
    args = parser.parse_args(argv)
    if bool(args.kafka) != bool(args.mongo):
        parser.error("--kafka and --mongo go together")
    if any("=" not in item for item in args.service_env):
        parser.error("--service-env takes NAME=VALUE")
    return args


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so every `finally` stops what it started


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # The first sends to the freshly created bench topic wait for its metadata and leaders,
    # and aiokafka logs an error or warning for each retry; a send that really fails raises.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started_at = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    finished = False
    with contextlib.ExitStack() as resources:
        # Runs last: the logs are kept when something failed, to say why.
        resources.callback(lambda: _clean_up(workdir, keep=not finished))
        kafka_bootstrap, mongo_url, pids = _servers(args, workdir, resources)
        running = _platform(args, kafka_bootstrap, mongo_url, workdir, resources)
        pids |= {name: s.process.pid for name, s in running.services.items() if s.process.pid}
        runs = asyncio.run(measure(args, kafka_bootstrap, mongo_url, running, CpuMeter(pids)))
        finished = True
    report = build_report(args, started_at, runs, external=bool(args.kafka))
    print_table(report)
    write_json(report, args.out)
    print(f"\nwritten to {args.out}")


def _servers(
    args: argparse.Namespace, workdir: Path, resources: contextlib.ExitStack
) -> tuple[str, str, dict[str, int]]:
    """Kafka and MongoDB endpoints, and the pids of the processes to meter."""
    if args.kafka:
        return args.kafka, args.mongo, {"bench": os.getpid()}
    print(f"starting Kafka and FerretDB under {workdir}", flush=True)
    stack = start_local_stack(workdir / "stack")
    resources.callback(stack.stop)
    started = {"kafka": stack.kafka.pid, "ferretdb": stack.ferretdb.pid}
    pids = {name: pid for name, pid in started.items() if pid is not None}
    return stack.kafka_bootstrap, stack.mongo_url, {"bench": os.getpid(), **pids}


def _platform(
    args: argparse.Namespace,
    kafka_bootstrap: str,
    mongo_url: str,
    workdir: Path,
    resources: contextlib.ExitStack,
) -> Platform:
    """The three services on a database of their own, stopped when `resources` closes."""
    running = Platform(
        kafka_bootstrap,
        mongo_url,
        log_dir=workdir / "logs",
        database=f"bench_{uuid.uuid4().hex[:8]}",
        extra_env=dict(item.split("=", 1) for item in args.service_env),
    )
    if args.mongo:  # leave nothing behind in a server this run did not start
        resources.callback(_drop_database, mongo_url, running.database)
    resources.callback(running.stop)
    print("starting workflow, notifier and intake", flush=True)
    running.start()
    return running


def _drop_database(mongo_url: str, name: str) -> None:
    client: MongoClient[Document] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    with client:
        client.drop_database(name)


def _clean_up(workdir: Path, keep: bool) -> None:
    if keep:
        print(f"servers stopped; their logs are kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)  # everything started was stopped on the way out
