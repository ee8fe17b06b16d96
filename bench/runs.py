"""One run of the skeleton benchmark, and the warm-up every run follows."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

from bench import baselines
from bench.cpu import CpuMeter
from bench.harness import Servers, session
from bench.lookups import lookup_costs
from bench.settle import wait_until_consumed
from bench.stats import Figures, Sample
from bench.tickets import Intake, Notifications, end_to_end, last_stored, post_load

WARM_UP_TICKETS = 32
DRAIN_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 300.0
NOTIFICATION_TIMEOUT_S = 60.0
LOOKUP_SAMPLE = 10
IDLE_S = 4.0


@dataclass
class Bench:
    """What the runs share: the parameters, the endpoints, intake and the CPU meter."""

    args: argparse.Namespace
    kafka_bootstrap: str
    mongo_url: str
    intake: Intake
    notifications: Notifications
    cpu: CpuMeter

    async def warm_up(self) -> None:
        """JIT, connections, consumer-group joins, first-use paths: before anything is timed."""
        args = self.args
        await baselines.kafka_produce(self.kafka_bootstrap, args.raw_count, args.concurrency)
        await baselines.mongo_insert(self.mongo_url, args.raw_count, args.concurrency)
        customer_id = await self.intake.new_customer()
        accepted = await post_load(self.intake, customer_id, WARM_UP_TICKETS, 8)
        await last_stored(self.notifications, customer_id, accepted.ticket_ids, DRAIN_TIMEOUT_S)
        await wait_until_consumed(self.kafka_bootstrap, SETTLE_TIMEOUT_S)

    async def run(self, number: int) -> Figures:
        args = self.args
        if not args.keep_data:
            await self.notifications.forget_all()
        figures: Figures = {"load_1m_at_start": os.getloadavg()[0]}
        print(f"run {number}: raw Kafka, raw MongoDB, intake, drain, end to end", flush=True)
        figures |= await self._raw_baselines()
        figures |= await self._intake_and_drain()
        figures |= await self._end_to_end()
        figures |= await self._idle()
        return figures | ratios(figures)

    async def _raw_baselines(self) -> Figures:
        count, concurrency = self.args.raw_count, self.args.concurrency
        self.cpu.mark()
        kafka = await baselines.kafka_produce(self.kafka_bootstrap, count, concurrency)
        figures = kafka.figures("raw_kafka", "msgs") | self.cpu.since_mark("raw_kafka")
        self.cpu.mark()
        mongo = await baselines.mongo_insert(self.mongo_url, count, concurrency)
        return figures | mongo.figures("raw_mongo", "docs") | self.cpu.since_mark("raw_mongo")

    async def _idle(self) -> Figures:
        """What the platform burns with no traffic: its pollers and relays, as data grows."""
        settled = {"settle_after_e2e_s": await self._settle()}
        self.cpu.mark()
        await asyncio.sleep(IDLE_S)
        return settled | self.cpu.since_mark("idle")

    async def _settle(self) -> float:
        """Wait until the services consumed everything, so what follows starts from quiet."""
        return await wait_until_consumed(self.kafka_bootstrap, SETTLE_TIMEOUT_S)

    async def _intake_and_drain(self) -> Figures:
        customer_id = await self.intake.new_customer()
        self.cpu.mark()
        accepted = await post_load(
            self.intake, customer_id, self.args.tickets, self.args.concurrency
        )
        figures = accepted.sample.figures("intake", "tickets") | self.cpu.since_mark("accept")
        self.cpu.mark()
        stored = await last_stored(
            self.notifications, customer_id, accepted.ticket_ids, DRAIN_TIMEOUT_S
        )
        figures |= self.cpu.since_mark("drain")
        self.cpu.mark()
        figures["settle_after_drain_s"] = await self._settle()
        figures |= self.cpu.since_mark("settle")
        figures["pipeline_complete_s"] = time.time() - accepted.started_at
        drain_s = stored - accepted.started_at
        sample = accepted.ticket_ids[:LOOKUP_SAMPLE]
        pairs = [(self.notifications.found_id(t) or "", t) for t in sample]
        return figures | {
            "drain_s": drain_s,
            "drain_after_last_202_s": stored - accepted.ended_at,
            "pipeline_tickets_per_s": self.args.tickets / drain_s,
            **await lookup_costs(self.notifications.database, pairs),
        }

    async def _end_to_end(self) -> Figures:
        customer_id = await self.intake.new_customer()
        queries_before = self.notifications.queries
        self.cpu.mark()
        result = await end_to_end(
            self.intake,
            self.notifications,
            customer_id,
            self.args.e2e_tickets,
            self.args.e2e_concurrency,
            NOTIFICATION_TIMEOUT_S,
        )
        figures = self.cpu.since_mark("e2e")
        queries = self.notifications.queries - queries_before
        stamped = Sample(result.stamped_s, result.observed.elapsed_s)
        return (
            result.observed.latency_figures("e2e")
            | stamped.latency_figures("e2e_stamped")
            | {"e2e_poll_queries_per_s": queries / result.observed.elapsed_s}
            | figures
        )


def ratios(figures: Figures) -> Figures:
    """Intake against raw Kafka, and the whole pipeline against raw MongoDB inserts."""
    return {
        "intake_vs_raw_kafka_throughput": figures["intake_tickets_per_s"]
        / figures["raw_kafka_msgs_per_s"],
        "intake_vs_raw_kafka_p50_latency": figures["intake_p50_ms"] / figures["raw_kafka_p50_ms"],
        "pipeline_vs_raw_mongo_throughput": figures["pipeline_tickets_per_s"]
        / figures["raw_mongo_docs_per_s"],
    }


async def measure(args: argparse.Namespace, servers: Servers, cpu: CpuMeter) -> list[Figures]:
    """Warm up, then do every run against the running platform."""
    async with session(servers, max(args.concurrency, args.e2e_concurrency)) as opened:
        bench = Bench(
            args,
            servers.kafka_bootstrap,
            servers.mongo_url,
            opened.intake,
            Notifications(opened.database),
            cpu,
        )
        await bench.warm_up()
        return [await bench.run(number) for number in range(1, args.runs + 1)]
