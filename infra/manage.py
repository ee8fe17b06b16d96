"""`./switchboard status|restart|sinks`: look at and steer a running `./switchboard up`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from infra.control import SOCKET_NAME, ControlError, request
from infra.kafka import kafka_answers
from infra.paths import default_state_dir
from infra.processes import read_pid_file
from infra.services import SERVICE_NAMES
from infra.sinks import read_messages, sinks_report
from infra.store import mongo_answers
from infra.supervisor import describe_exit

SINKS_DIR = "sinks"
SERVER_NAMES = ("kafka", "store")
SERVER_PROBES: dict[str, Callable[[str], bool]] = {"kafka": kafka_answers, "store": mongo_answers}
ROW = "{:<10} {:<11} {:>8} {:>8} {:>9}  {}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    state_dir: Path = args.state_dir
    match args.command:
        case "status":
            return show_status(state_dir)
        case "restart":
            return restart(state_dir, args.service)
        case _:
            return show_sinks(state_dir, args.last, as_json=args.json)


def show_status(state_dir: Path) -> int:
    """Print each service, Kafka and the store; 0 if all run and answer, else 1."""
    try:
        answer = asyncio.run(request(state_dir / SOCKET_NAME, {"command": "status"}))
    except ControlError as error:
        answer = {"services": [], "error": str(error)}
    print(ROW.format("name", "state", "pid", "uptime", "restarts", "notes"))
    rows = {row["name"]: row for row in answer["services"]}
    services = {name: row for name, row in rows.items() if name not in SERVER_NAMES}
    healthy = _print_services(answer, services or dict.fromkeys(SERVICE_NAMES))
    for name in SERVER_NAMES:
        if name in rows:  # run by `up`'s supervisor
            healthy = _print_supervised_server(rows[name]) and healthy
        else:
            healthy = _print_server(name, state_dir / f"{name}.pid") and healthy
    for sink, where in answer.get("sinks", {}).items():
        print(f"{sink} sink: {where}")
    return 0 if healthy else 1


def _print_services(answer: dict[str, Any], rows: dict[str, dict[str, Any] | None]) -> bool:
    healthy = True
    for name, row in rows.items():
        if row is None:
            healthy = False
            print(ROW.format(name, "stopped", "-", "-", "-", answer.get("error", "")))
            continue
        ready = row["state"] == "running" and _service_ready(row["address"])
        healthy = healthy and ready
        _print_child(row, "ready" if ready else "NOT ready")
    return healthy


def _print_supervised_server(row: dict[str, Any]) -> bool:
    answers = row["state"] == "running" and SERVER_PROBES[row["name"]](row["address"])
    _print_child(row, "answering" if answers else "NOT answering")
    return answers


def _print_child(row: dict[str, Any], health: str) -> None:
    notes = [row["address"]]
    if row["state"] == "running":
        notes.append(health)
    if row["restart_in_s"] is not None:
        notes.append(f"restart in {row['restart_in_s']:.1f} s")
    if row["last_exit"] is not None:
        notes.append(f"last exit: {describe_exit(row['last_exit'])}")
    pid, uptime = row["pid"] or "-", _duration(row["uptime_s"])
    print(ROW.format(row["name"], row["state"], pid, uptime, row["restarts"], ", ".join(notes)))


def _service_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _print_server(name: str, pid_file: Path) -> bool:
    """A server `up` does not supervise (`python -m infra start` started it): its pid file."""
    record = read_pid_file(pid_file)
    if record is None:
        print(ROW.format(name, "stopped", "-", "-", "-", ""))
        return False
    uptime = time.time() - pid_file.stat().st_mtime  # the pid file is written at start
    up = SERVER_PROBES[name](record.address)
    state = "running" if up else "stopped"
    note = f"{record.address}, {'answering' if up else 'NOT answering'}, not supervised"
    print(ROW.format(name, state, record.pid, _duration(uptime if up else None), "-", note))
    return up


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def restart(state_dir: Path, service: str) -> int:
    """Ask the running `up` to restart one service, Kafka or the store; 0 once it runs again."""
    try:
        answer = asyncio.run(
            request(state_dir / SOCKET_NAME, {"command": "restart", "service": service})
        )
    except ControlError as error:
        print(f"switchboard: {error}", file=sys.stderr)
        return 1
    print(f"{service}: restarted (pid {answer['pid']})")
    return 0


def show_sinks(state_dir: Path, last: int, *, as_json: bool) -> int:
    """Print the last emails and SMS the development sinks received."""
    folder = state_dir / SINKS_DIR
    emails = read_messages(folder / "email.jsonl")
    sms = read_messages(folder / "sms.jsonl")
    if as_json:
        print(json.dumps({"email": emails[-last:], "sms": sms[-last:]}, indent=2))
    else:
        print(sinks_report(emails, sms, last), end="")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="Look at and steer a running `./switchboard up`."
    )
    parser.add_argument(
        "--state-dir", type=Path, default=default_state_dir(), help="default: <cache>/run"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="each service, Kafka and the store")
    restart_command = commands.add_parser(
        "restart", help="restart one service, Kafka or the store (gracefully)"
    )
    restart_command.add_argument("service", choices=(*SERVICE_NAMES, *SERVER_NAMES))
    sinks = commands.add_parser("sinks", help="what the email and SMS sinks received")
    sinks.add_argument("--last", type=int, default=10, help="how many of each (default 10)")
    sinks.add_argument("--json", action="store_true", help="as JSON")
    return parser


if __name__ == "__main__":
    sys.exit(main())
