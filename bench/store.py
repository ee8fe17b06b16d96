"""`python -m bench.store`: the platform's own access patterns on the store, at sizes of history.

For each size in --sizes (tickets of stored history), on a fresh database, indexed first by
`shared.mongo.ensure_indexes` as the services do: the tickets are seeded (documents shaped
by the workflow's own code, ~2 KB: bench/store_documents.py), two notifications a ticket
(in-app and email, as the notifier stores them) and a bare collection of as many ~1 KB
documents, with insert_many of 1,000 documents a call. The embedded store is then left to
settle (until its CPU is quiet: a bulk load leaves it compaction and garbage collection),
and every operation below is done 50 times untimed (JIT, caches). Then, every run, with
fresh random ids, one at a time (latency) and from --concurrency tasks (throughput) for the
writes:

1. command apply, the workflow's write path minus Kafka, by TicketStore itself: find_one by
   `_id`, find_one_and_update guarded by `version` ($set the state, $push the event and its
   id to `outbox_pending`), then update_one $pullAll once "published";
2. an email notification stored by NotificationStore.add (the notifier's deterministic id),
   then its delivery recorded (update_one by `_id`: $set, $inc, $push);
3. intake's lists, newest first, limit 50, the very finds its `Reads` makes (recorded from
   it: bench/store_finds.py): a ticket by call id, a customer's tickets, a queue (any status
   but closed), a customer's notifications; and `lookup_closed`, the closed tickets: almost
   all of history, the largest match to sort for the first 50 (a store that sorts the whole
   match in memory rather than walk the index in order can run out of heap on it: the
   embedded one did, at 100,000 tickets, before it learnt to; --no-closed-lookup skips it);
4. due work: the finds of the scheduler (due clocks) and of the outbox relay (events left
   pending), recorded from TicketStore, with how many documents they returned against how
   many the history holds for them (DUE_TICKETS, STUCK_OUTBOX);
5. raw baselines on the bare collection: find_one, insert_one, update_one by `_id`, and the
   three calls of (1) on it (`raw_apply`), to which each operation above is compared.

A timed loop does at most --ops operations (--throughput-ops at --concurrency), fewer (five
at least) when the pace of its three untimed warm-up operations says it would last longer
than --budget-s: slow queries are timed fewer times. Targets: command apply p50 at the
biggest size at most 1.5 times the smallest's; the p99 of every lookup but lookup_closed at
the biggest size at most 50 ms. Each query's plan (`explain`) is reported: COLLSCAN means
the store reads the whole collection for it.

The embedded store (mongo-java-server on H2, infra/store) is started on a free port in a
temporary folder and stopped at the end, unless --mongo names a running server. Every
database the bench makes is dropped. Medians of --runs; JSON to --out, figures named
`figure@size`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench.baselines import scratch_database
from bench.harness import exit_quietly_on_interrupt, new_parser, positive
from bench.report import build_report, print_table, write_json
from bench.stats import Figures, median_figures
from bench.store_documents import History
from bench.store_ops import (
    Workload,
    command_apply,
    due_work,
    lookups,
    notification_stored,
    raw_baselines,
)
from bench.store_seed import explain_plans, seed, settle
from infra.processes import free_ports
from infra.provision import STORE_POM
from infra.store import StoreServer
from shared.mongo import Database, ensure_indexes

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "store.json"
STORE_START_S = 120.0
WARM_UP_OPS = 50  # of each operation, untimed, before a size's first run
APPLY_GROWTH_TARGET = 1.5
LOOKUP_P99_TARGET_MS = 50.0
TARGET_LOOKUPS = (
    "lookup_call_id",
    "lookup_customer_tickets",
    "lookup_status",
    "lookup_customer_notifications",
)
# Each operation against the raw baseline doing the same calls on the bare collection.
BASELINE_OF = {
    "command_apply": "raw_apply",
    "notification_store": "raw_insert",
    "notification_outcome": "raw_update",
    **dict.fromkeys((*TARGET_LOOKUPS, "lookup_closed", "due_timers", "due_outbox"), "raw_find"),
}
BUILD_INFO = ("version", "gitVersion", "versionArray", "storageEngines", "modules")
SECTIONS = (
    ("seed_", "seeding, before run 1: insert_many of 1,000 documents a call"),
    ("command_apply", "1. command apply: find_one, find_one_and_update, update_one $pullAll"),
    ("notification_", "2. email notification: stored (insert), delivery recorded (update)"),
    ("lookup_", "3. intake's lists, newest first, limit 50; `returned`: documents a call"),
    ("due_", "4. due work: the scheduler's due clocks, the outbox relay's pending events"),
    ("raw_", "5. raw baselines on the bare collection of ~1 KB documents"),
    ("vs_raw_", "against the raw baseline: p50 / raw p50, ops/s / raw ops/s"),
    ("", "other"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = new_parser("python -m bench.store", __doc__)
    parser.add_argument(
        "--sizes", type=sizes, default=[10_000, 1_000_000], help="tickets of history: 10000,1000000"
    )
    parser.add_argument("--mongo", help="URL of a running MongoDB-wire server to measure instead")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--customers", type=positive, default=5000, help="whose tickets they are")
    parser.add_argument(
        "--open-tickets", type=positive, default=2000, help="the newest, not yet closed"
    )
    parser.add_argument("--ops", type=positive, default=300, help="most operations a loop, C=1")
    parser.add_argument(
        "--throughput-ops", type=positive, default=1000, help="most operations a loop at C"
    )
    parser.add_argument("--concurrency", type=positive, default=16, help="C, for throughput")
    parser.add_argument("--budget-s", type=float, default=10.0, help="about the longest loop")
    parser.add_argument(
        "--seed-concurrency", type=positive, default=2, help="insert_many calls in flight"
    )
    parser.add_argument("--store-heap", default="1g", help="the embedded store's -Xmx")
    parser.add_argument(
        "--no-closed-lookup",
        dest="closed_lookup",
        action="store_false",
        help="do not time listing the closed tickets (nearly all of history: see above)",
    )
    args = parser.parse_args(argv)
    args.kafka = None  # build_report reads it: this bench has none
    return args


def sizes(text: str) -> list[int]:
    values = sorted({positive(item) for item in text.split(",") if item.strip()})
    if not values:
        raise argparse.ArgumentTypeError("at least one size")
    return values


async def measure(args: argparse.Namespace, url: str, store_pid: int | None) -> dict[str, Any]:
    """Every size on a database of its own: seeded, settled, explained, warmed up, measured
    --runs times."""
    results: dict[str, Any] = {"runs": {}, "plans": {}}
    for size in args.sizes:
        async with scratch_database(url) as database:
            results.setdefault("server", await server_info(database, args.mongo))
            history = History(size, args.customers, args.open_tickets, datetime.now(UTC))
            work = Workload(
                database,
                history,
                args.ops,
                args.throughput_ops,
                args.concurrency,
                args.budget_s,
                args.closed_lookup,
            )
            await ensure_indexes(database)  # before the data, as the services start
            seeded = await seed(work, url, args.seed_concurrency) | await settle(store_pid)
            results["plans"][size] = await explain_plans(work)
            print(f"{size:,} tickets: warming up (JIT, caches), untimed", flush=True)
            await run(replace(work, ops=WARM_UP_OPS, throughput_ops=WARM_UP_OPS, budget_s=1.0))
            runs = results["runs"][size] = []
            for number in range(1, args.runs + 1):
                print(f"{size:,} tickets, run {number}: writes, lookups, due work, raw", flush=True)
                figures = {"load_1m_at_start": os.getloadavg()[0]} | await run(work)
                runs.append((seeded if number == 1 else {}) | figures | ratios(figures, args))
    return results


async def run(work: Workload) -> Figures:
    figures = await command_apply(work)
    figures |= await notification_stored(work)
    figures |= await lookups(work)
    figures |= await due_work(work)
    return figures | await raw_baselines(work)


def ratios(figures: Figures, args: argparse.Namespace) -> Figures:
    """Each operation's p50 and throughput against its raw baseline's."""
    found: Figures = {}
    for name, baseline in BASELINE_OF.items():
        if f"{name}_p50_ms" not in figures:  # lookup_closed with --no-closed-lookup
            continue
        found[f"vs_raw_{name}_p50"] = figures[f"{name}_p50_ms"] / figures[f"{baseline}_p50_ms"]
        rate, base_rate = (f"{n}_c{args.concurrency}_ops_per_s" for n in (name, baseline))
        if rate in figures and base_rate in figures:
            found[f"vs_raw_{name}_c{args.concurrency}_ops"] = figures[rate] / figures[base_rate]
    return found


async def server_info(database: Database, given: str | None) -> dict[str, Any]:
    """What was measured: buildInfo, and the embedded store's name from its pom."""
    info = await database.client.admin.command("buildInfo")
    if given:
        name = "given by --mongo"
    else:
        pom = STORE_POM.read_text()
        found = re.search(r"<artifactId>mongo-java-server</artifactId>\s*<version>([^<]+)<", pom)
        name = f"mongo-java-server {found.group(1) if found else '?'} on H2 (infra/store)"
    build_info = {key: info[key] for key in BUILD_INFO if key in info}
    return {"name": name, "version": info.get("version"), "buildInfo": build_info}


