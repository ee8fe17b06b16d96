"""The store bench's seeding (insert_many, with progress) and the plans of its queries."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from time import perf_counter

import bson
from pymongo import AsyncMongoClient

from bench.cpu import cpu_seconds
from bench.stats import Figures, closed_loop
from bench.store_documents import ticket_id
from bench.store_finds import due_reads, lookup_reads, recorded
from bench.store_ops import RAW, Workload, raw_document
from shared.mongo import Collection, Collections, Document

SEED_BATCH = 1000  # documents an insert_many call
PROGRESS_S = 10.0
SIZE_SAMPLE = 200  # documents whose BSON size is averaged
SETTLE_WINDOW_S = 2.0
SETTLE_TIMEOUT_S = 300.0
QUIET_CORES = 0.1
PATIENT_MS = 300_000  # the seeding client's connect, heartbeat and server selection timeouts


async def seed(work: Workload, url: str, concurrency: int) -> Figures:
    """The tickets, then their notifications, then the bare collection; their rates.

    Through a client of its own that waits for the server as long as a bulk load needs: the
    services' (connectTimeoutMS 3 s, also their heartbeat's timeout) gives up on a store
    that answers nothing for a few seconds while it writes, and cancels what is in flight.
    """
    history = work.history
    size = history.size
    print(
        f"{size:,} tickets: seeding them, {2 * size:,} notifications and {size:,} raw documents",
        flush=True,
    )
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        url,
        tz_aware=True,
        retryWrites=False,
        connectTimeoutMS=PATIENT_MS,
        serverSelectionTimeoutMS=PATIENT_MS,
    )
    database = client[work.database.name]
    started = perf_counter()
    try:
        figures = await _fill(
            "tickets",
            database[Collections.TICKETS],
            size,
            1,
            lambda index: [history.ticket(index)],
            concurrency,
        )
        figures |= await _fill(
            "notifications",
            database[Collections.NOTIFICATIONS],
            size,
            2,
            lambda index: history.notifications(history.ticket(index)),
            concurrency,
        )
        figures |= await _fill(
            "raw", database[RAW], size, 1, lambda index: [raw_document(index)], concurrency
        )
    finally:
        await client.close()
    sample = range(0, size, max(1, size // SIZE_SAMPLE))
    return figures | {
        "seed_s": perf_counter() - started,
        "seed_ticket_bytes": _mean_bytes([history.ticket(index) for index in sample]),
        "seed_notification_bytes": _mean_bytes(
            [n for index in sample for n in history.notifications(history.ticket(index))]
        ),
    }


async def _fill(
    name: str,
    collection: Collection,
    count: int,
    per_index: int,
    documents: Callable[[int], list[Document]],
    concurrency: int,
) -> Figures:
    """`documents(index)` (`per_index` of them) for every index below `count`, inserted
    SEED_BATCH documents a call, `concurrency` calls in flight; progress every PROGRESS_S."""
    step = SEED_BATCH // per_index
    total, done = count * per_index, 0
    started = last = perf_counter()

    async def insert(call: int) -> None:
        nonlocal done, last
        indexes = range(call * step, min(count, (call + 1) * step))
        batch = [document for index in indexes for document in documents(index)]
        await collection.insert_many(batch, ordered=False)
        done += len(batch)
        if perf_counter() - last >= PROGRESS_S:
            last = perf_counter()
            rate = done / (last - started)
            print(f"  {name}: {done:,} of {total:,} ({rate:,.0f} a second)", flush=True)

    sample = await closed_loop(math.ceil(count / step), concurrency, insert)
    print(f"  {name}: {total:,} in {sample.elapsed_s:,.1f} s", flush=True)
    return {
        f"seed_{name}_docs_per_s": total / sample.elapsed_s,
        f"seed_{name}_s": sample.elapsed_s,
        **sample.latency_figures(f"seed_{name}_call"),
    }


async def settle(pid: int | None) -> Figures:
    """Until the store uses less than QUIET_CORES of CPU over SETTLE_WINDOW_S (what a bulk
    load leaves it to do: compaction, garbage collection), SETTLE_TIMEOUT_S at the most; a
    server given by --mongo is not watched."""
    if pid is None:
        return {}
    started = perf_counter()
    while perf_counter() - started < SETTLE_TIMEOUT_S:
        before = cpu_seconds(pid)
        await asyncio.sleep(SETTLE_WINDOW_S)
        after = cpu_seconds(pid)
        if before is None or after is None or after - before < QUIET_CORES * SETTLE_WINDOW_S:
            break
    waited = perf_counter() - started
    print(f"  the store settled in {waited:.0f} s", flush=True)
    return {"seed_settle_s": waited}


def _mean_bytes(documents: list[Document]) -> float:
    return sum(len(bson.encode(document)) for document in documents) / len(documents)


async def explain_plans(work: Workload) -> dict[str, str]:
    """How the server answers each query the bench times (`explain` of a find with the
    same filter, sort and limit): an index scan, or COLLSCAN, a read of the whole collection."""
    reads = lookup_reads(work.history, work.rng) | due_reads()
    commands = {name: (await recorded(read)).explain() for name, read in reads.items()}
    commands["command_apply (its update)"] = {
        "find": work.tickets.name,
        "filter": {"_id": ticket_id(0), "version": 1},
    }
    commands["notification_outcome"] = {"find": work.notifications.name, "filter": {"_id": ""}}
    plans: dict[str, str] = {}
    for name, command in commands.items():
        try:
            answer = await work.database.command("explain", command)
            plans[name] = describe(answer["queryPlanner"]["winningPlan"])
        except Exception as error:  # a server without explain, or another shape of it
            plans[name] = f"explain failed: {error}"
    return plans


def describe(plan: Document) -> str:
    """A winning plan as `STAGE index < STAGE ...`, outermost first."""
    plan = plan.get("queryPlan", plan)  # MongoDB 7's slot-based plans nest it
    stage = " ".join(str(plan[key]) for key in ("stage", "indexName") if key in plan)
    inner = plan.get("inputStage") or next(iter(plan.get("inputStages", [])), None)
    return stage if inner is None else f"{stage} < {describe(inner)}"
