"""`./switchboard up` on the real Kafka and store: each one killed with kill -9 is started again
by the supervisor, which says so, and the platform takes and serves tickets again; `restart`
stops one gracefully and starts it at once."""

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.control import SOCKET_NAME, ControlError, request
from infra.manage import main as manage
from infra.paths import REPO_ROOT
from infra.processes import (
    LOOPBACK,
    PidRecord,
    free_ports,
    is_recorded_process,
    read_pid_file,
    terminate_group,
)
from services.intake.apikeys import issue_key
from services.intake.settings import IntakeSettings
from shared.vocabulary import Role
from tests.e2e.support import Keys, until
from tests.e2e.test_walking_skeleton import ticket_body
from tests.faults.conftest import FAULT_ENV

pytestmark = pytest.mark.faults

DATABASE = "supervised"
UP_WITHIN_S = 180.0  # a cold `up` on a busy 2-core machine: two JVMs and three services
BACK_WITHIN_S = 90.0  # kill → the server answers again and a ticket goes through
STOP_WITHIN_S = 90.0


@dataclass
class Up:
    """A running `python -m infra.up` and where to reach what it runs."""

    process: "subprocess.Popen[bytes]"
    state_dir: Path
    intake_url: str
    mongo_url: str

    async def rows(self) -> dict[str, dict[str, Any]]:
        answer = await request(self.state_dir / SOCKET_NAME, {"command": "status"})
        return {row["name"]: row for row in answer["services"]}

    def supervisor_log(self) -> str:
        return (self.state_dir / "logs" / "supervisor.log").read_text()


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    state_dir = tmp_path_factory.mktemp("up")
    kafka, controller, mongo, intake, workflow, notifier = free_ports(6)
    env = {
        **os.environ,
        **FAULT_ENV,
        "SWITCHBOARD_KAFKA_PORT": str(kafka),
        "SWITCHBOARD_KAFKA_CONTROLLER_PORT": str(controller),
        "SWITCHBOARD_MONGO_PORT": str(mongo),
        "SWITCHBOARD_INTAKE_PORT": str(intake),
        "SWITCHBOARD_WORKFLOW_PORT": str(workflow),
        "SWITCHBOARD_NOTIFIER_PORT": str(notifier),
        "SWITCHBOARD_MONGO_DATABASE": DATABASE,
    }
    argv = [sys.executable, "-m", "infra.up", "--no-sinks", "--state-dir", str(state_dir)]
    with (state_dir / "up.out").open("ab") as out:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Up(
        process, state_dir, f"http://{LOOPBACK}:{intake}", f"mongodb://{LOOPBACK}:{mongo}/"
    )
    try:
        yield running
    finally:
        stop_up(running)


def stop_up(running: Up) -> None:
    """Ctrl-C's way (SIGTERM); whatever it left behind is stopped by its pid file."""
    running.process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        running.process.wait(STOP_WITHIN_S)
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()
    for pid_file in running.state_dir.glob("*.pid"):
        record = read_pid_file(pid_file)
        if record is not None and is_recorded_process(record):
            terminate_group(record.pid, 5.0, partial(gone, record))


def gone(record: PidRecord) -> bool:
    return not is_recorded_process(record)


@pytest.fixture(scope="module")
async def platform(up: Up) -> Up:
    """`up` once every server and service it supervises runs and answers."""

    async def all_running() -> bool:
        with contextlib.suppress(ControlError, OSError):
            rows = await up.rows()
            names = {"kafka", "store", "intake", "workflow", "notifier"}
            return names <= {name for name, row in rows.items() if row["state"] == "running"}
        return False

    await until(all_running, "up runs Kafka, the store and the services", UP_WITHIN_S)
    await until(lambda: ready(up.intake_url), "intake ready", UP_WITHIN_S)
    return up


