"""One run of the pipeline benchmark: open-loop POST load, the backlog, and the notifications."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from bench import baselines
from bench.cpu import CpuMeter
from bench.harness import Servers, session
from bench.settle import lag_by_group, wait_until_consumed
from bench.stats import Figures, Sample, closed_loop, percentile
from bench.tickets import IN_APP, BenchError, Intake, Notifications, last_stored, ticket_body
from shared.mongo import Collections, Database

# (figure, limit, whether the figure must stay at or below the limit)
TARGETS = (
    ("c_intake_p99_ms", 50.0, True),
    ("c_intake_vs_raw_kafka_throughput", 0.25, False),
    ("i_intake_p99_ms", 50.0, True),
    ("i_intake_vs_raw_kafka_throughput", 0.25, False),
    ("notification_p99_ms", 250.0, True),
    ("lag_zero_after_load_s", 5.0, True),
)
WARM_UP_TICKETS = 32
SETTLE_TIMEOUT_S = 600.0
NOTIFICATION_TIMEOUT_S = 600.0
LAG_SAMPLE_S = 1.0
CONSUMERS = ("workflow", "notifier")


@dataclass
class Offered:
    """What the open-loop load did: when each POST was due, how it was answered."""

    due_at: dict[str, float] = field(default_factory=dict)  # ticket id -> scheduled, epoch s
    latencies_s: list[float] = field(default_factory=list)  # scheduled -> 202
    refused: int = 0
    ended_at: float = 0.0


async def post_ticket(
    http: aiohttp.ClientSession, system_key: str, customer_id: str, index: int
) -> tuple[int, str | None]:
    """POST one ticket as a source system does (with an Idempotency-Key): status, ticket id."""
    headers = {"X-API-Key": system_key, "Idempotency-Key": uuid.uuid4().hex}
    body = ticket_body(customer_id, index)
    async with http.post("/v1/tickets", json=body, headers=headers) as response:
        answer = await response.json()
    return response.status, answer.get("ticket_id") if response.status == 202 else None


async def intake_closed_loop(
    http: aiohttp.ClientSession, system_key: str, customer_id: str, count: int, concurrency: int
) -> Sample:
    """`count` POSTs from `concurrency` tasks, each waiting for its 202 before the next."""

    async def post(index: int) -> None:
        status, _ = await post_ticket(http, system_key, customer_id, index)
        if status != 202:
            raise BenchError(f"POST /v1/tickets answered {status}")

    return await closed_loop(count, concurrency, post)


async def open_loop(
    http: aiohttp.ClientSession, system_key: str, customer_id: str, rate: int, duration_s: int
) -> Offered:
    """POST rate * duration tickets, each at its scheduled moment, whatever the answers."""
    offered = Offered()
    started = time.time()

    async def post(index: int, due: float) -> None:
        _, ticket_id = await post_ticket(http, system_key, customer_id, index)
        if ticket_id is None:
            offered.refused += 1
            return
        offered.latencies_s.append(time.time() - due)
        offered.due_at[ticket_id] = due

    async with asyncio.TaskGroup() as group:
        for index in range(rate * duration_s):
            due = started + index / rate
            await asyncio.sleep(max(0.0, due - time.time()))
            group.create_task(post(index, due))
    offered.ended_at = time.time()
    return offered


async def sample_lag(bootstrap: str, samples: list[dict[str, int]], stop: asyncio.Event) -> None:
    """Every LAG_SAMPLE_S until `stop`: each Switchboard consumer group's lag."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    ends = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await ends.start()
    try:
        while not stop.is_set():
            samples.append(await lag_by_group(admin, ends))
            await asyncio.sleep(LAG_SAMPLE_S)
    finally:
        await ends.stop()
        await admin.close()


async def stored_at(database: Database, customer_id: str) -> dict[str, float]:
    """Each of the customer's tickets' in-app TicketOpened notification: when it was stored."""
    cursor = database[Collections.NOTIFICATIONS].find(
        {"customer_id": customer_id, "event_type": "TicketOpened", "channel": IN_APP},
        {"ticket_id": 1, "created_at": 1},
    )
    return {doc["ticket_id"]: doc["created_at"].timestamp() async for doc in cursor}


def lag_figures(samples: list[dict[str, int]]) -> Figures:
    """The total lag at the end of the load and its maximum, and each group's at the end."""
    totals = [sum(sample.values()) for sample in samples] or [0]
    last = samples[-1] if samples else {}
    return {
        "lag_at_load_end": float(totals[-1]),
        "lag_max_during_load": float(max(totals)),
        **{f"lag_at_load_end_{group}": float(lag) for group, lag in sorted(last.items())},
    }


