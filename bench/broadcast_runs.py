"""One run of the outage-broadcast benchmark: seed a region, raw baselines, idle intake, then
the broadcast with intake under the same load; and the targets it is held to."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
import uuid
from dataclasses import dataclass

from bench import baselines
from bench.cpu import CpuMeter
from bench.directory import CHANNELS_PER_CUSTOMER, forget_region, seed_region
from bench.harness import Servers, Session, session
from bench.incident import IncidentNotifications, Progress, declare_outage
from bench.settle import NotSettled, wait_until_consumed
from bench.sink import Received, WebhookSink, aiohttp_posts, capacity, running_sink, sample_body
from bench.stats import Figures, Sample
from bench.tickets import post_load
from shared.mongo import Collections

# Figure -> the most it may be for the target to be met.
TARGETS = {"time_to_stored_s": 15.0, "time_to_delivered_s": 15.0, "intake_p99_vs_idle": 2.0}
PIPELINE_DEPTH = 16  # requests in flight per connection when probing the sink's capacity
ROUND_PAUSE_S = 2.0  # between rounds of intake load during the broadcast
# What one run leaves behind, deleted before the next (customers: by the run's region).
RUN_COLLECTIONS = (
    Collections.NOTIFICATIONS,
    Collections.TICKETS,
    Collections.TICKET_DELIVERIES,
    Collections.INCIDENTS,
    Collections.BROADCASTS,
)


@dataclass
class BroadcastBench:
    """What the runs share: parameters, servers, intake, the sink, the CPU meter."""

    args: argparse.Namespace
    servers: Servers
    session: Session
    sink: WebhookSink
    cpu: CpuMeter
    ticket_customer: str = ""  # files the intake load's tickets; in no outage's region
    region: str | None = None  # the latest run's

    async def run(self, customers: int) -> Figures:
        await self._forget_last_run()
        self.region = f"bench-{uuid.uuid4().hex[:8]}"
        expected = customers * CHANNELS_PER_CUSTOMER
        figures: Figures = {
            "load_1m_at_start": os.getloadavg()[0],
            "customers": customers,
            "notifications": expected,
        }
        figures |= await self._seed(customers)
        figures |= await self._raw_insert(expected)
        figures |= await self._raw_delivery()
        figures |= await self._idle_intake()
        figures |= await self._broadcast(customers, expected)
        figures |= ratios(figures)
        return figures | targets_met(figures)

    async def _forget_last_run(self) -> None:
        database = self.session.database
        for name in RUN_COLLECTIONS:
            await database[name].delete_many({})
        if self.region is not None:
            await forget_region(database, self.region)
        if not self.ticket_customer:
            self.ticket_customer = await self.session.intake.new_customer()

    async def _seed(self, customers: int) -> Figures:
        assert self.region is not None
        self.cpu.mark()
        started = time.perf_counter()
        await seed_region(
            self.session.database,
            self.region,
            customers,
            lambda index, customer_id: self.sink.url(index, f"hooks/{customer_id}"),
        )
        elapsed = time.perf_counter() - started
        seeded = {"seed_s": elapsed, "seed_customers_per_s": customers / elapsed}
        return seeded | self.cpu.since_mark("seed")

    async def _raw_insert(self, count: int) -> Figures:
        run_tag = uuid.uuid4().hex[:8]
        self.cpu.mark()
        sample = await baselines.mongo_insert_many(
            self.servers.mongo_url,
            lambda index: baselines.notification_document(run_tag, index),
            count,
            self.args.insert_batch,
        )
        return (
            {"raw_insert_docs_per_s": count / sample.elapsed_s}
            | sample.latency_figures("raw_insert_batch")
            | self.cpu.since_mark("raw_insert")
        )

    async def _raw_delivery(self) -> Figures:
        """The sink's own capacity, then aiohttp POSTs at the notifier's broadcast concurrency."""
        body = sample_body("capacity-probe")
        self.cpu.mark()
        ceiling = await capacity(self.sink, self.args.sink_probe, body, PIPELINE_DEPTH)
        figures = {"sink_capacity_posts_per_s": ceiling} | self.cpu.since_mark("sink_capacity")
        self.cpu.mark()
        posts = await aiohttp_posts(self.sink, self.args.raw_posts, self.args.broadcast_concurrency)
        return figures | posts.figures("raw_sink", "posts") | self.cpu.since_mark("raw_sink")

    async def _idle_intake(self) -> Figures:
        figures = await self._settle("before_idle")
        self.cpu.mark()
        idle = await self._intake_rounds(self.args.idle_rounds, asyncio.Event())
        latencies = idle.latency_figures("intake_idle")
        tickets = {"intake_idle_tickets": len(idle.latencies_s)}
        return figures | tickets | latencies | self.cpu.since_mark("intake_idle")

    async def _broadcast(self, customers: int, expected: int) -> Figures:
        assert self.region is not None
        figures = await self._settle("before_broadcast")
        before = self.sink.received()
        self.cpu.mark()
        incident_id, accepted_at = await declare_outage(self.session.intake, self.region)
        notifications = IncidentNotifications(
            self.session.database, self.session.intake, incident_id
        )
        progress, during, cpu = await self._follow_under_load(notifications, accepted_at, expected)
        figures |= cpu | await broadcast_figures(notifications, progress, accepted_at, customers)
        figures |= progress.follow_figures(time.time() - accepted_at) | intake_during(during)
        self.cpu.mark()
        figures |= await self._settle("after_broadcast") | self.cpu.since_mark("settle")
        return figures | webhook_figures(self.sink.received() - before)  # late duplicates too

    async def _follow_under_load(
        self, notifications: IncidentNotifications, accepted_at: float, expected: int
    ) -> tuple[Progress, Sample, Figures]:
        """Follow the broadcast while intake takes the idle load again, in rounds; the CPU used
        until the store's count confirmed it complete."""
        args, done = self.args, asyncio.Event()
        async with asyncio.TaskGroup() as group:
            load = group.create_task(self._intake_rounds(args.intake_rounds, done))
            progress = await notifications.follow(accepted_at, expected, args.timeout, args.poll_s)
            cpu = self.cpu.since_mark("broadcast")
            done.set()
        return progress, load.result(), cpu

    async def _intake_rounds(self, rounds: int | None, done: asyncio.Event) -> Sample:
        """Rounds of --tickets, a pause apart, until `rounds` are done (None: no limit) or
        `done` is set."""
        latencies: list[float] = []
        started = time.perf_counter()
        for _ in itertools.count() if rounds is None else range(rounds):
            accepted = await post_load(
                self.session.intake, self.ticket_customer, self.args.tickets, self.args.concurrency
            )
            latencies.extend(accepted.sample.latencies_s)
            if await set_within(done, ROUND_PAUSE_S):
                break
        return Sample(tuple(latencies), time.perf_counter() - started)

    async def _settle(self, moment: str) -> Figures:
        """Seconds until the consumers caught up; a flag, not a crash, if they did not."""
        try:
            seconds = await wait_until_consumed(
                self.servers.kafka_bootstrap, self.args.settle_timeout
            )
        except NotSettled as error:
            print(f"bench: {error}; carrying on ({moment})", file=sys.stderr, flush=True)
            return {f"settle_{moment}_timed_out": 1.0}
        return {f"settle_{moment}_s": seconds}


