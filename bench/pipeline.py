"""`python -m bench.pipeline`: a sustained ticket rate through the whole pipeline, open loop.

Each run offers --rate tickets per second for --duration seconds to POST /v1/tickets, on a
fixed schedule whatever intake answers (open loop: a slow answer does not slow the offer, and
latencies count from the scheduled moment, so queueing shows). The client is aiohttp, light
enough that the load generator is not what is measured. On the same Kafka and store, every run
measures:

a. raw baselines: aiokafka `send_and_wait` acks=all and PyMongo `insert_one`, as in the
   skeleton bench, so the figures below can be read against the machine of the day;
b. intake alone, closed loop: --intake-count POSTs from --concurrency tasks, each waiting for
   its 202 before the next (tickets/s, p50/p99, and the ratio to raw Kafka), twice: with the
   workflow and the notifier processing the tickets as they arrive, and with both paused
   (SIGSTOP) so the cores serve intake, Kafka and the store only, as when intake has machines
   of its own; each time until the pipeline has caught up. Then intake under the open-loop
   load: accepted/s, p50/p99;
c. the pipeline: for each ticket, POST scheduled → its in-app notification stored (the
   notifier's `created_at`), p50/p99/max, and tickets whose notification never came;
d. the backlog: the Switchboard consumer groups' lag, sampled every second during the load
   (its maximum and its value at the end of the load), then the seconds from the end of the
   load until every group has caught up.

Targets: intake alone >= 0.25x raw Kafka with p99 <= 50 ms at concurrency 16 (judged both
ways: with the consumers running and paused); at a sustained
200 tickets/s for 60 s, notification p99 <= 250 ms and lag back to zero within 5 s of the load
ending. Before each run the previous run's tickets and
notifications are deleted, so runs are repeats of one another.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import (
    exit_quietly_on_interrupt,
    new_parser,
    parse_with_servers,
    positive,
    run_benchmark,
)
from bench.pipeline_runs import TARGETS, measure
from bench.report import build_report, publish
from bench.stats import Figures

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "pipeline.json"
SECTIONS = (
    ("raw_", "a. raw baselines on the same Kafka and store"),
    ("c_intake_", "b. intake alone, closed loop at --concurrency"),
    ("cpu_c_intake_", "b. intake alone: CPU, % of one core"),
    ("i_intake_", "b. intake alone, workflow and notifier paused"),
    ("cpu_i_intake_", "b. intake alone, workflow and notifier paused: CPU, % of one core"),
    ("offered_", "b. intake under the offered load"),
    ("intake_", "b. intake under the offered load"),
    ("notification_", "c. POST scheduled -> in-app notification stored"),
    ("missing_", "c. POST scheduled -> in-app notification stored"),
    ("lag_", "d. consumer lag of the Switchboard groups"),
    ("cpu_", "CPU during the load, % of one core"),
    ("", "other"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser("python -m bench.pipeline", __doc__)
    parser.add_argument("--rate", type=positive, default=200, help="tickets offered per second")
    parser.add_argument("--duration", type=positive, default=60, help="seconds of load per run")
    parser.add_argument(
        "--connections", type=positive, default=64, help="HTTP connections of the load client"
    )
    parser.add_argument(
        "--raw-count", type=positive, default=2000, help="operations of each raw baseline"
    )
    parser.add_argument(
        "--intake-count", type=positive, default=2000, help="POSTs of the closed-loop phase"
    )
    parser.add_argument(
        "--concurrency", type=positive, default=16, help="tasks of the closed-loop phases"
    )
    return parse_with_servers(parser, argv, DEFAULT_OUT)


def targets(runs: list[Figures]) -> dict[str, Any]:
    """Each target with the median figure it is judged on and whether that median meets it."""
    targets = {}
    for name, limit, at_most in TARGETS:
        median = statistics.median(run[name] for run in runs)
        met = median <= limit if at_most else median >= limit
        targets[name] = {"limit": limit, "at_most": at_most, "median": median, "met": met}
    return targets


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started_at, runs = run_benchmark(args, lambda servers: measure(args, servers))
    report = build_report("pipeline", args, started_at, runs)
    report["targets"] = targets(runs)
    publish(report, SECTIONS, args.out)


if __name__ == "__main__":
    exit_quietly_on_interrupt(main)