def targets(medians: dict[int, Figures]) -> dict[str, Any]:
    """Command apply p50 growth from the smallest size to the biggest; lookups' p99 there."""
    smallest, biggest = min(medians), max(medians)
    growth = medians[biggest]["command_apply_p50_ms"] / medians[smallest]["command_apply_p50_ms"]
    p99 = {name: medians[biggest][f"{name}_p99_ms"] for name in TARGET_LOOKUPS}
    return {
        "command_apply_p50_growth": {
            "sizes": [smallest, biggest],
            "value": growth,
            "at_most": APPLY_GROWTH_TARGET,
            "met": growth <= APPLY_GROWTH_TARGET,
        },
        "lookups_p99_ms": {
            "size": biggest,
            "value": max(p99.values()),
            "by_lookup": p99,
            "at_most": LOOKUP_P99_TARGET_MS,
            "met": max(p99.values()) <= LOOKUP_P99_TARGET_MS,
        },
    }


def report_results(
    args: argparse.Namespace, started_at: datetime, results: dict[str, Any]
) -> dict[str, Any]:
    """Print a table a size and the targets; the JSON report, figures named `name@size`."""
    by_size: dict[int, list[Figures]] = results["runs"]
    medians: dict[int, Figures] = {}
    for size, runs in by_size.items():
        medians[size] = median_figures(runs)
        print(f"\n===== {size:,} tickets of history =====")
        print_table({"runs": runs, "median": medians[size]}, SECTIONS)
        print("\nplans (explain):")
        for name, plan in results["plans"][size].items():
            print(f"  {name:<38}{plan}")
    flat = [
        {
            f"{name}@{size}": value
            for size, figures in run.items()
            for name, value in figures.items()
        }
        for run in _by_run(by_size)
    ]
    report = build_report("store", args, started_at, flat)
    report["parameters"]["servers"] = "given" if args.mongo else "started"
    report["server"] = results["server"]
    report["plans"] = {str(size): plans for size, plans in results["plans"].items()}
    report["targets"] = targets(medians)
    print_targets(report["targets"], results["server"])
    return report


