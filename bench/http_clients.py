"""`python -m bench.http_clients`: which HTTP client the notifier should POST webhooks with.

httpx (what the notifier uses) and aiohttp each POST --posts outage-sized webhook bodies to
the bench's webhook sink (bench/sink.py: a process of its own, --ports endpoints taken in
turn like customers') from --concurrency tasks, the notifier's broadcast concurrency, over
kept-alive connections. Each run measures both, in turn, in this one process: POSTs a second,
p50/p99, and the CPU this process spent per POST (the notifier's broadcast is bound by its
own CPU, so that is the figure that decides), and the ratios aiohttp / httpx. Medians of
--runs; JSON to --out. aiohttp must be installed (`pip install aiohttp`): it is measured
here, not yet a dependency of the platform.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx

from bench.harness import exit_quietly_on_interrupt, new_parser, positive
from bench.report import build_report, publish
from bench.sink import WebhookSink, running_sink, sample_body
from bench.stats import Figures, Sample, closed_loop

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "http_clients.json"
SECTIONS = (
    ("httpx_", "httpx.AsyncClient POSTs"),
    ("aiohttp_", "aiohttp.ClientSession POSTs"),
    ("ratio_", "aiohttp / httpx (throughput; CPU per POST: lower is better)"),
    ("", "other"),
)
HEADERS = {"Content-Type": "application/json"}

Poster = Callable[[int], Awaitable[None]]


async def measured(name: str, count: int, concurrency: int, post: Poster) -> Figures:
    """Warm the connections, then time `count` POSTs and the CPU they took."""
    await closed_loop(concurrency * 4, concurrency, post)
    cpu_before = time.process_time()
    sample: Sample = await closed_loop(count, concurrency, post)
    cpu_ms = (time.process_time() - cpu_before) * 1000 / count
    return sample.figures(name, "posts") | {f"{name}_cpu_ms_per_post": cpu_ms}


async def with_httpx(sink: WebhookSink, count: int, concurrency: int) -> Figures:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:

        async def post(index: int) -> None:
            response = await client.post(
                sink.url(index, "httpx"), content=sample_body(f"httpx-{index:08d}"), headers=HEADERS
            )
            response.raise_for_status()

        return await measured("httpx", count, concurrency, post)


async def with_aiohttp(sink: WebhookSink, count: int, concurrency: int) -> Figures:
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post(index: int) -> None:
            body = sample_body(f"aiohttp-{index:08d}")
            async with session.post(sink.url(index, "aiohttp"), data=body, headers=HEADERS) as r:
                r.raise_for_status()
                await r.read()

        return await measured("aiohttp", count, concurrency, post)


def ratios(figures: Figures) -> Figures:
    return {
        "ratio_posts_per_s": figures["aiohttp_posts_per_s"] / figures["httpx_posts_per_s"],
        "ratio_cpu_ms_per_post": figures["aiohttp_cpu_ms_per_post"]
        / figures["httpx_cpu_ms_per_post"],
    }


async def one_run(sink: WebhookSink, args: argparse.Namespace) -> Figures:
    figures = await with_httpx(sink, args.posts, args.concurrency)
    figures |= await with_aiohttp(sink, args.posts, args.concurrency)
    return figures | ratios(figures)


def main(argv: Sequence[str] | None = None) -> None:
    parser = new_parser("python -m bench.http_clients", __doc__)
    parser.add_argument("--posts", type=positive, default=3000, help="POSTs per client a run")
    parser.add_argument("--concurrency", type=positive, default=32, help="POSTs in flight")
    parser.add_argument("--ports", type=positive, default=16, help="sink endpoints")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = parser.parse_args(argv)
    started_at = datetime.now(UTC)
    runs: list[Figures] = []
    with running_sink(args.ports) as sink:
        for run in range(args.runs):
            print(f"run {run + 1}: httpx, then aiohttp", flush=True)
            runs.append(asyncio.run(one_run(sink, args)))
    args.kafka = None  # no servers of the platform are involved
    publish(build_report("http_clients", args, started_at, runs), SECTIONS, args.out)


if __name__ == "__main__":
    exit_quietly_on_interrupt(main)