async def broadcast_figures(
    notifications: IncidentNotifications, progress: Progress, accepted_at: float, customers: int
) -> Figures:
    """Counts, times to the notifier's last stamps, rates; partial figures after a time-out."""
    figures: Figures = {
        "notifications_stored": progress.stored,
        "notifications_delivered": progress.delivered,
        "timed_out": float(not progress.all_delivered),
    }
    if not progress.all_delivered:
        return figures | {"notifications_failed": await notifications.failed()}
    figures |= {
        "seen_stored_s": progress.stored_seen_s or 0.0,
        "seen_delivered_s": progress.delivered_seen_s or 0.0,
    }
    if (stored := await notifications.latest("created_at")) is not None:
        figures["time_to_stored_s"] = stored.timestamp() - accepted_at
        figures["stored_per_s"] = progress.stored / figures["time_to_stored_s"]
    if (delivered := await notifications.latest("delivered_at")) is not None:
        figures["time_to_delivered_s"] = to_delivered = delivered.timestamp() - accepted_at
        figures["delivered_per_s"] = progress.delivered / to_delivered
        figures["delivered_webhooks_per_s"] = customers / to_delivered
    return figures


def webhook_figures(received: Received) -> Figures:
    return {
        "webhooks_received": received.requests,
        "webhooks_distinct": received.distinct,
        "webhooks_duplicates": received.duplicates,
    }


def intake_during(sample: Sample) -> Figures:
    """Latencies during the broadcast, and how much of it they span: seconds from the 202."""
    return {
        "intake_broadcast_tickets": len(sample.latencies_s),
        "intake_broadcast_s": sample.elapsed_s,
    } | sample.latency_figures("intake_broadcast")


def ratios(figures: Figures) -> Figures:
    """The broadcast against the raw baselines, and intake during it against intake idle."""
    pairs = {
        "stored_vs_raw_insert": ("stored_per_s", "raw_insert_docs_per_s"),
        "delivered_webhooks_vs_raw_sink": ("delivered_webhooks_per_s", "raw_sink_posts_per_s"),
        "intake_p50_vs_idle": ("intake_broadcast_p50_ms", "intake_idle_p50_ms"),
        "intake_p99_vs_idle": ("intake_broadcast_p99_ms", "intake_idle_p99_ms"),
    }
    return {
        name: figures[over] / figures[under]
        for name, (over, under) in pairs.items()
        if over in figures and under in figures
    }


def targets_met(figures: Figures) -> Figures:
    """1 where the target is met, 0 where it is not or the figure is missing (timed out)."""
    return {
        f"met_{name}": float(name in figures and figures[name] <= limit)
        for name, limit in TARGETS.items()
    }


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` is set, waiting for it at most `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def measure(args: argparse.Namespace, servers: Servers) -> list[Figures]:
    """Start the sink, warm up with a small broadcast, then do every run."""
    with running_sink(args.sink_ports) as sink:
        cpu = CpuMeter(servers.pids | {"sink": sink.pid})
        async with session(servers, args.concurrency) as opened:
            bench = BroadcastBench(args, servers, opened, sink, cpu)
            print(f"warm-up: a broadcast to {args.warm_up_customers} customers", flush=True)
            await bench.run(args.warm_up_customers)
            runs: list[Figures] = []
            for number in range(1, args.runs + 1):
                print(f"run {number}: seed, raw baselines, idle intake, broadcast", flush=True)
                runs.append(await bench.run(args.customers))
            return runs
