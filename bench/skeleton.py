"""`python -m bench.skeleton`: the walking skeleton's first figures beside raw baselines.

Every run measures, on the same Kafka and store, with the same closed-loop shape
(N operations from C tasks, each waiting for its answer before the next):

a. raw Kafka: aiokafka `send_and_wait`, idempotent producer (acks=all), ~500 B keyed JSON;
b. raw MongoDB: PyMongo async `insert_one` of ~1 KB documents into the store
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
the previous one are deleted (not with --keep-data), so that runs start from the same data
and are repeats of one another. Results go to stdout and to JSON.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.cpu import CpuMeter
from bench.harness import (
    exit_quietly_on_interrupt,
    new_parser,
    parse_with_servers,
    positive,
    run_benchmark,
)
from bench.report import build_report, publish
from bench.runs import measure

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "skeleton.json"
SECTIONS = (
    ("raw_kafka_", "a. raw Kafka: aiokafka send_and_wait, acks=all, idempotent, ~500 B"),
    ("raw_mongo_", "b. raw MongoDB: PyMongo insert_one into the store, ~1 KB"),
    ("intake_", "c. intake: POST /v1/tickets answered 202"),
    ("drain", "c. drain: first POST until every notification of (c) is stored"),
    ("pipeline_", "c. drain: first POST until every notification of (c) is stored"),
    ("settle_", "c/d. then until every consumer group has caught up (timeline, deliveries)"),
    ("e2e_", "d. end to end: POST sent until its notification is stored"),
    ("lookup_", "store lookups on the notifications collection"),
    ("notifications_", "store lookups on the notifications collection"),
    ("cpu_raw_kafka_", "CPU during (a), % of one core"),
    ("cpu_raw_mongo_", "CPU during (b), % of one core"),
    ("cpu_accept_", "CPU while (c) posts, % of one core"),
    ("cpu_drain_", "CPU while (c) drains, % of one core"),
    ("cpu_settle_", "CPU after the drain until the consumers caught up, % of one core"),
    ("cpu_e2e_", "CPU during (d), % of one core"),
    ("cpu_idle_", "CPU with no traffic for a few seconds after (d), % of one core"),
    ("", "other"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser("python -m bench.skeleton", __doc__)
    parser.add_argument("--tickets", type=positive, default=200, help="tickets per run for c")
    parser.add_argument(
        "--raw-count", type=positive, default=2000, help="messages (a) and documents (b) per run"
    )
    parser.add_argument("--concurrency", type=positive, default=16, help="C tasks for a, b, c")
    parser.add_argument("--e2e-tickets", type=positive, default=60, help="tickets for d")
    parser.add_argument("--e2e-concurrency", type=positive, default=1, help="tasks for d")
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep earlier runs' tickets and notifications (shows the slow-down as they grow)",
    )
    return parse_with_servers(parser, argv, DEFAULT_OUT)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started_at, runs = run_benchmark(
        args, lambda servers: measure(args, servers, CpuMeter(servers.pids))
    )
    report = build_report("skeleton", args, started_at, runs)
    publish(report, SECTIONS, args.out)


if __name__ == "__main__":
    exit_quietly_on_interrupt(main)
