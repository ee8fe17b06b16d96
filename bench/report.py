"""The results as a table on stdout and as a JSON file."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import Figures, median_figures

REPO = Path(__file__).resolve().parent.parent

# (prefix, title): a figure goes under the first title whose prefix it starts with; the
# last prefix of a benchmark's sections should be "" so that every figure finds one.
Sections = Sequence[tuple[str, str]]


def section_of(name: str, sections: Sections) -> str:
    return next(title for prefix, title in sections if name.startswith(prefix))


def publish(report: Mapping[str, Any], sections: Sections, path: Path) -> None:
    """The table on stdout, the JSON file written, and where."""
    print_table(report, sections)
    write_json(report, path)
    print(f"\nwritten to {path}")


def print_table(report: Mapping[str, Any], sections: Sections) -> None:
    runs: list[dict[str, float]] = report["runs"]
    median: dict[str, float] = report["median"]
    by_section: dict[str, list[str]] = {title: [] for _, title in sections}
    for name in median:
        by_section[section_of(name, sections)].append(name)
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
    benchmark: str,
    args: argparse.Namespace,
    started_at: datetime,
    runs: list[Figures],
) -> dict[str, Any]:
    """Parameters, machine, code version, every run's figures and their medians."""
    parameters = {
        key: value for key, value in vars(args).items() if key not in {"out", "kafka", "mongo"}
    }
    return {
        "benchmark": benchmark,
        "started_at": started_at.isoformat(),
        "wall_s": (datetime.now(UTC) - started_at).total_seconds(),
        "parameters": parameters | {"servers": "given" if args.kafka else "started"},
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