@dataclass
class PipelineBench:
    args: argparse.Namespace
    servers: Servers
    intake: Intake
    notifications: Notifications
    cpu: CpuMeter

    async def warm_up(self, http: aiohttp.ClientSession) -> None:
        customer_id = await self.intake.new_customer()
        offered = await open_loop(http, self.intake.system_key, customer_id, WARM_UP_TICKETS, 1)
        ids = tuple(offered.due_at)
        await last_stored(self.notifications, customer_id, ids, NOTIFICATION_TIMEOUT_S)
        await wait_until_consumed(self.servers.kafka_bootstrap, SETTLE_TIMEOUT_S)

    async def run(self, number: int, http: aiohttp.ClientSession) -> Figures:
        args = self.args
        await self.notifications.forget_all()
        print(f"run {number}: raw baselines, then {args.rate}/s for {args.duration} s", flush=True)
        figures = await self._raw_baselines()
        figures |= await self._intake_alone(http, "c_intake")
        # Again with the consumers paused: the cores serve intake, Kafka and the store only,
        # as when intake has machines of its own.
        figures |= await self._intake_alone(http, "i_intake", pausing=CONSUMERS)
        customer_id = await self.intake.new_customer()
        lags: list[dict[str, int]] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_lag(self.servers.kafka_bootstrap, lags, stop))
        self.cpu.mark()
        offered = await open_loop(
            http, self.intake.system_key, customer_id, args.rate, args.duration
        )
        figures |= self.cpu.since_mark("load")
        stop.set()
        await sampler
        figures |= lag_figures(lags)
        await wait_until_consumed(self.servers.kafka_bootstrap, SETTLE_TIMEOUT_S)
        figures["lag_zero_after_load_s"] = time.time() - offered.ended_at
        figures |= self._intake(offered) | await self._notifications(offered, customer_id)
        for phase in ("c_intake", "i_intake"):
            figures[f"{phase}_vs_raw_kafka_throughput"] = (
                figures[f"{phase}_tickets_per_s"] / figures["raw_kafka_msgs_per_s"]
            )
        return figures

    async def _raw_baselines(self) -> Figures:
        count, bootstrap = self.args.raw_count, self.servers.kafka_bootstrap
        concurrency = self.args.concurrency
        kafka = await baselines.kafka_produce(bootstrap, count, concurrency)
        mongo = await baselines.mongo_insert(self.servers.mongo_url, count, concurrency)
        return kafka.figures("raw_kafka", "msgs") | mongo.figures("raw_mongo", "docs")

    async def _intake_alone(
        self, http: aiohttp.ClientSession, phase: str, pausing: tuple[str, ...] = ()
    ) -> Figures:
        """intake at concurrency C, closed loop, with the `pausing` processes stopped meanwhile;
        then until its tickets went all the way."""
        args = self.args
        customer_id = await self.intake.new_customer()
        with paused(self.servers.pids, pausing):
            self.cpu.mark()
            sample = await intake_closed_loop(
                http, self.intake.system_key, customer_id, args.intake_count, args.concurrency
            )
            figures = sample.figures(phase, "tickets") | self.cpu.since_mark(phase)
        await wait_until_consumed(self.servers.kafka_bootstrap, SETTLE_TIMEOUT_S)
        return figures

    def _intake(self, offered: Offered) -> Figures:
        elapsed = offered.ended_at - min(offered.due_at.values(), default=offered.ended_at)
        sample = Sample(tuple(offered.latencies_s), max(elapsed, 1e-9))
        return {
            "offered_tickets_per_s": float(self.args.rate),
            "intake_refused": float(offered.refused),
            **sample.figures("intake", "tickets"),
        }

    async def _notifications(self, offered: Offered, customer_id: str) -> Figures:
        stored = await stored_at(self.notifications.database, customer_id)
        latencies = [stored[t] - due for t, due in offered.due_at.items() if t in stored]
        missing = len(offered.due_at) - len(latencies)
        if not latencies:
            raise BenchError("no notification stored for any ticket of the run")
        millis = [latency * 1000 for latency in latencies]
        last = max(stored.values())
        return {
            "notification_p50_ms": percentile(millis, 50),
            "notification_p99_ms": percentile(millis, 99),
            "notification_max_ms": max(millis),
            "missing_notifications": float(missing),
            "pipeline_tickets_per_s": len(latencies) / (last - min(offered.due_at.values())),
        }


@contextlib.contextmanager
def paused(pids: dict[str, int], names: tuple[str, ...]) -> Iterator[None]:
    """The named processes stopped (SIGSTOP) for the block, continued (SIGCONT) after it."""
    stopped = [pids[name] for name in names if name in pids]
    if len(stopped) != len(names):
        raise BenchError(f"cannot pause {names}: the bench did not start them")
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


async def measure(args: argparse.Namespace, servers: Servers) -> list[Figures]:
    """Warm up, then do every run against the running platform."""
    async with session(servers, 16) as opened:
        connector = aiohttp.TCPConnector(limit=args.connections)
        async with aiohttp.ClientSession(
            base_url=servers.platform.intake_url,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=60),
        ) as http:
            bench = PipelineBench(
                args,
                servers,
                opened.intake,
                Notifications(opened.database),
                CpuMeter(servers.pids),
            )
            await bench.warm_up(http)
            return [await bench.run(number, http) for number in range(1, args.runs + 1)]