def _by_run(by_size: dict[int, list[Figures]]) -> list[dict[int, Figures]]:
    """Run n of every size, together."""
    count = min(len(runs) for runs in by_size.values())  # every size has --runs
    return [
        {size: runs[n] for size, runs in by_size.items() if n < len(runs)} for n in range(count)
    ]


def print_targets(found: dict[str, Any], server: dict[str, Any]) -> None:
    growth, p99 = found["command_apply_p50_growth"], found["lookups_p99_ms"]
    smallest, biggest = growth["sizes"]
    print(f"\nserver: {server['name']}, version {server['version']}")
    print(
        f"command apply p50 at {biggest:,} / at {smallest:,}: {growth['value']:.2f} "
        f"(target <= {growth['at_most']}): {_verdict(growth['met'])}"
    )
    each = ", ".join(f"{name[len('lookup_') :]} {ms:.1f}" for name, ms in p99["by_lookup"].items())
    print(
        f"lookups p99 at {biggest:,}, ms: {each} (target <= {p99['at_most']:.0f}): "
        f"{_verdict(p99['met'])}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


@contextlib.contextmanager
def embedded_store(heap: str) -> Iterator[tuple[str, int | None]]:
    """The embedded store on a free port, its data in a temporary folder; stopped (by its
    pid) on the way out, the folder removed unless something failed (then its log is kept)."""
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-store-"))
    port = free_ports(1)[0]
    store = StoreServer(
        port, workdir / "data", workdir / "store.log", workdir / "store.pid", heap_max=heap
    )
    print(f"starting the embedded store on port {port} under {workdir}", flush=True)
    failed = True
    try:
        store.start()
        store.wait_ready(STORE_START_S)
        yield store.url, store.pid
        failed = False
    finally:
        store.stop()
        if failed:
            print(f"store stopped; its log is kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so that every `finally` runs


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started_at = datetime.now(UTC)
    given = contextlib.nullcontext((args.mongo, None))
    with given if args.mongo else embedded_store(args.store_heap) as (url, pid):
        results = asyncio.run(measure(args, url, pid))
    report = report_results(args, started_at, results)
    write_json(report, args.out)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    exit_quietly_on_interrupt(main)