@pytest.fixture(scope="module")
async def keys(platform: Up) -> Keys:
    settings = IntakeSettings(mongo_url=platform.mongo_url, mongo_database=DATABASE)
    return Keys(
        system=await issue_key(settings, "crm", Role.SYSTEM, None),
        agent=await issue_key(settings, "agent-desk", Role.AGENT, None),
    )


async def ready(url: str) -> bool:
    async with httpx.AsyncClient(timeout=3.0) as client:
        with contextlib.suppress(httpx.HTTPError):
            return (await client.get(f"{url}/readyz")).status_code == 200
    return False


async def ticket_taken_and_served(intake_url: str, keys: Keys) -> str:
    """A ticket POSTed until `202` (one idempotency key), then read until `200`; its id."""
    body = ticket_body(f"cust-{uuid.uuid4().hex[:10]}")
    headers = {"X-API-Key": keys.system, "Idempotency-Key": f"supervised-{uuid.uuid4().hex}"}
    async with httpx.AsyncClient(base_url=intake_url, timeout=10.0) as intake:

        async def accepted() -> str | None:
            with contextlib.suppress(httpx.HTTPError):
                response = await intake.post("/v1/tickets", json=body, headers=headers)
                if response.status_code == 202:
                    return str(response.json()["ticket_id"])
            return None

        ticket_id = await until(accepted, "a ticket POST answered 202", BACK_WITHIN_S)

        async def readable() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                agent = {"X-API-Key": keys.agent}
                response = await intake.get(f"/v1/tickets/{ticket_id}", headers=agent)
                return response.status_code == 200
            return False

        await until(readable, f"ticket {ticket_id} readable", BACK_WITHIN_S)
    return ticket_id


async def back_with_a_new_pid(up: Up, name: str, before: dict[str, Any]) -> dict[str, Any]:
    """The server's row once the supervisor has started it again."""

    async def restarted() -> dict[str, Any] | None:
        row = (await up.rows())[name]
        again = row["restarts"] > before["restarts"] and row["state"] == "running"
        return row if again and row["pid"] != before["pid"] else None

    return await until(restarted, f"{name} restarted by the supervisor", BACK_WITHIN_S)


@pytest.mark.parametrize("name", ["store", "kafka"])
async def test_a_killed_server_is_restarted_and_tickets_flow_again(
    platform: Up, keys: Keys, name: str
) -> None:
    await ticket_taken_and_served(platform.intake_url, keys)
    before = (await platform.rows())[name]

    os.kill(before["pid"], signal.SIGKILL)
    after = await back_with_a_new_pid(platform, name, before)
    await ticket_taken_and_served(platform.intake_url, keys)

    assert after["last_exit"] == -signal.SIGKILL
    assert re.search(
        rf"{name}: exited with signal SIGKILL after [0-9.]+ s; restart \d+ in 1\.0 s",
        platform.supervisor_log(),
    )


async def test_restart_stops_the_store_gracefully_and_starts_it_at_once(
    platform: Up, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (await platform.rows())["store"]
    state_dir = ["--state-dir", str(platform.state_dir)]

    code = await asyncio.to_thread(manage, [*state_dir, "restart", "store"])

    assert code == 0
    after = (await platform.rows())["store"]
    assert capsys.readouterr().out == f"store: restarted (pid {after['pid']})\n"
    assert after["pid"] != before["pid"]
    assert after["restarts"] == before["restarts"] + 1
    assert after["last_exit"] != -signal.SIGKILL  # it ended on SIGTERM, in time
    await ticket_taken_and_served(platform.intake_url, keys)

    async def all_answer() -> bool:
        return await asyncio.to_thread(manage, [*state_dir, "status"]) == 0

    await until(all_answer, "`status` exits 0: everything runs and answers", BACK_WITHIN_S)
    status = capsys.readouterr().out.rsplit("name ", 1)[-1]
    for server in ("kafka", "store"):
        assert re.search(rf"^{server}\s+running\s+\d+\s+\S+\s+\d+\s.*, answering", status, re.M)
