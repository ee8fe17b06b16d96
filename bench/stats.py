"""Timed samples and the figures drawn from them: rates, exact percentiles, medians of runs."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter

Figures = dict[str, float]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolating between the closest ranks like numpy."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Sample:
    """Latencies (seconds) of operations done in `elapsed_s` of wall time."""

    latencies_s: tuple[float, ...]
    elapsed_s: float

    @property
    def rate(self) -> float:
        return len(self.latencies_s) / self.elapsed_s

    def latency_figures(self, name: str) -> Figures:
        millis = [latency * 1000 for latency in self.latencies_s]
        return {
            f"{name}_p50_ms": percentile(millis, 50),
            f"{name}_p99_ms": percentile(millis, 99),
            f"{name}_max_ms": max(millis),
        }

    def figures(self, name: str, unit: str) -> Figures:
        return {f"{name}_{unit}_per_s": self.rate, **self.latency_figures(name)}


async def closed_loop(
    count: int, concurrency: int, operation: Callable[[int], Awaitable[None]]
) -> Sample:
    """Run `operation(0..count-1)` from `concurrency` tasks, each starting its next when done."""
    indexes = iter(range(count))  # shared: every index is taken by exactly one task
    latencies: list[float] = []

    async def worker() -> None:
        for index in indexes:
            started = perf_counter()
            await operation(index)
            latencies.append(perf_counter() - started)

    started = perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, count)):
            group.create_task(worker())
    return Sample(tuple(latencies), perf_counter() - started)


def median_figures(runs: Sequence[Mapping[str, float]]) -> Figures:
    """The median of each figure over the runs that have it."""
    names = dict.fromkeys(name for run in runs for name in run)
    return {name: statistics.median(run[name] for run in runs if name in run) for name in names}
