"""`python -m bench.broadcast`: an outage declared over N customers, against raw baselines.

Each run declares a fresh incident over a fresh region of N customers (--customers), each with
one contact told in-app and by webhook, so 2N notifications. On the same Kafka and store, every
run measures:

1. the directory: N customers written straight into the `customers` collection with
   insert_many (seeding them through PUT /v1/customers would take far longer than the
   broadcast being measured), then two raw baselines: insert_many of 2N notification-sized
   documents into the store in batches (for storing), and aiohttp POSTs (the notifier's
   webhook client, chosen by bench/http_clients.py) to the webhook sink
   at the notifier's broadcast concurrency (for delivering). The sink is a minimal HTTP/1.1
   server in a process of its own on several ports; its own capacity, probed with
   pipelined requests over raw sockets, is reported too, to show it is not the limit;
2. intake idle: rounds of POST /v1/tickets (--tickets at --concurrency, then a 2 s pause),
   --idle-rounds of them, the platform quiet;
3. the broadcast: POST /v1/incidents (t0 = its 202), then following it as an operator would,
   by the incident's counts through GET /v1/incidents/{id} every --poll-s (the notifier keeps
   them as it goes; reading them is cheap), until they say all 2N are delivered; then the
   notifications are counted in the store once to confirm it (bench/incident.py), or when
   --timeout passes (partial figures then). Times are to the notifier's last `created_at`
   and `delivered_at` stamps (and as the bench saw them). Meanwhile, from the 202, intake
   takes the same rounds as idle until the broadcast is over (or --intake-rounds are done),
   so that its p99 during the broadcast spans all of it; both p99s come from hundreds to
   thousands of requests (one round is --tickets). The rounds are load the platform carries
   too (tickets to open, their notifications), as in a real outage; --intake-rounds 1
   measures the broadcast nearly alone. The sink counts webhook requests and distinct
   notification ids: the difference is duplicates.

Targets: all 2N stored and all delivered within 15 s of t0; intake p99 during the broadcast at
most twice idle. A small broadcast (--warm-up-customers) warms every path first. Before each run
the previous run's notifications, tickets, incidents, broadcasts and customers are deleted, so
that every run starts from the same data and runs are repeats of one another. The stack (unless
--kafka/--mongo name running servers no other Switchboard uses) and the services start once.
Results go to stdout and to JSON.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.broadcast_runs import TARGETS, measure
from bench.harness import (
    exit_quietly_on_interrupt,
    int_setting,
    new_parser,
    parse_with_servers,
    positive,
    run_benchmark,
)
from bench.report import build_report, publish
from bench.stats import Figures
from services.notifier.settings import NotifierSettings

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "broadcast.json"
OUTAGE = "the outage: customers in its region, notifications expected and counted"
RATES = "broadcast rates, and against the raw baselines"
SECTIONS = (
    ("customers", OUTAGE),
    ("notifications", OUTAGE),
    ("timed_out", OUTAGE),
    ("time_to_", "broadcast: from the 202 to the notifier's last created_at / delivered_at"),
    ("seen_", "broadcast: from the 202 until the bench saw all (poll resolution)"),
    ("stored_", RATES),
    ("delivered_", RATES),
    ("met_", "targets, 1 = met: all stored and delivered in 15 s, intake p99 at most 2x idle"),
    ("intake_", "intake: POST /v1/tickets idle, and during the broadcast"),
    ("raw_insert_", "raw MongoDB: insert_many of notification-sized documents in batches"),
    (
        "raw_sink_",
        "raw delivery: aiohttp POSTs to the sink at the notifier's broadcast concurrency",
    ),
    ("sink_", "the sink alone: pipelined POSTs over raw sockets"),
    ("webhooks_", "webhook requests the sink received for the broadcast"),
    ("poll_", "the bench's reads of the incident's counts through intake, every --poll-s"),
    ("count_", "the bench's counts of the notifications in the store, to confirm them"),
    ("seed_", "seeding the directory: insert_many of the customers"),
    ("settle_", "until every consumer group had caught up"),
    ("cpu_seed_", "CPU while seeding, % of one core"),
    ("cpu_raw_insert_", "CPU during the raw insert_many, % of one core"),
    ("cpu_sink_capacity_", "CPU during the sink's capacity probe, % of one core"),
    ("cpu_raw_sink_", "CPU during the raw aiohttp POSTs, % of one core"),
    ("cpu_intake_idle_", "CPU while intake is loaded idle, % of one core"),
    ("cpu_broadcast_", "CPU from the 202 until all delivered (or time-out), % of one core"),
    ("cpu_settle_", "CPU after the broadcast until the consumers caught up, % of one core"),
    ("", "other"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser("python -m bench.broadcast", __doc__)
    parser.add_argument("--customers", type=positive, default=100_000, help="N per outage")
    parser.add_argument("--tickets", type=positive, default=200, help="tickets per intake round")
    parser.add_argument("--concurrency", type=positive, default=4, help="tasks posting tickets")
    parser.add_argument(
        "--idle-rounds", type=positive, default=10, help="rounds of tickets with intake idle"
    )
    parser.add_argument(
        "--intake-rounds",
        type=positive,
        help="most rounds during the broadcast (default: until it is over)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for a broadcast")
    parser.add_argument(
        "--settle-timeout",
        type=float,
        help="seconds to wait for the consumers to catch up (default: --timeout)",
    )
    parser.add_argument(
        "--poll-s", type=float, default=0.5, help="pause between reads of the incident"
    )
    parser.add_argument(
        "--insert-batch", type=positive, default=1000, help="documents per raw insert_many"
    )
    parser.add_argument("--raw-posts", type=positive, default=3000, help="raw aiohttp POSTs")
    parser.add_argument("--sink-probe", type=positive, default=30_000, help="probe POSTs")
    parser.add_argument(
        "--sink-ports",
        type=positive,
        help="sink origins (default: twice what the notifier's per-origin limit needs)",
    )
    parser.add_argument(
        "--warm-up-customers", type=positive, default=200, help="of the warm-up broadcast"
    )
    args = parse_with_servers(parser, argv, DEFAULT_OUT)
    args.settle_timeout = args.settle_timeout or args.timeout
    # Recorded with the parameters: the notifier's settings the raw delivery baseline follows.
    args.broadcast_concurrency = int_setting(args, NotifierSettings, "broadcast_concurrency")
    per_origin = int_setting(args, NotifierSettings, "webhook_max_concurrent_per_endpoint")
    args.sink_ports = args.sink_ports or 2 * math.ceil(args.broadcast_concurrency / per_origin)
    return args


def targets(runs: list[Figures]) -> dict[str, Any]:
    """Each target's limit, the median of the runs that have the figure (a run that timed
    out has none), in how many runs it was met, and whether it was in most of them."""
    return {name: _target(name, limit, runs) for name, limit in TARGETS.items()}


def _target(name: str, limit: float, runs: list[Figures]) -> dict[str, Any]:
    figures = [run[name] for run in runs if name in run]
    met = sum(run[f"met_{name}"] == 1.0 for run in runs)
    return {
        "at_most": limit,
        "median": statistics.median(figures) if figures else None,
        "runs_met": met,
        "met": 2 * met > len(runs),
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started_at, runs = run_benchmark(args, lambda servers: measure(args, servers))
    report = build_report("broadcast", args, started_at, runs)
    report["targets"] = targets(runs)
    publish(report, SECTIONS, args.out)
    for name, target in report["targets"].items():
        verdict = "met" if target["met"] else "NOT met"
        met_in = f"{target['runs_met']} of {len(runs)} runs"
        print(f"target {name} <= {target['at_most']}: {verdict} ({met_in})")


if __name__ == "__main__":
    exit_quietly_on_interrupt(main)
