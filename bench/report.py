"""The results as a table on stdout and as a JSON file."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Figures, median_figures

REPO = Path(__file__).resolve().parent.parent

SECTIONS = (
    ("raw_kafka_", "a. raw Kafka: aiokafka send_and_wait, acks=all, idempotent, ~500 B"),
    ("raw_mongo_", "b. raw MongoDB: PyMongo insert_one into FerretDB, ~1 KB"),
    ("intake_", "c. intake: POST /v1/tickets answered 202"),
    ("drain", "c. drain: first POST until every notification of (c) is stored"),
    ("pipeline_", "c. drain: first POST until every notification of (c) is stored"),
    ("settle_", "c/d. then until every consumer group has caught up (timeline, deliveries)"),
    ("e2e_", "d. end to end: POST sent until its notification is stored"),
    ("lookup_", "FerretDB lookups on the notifications collection"),
    ("notifications_", "FerretDB lookups on the notifications collection"),
    ("cpu_raw_kafka_", "CPU during (a), % of one core"),
    ("cpu_raw_mongo_", "CPU during (b), % of one core"),
    ("cpu_accept_", "CPU while (c) posts, % of one core"),
    ("cpu_drain_", "CPU while (c) drains, % of one core"),
    ("cpu_settle_", "CPU after the drain until the consumers caught up, % of one core"),
    ("cpu_e2e_", "CPU during (d), % of one core"),
    ("cpu_idle_", "CPU with no traffic for a few seconds after (d), % of one core"),
    ("", "other"),
)


def section_of(name: str) -> str:
    return next(title for prefix, title in SECTIONS if name.startswith(prefix))


def print_table(report: Mapping[str, Any]) -> None:
    runs: list[dict[str, float]] = report["runs"]
    median: dict[str, float] = report["median"]
    by_section: dict[str, list[str]] = {title: [] for _, title in SECTIONS}
    for name in median:
        by_section[section_of(name)].append(name)
    header = f"{'figure':<40}" + "".join(f"{f'run {i}':>11}" for i in range(1, len(runs) + 1))
    print(f"\n{header}{'median':>11}")
    for title, names in by_section.items():
        if names:
            print(f"\n{title}")
        for name in names:
            cells = "".join(f"{_number(run.get(name)):>11}" for run in runs)
            print(f"  {name:<38}{cells}{_number(median[name]):>11}")


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def write_json(report: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def build_report(
    args: argparse.Namespace, started_at: datetime, runs: list[Figures], external: bool
) -> dict[str, Any]:
    """Parameters, machine, code version, every run's figures and their medians."""
    parameters = {
        key: value for key, value in vars(args).items() if key not in {"out", "kafka", "mongo"}
    }
    return {
        "benchmark": "skeleton",
        "started_at": started_at.isoformat(),
        "wall_s": (datetime.now(UTC) - started_at).total_seconds(),
        "parameters": parameters | {"servers": "given" if external else "started"},
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_1m_at_end": os.getloadavg()[0],
        },
        "code": code_version(),
        "runs": runs,
        "median": median_figures(runs),
    }


def code_version() -> dict[str, Any]:
    """The commit measured and how many files differed from it (read-only git)."""
    try:
        commit = _git("rev-parse", "HEAD").strip()
        changed = _git("status", "--porcelain", "--untracked-files=no").splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"commit": commit, "uncommitted_changes": len(changed)}


def _git(*argv: str) -> str:
    return subprocess.run(
        ["git", *argv], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
