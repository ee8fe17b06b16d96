"""The supervisor `up` runs the services under, with real child processes (`python -c`)."""

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from infra.control import SOCKET_NAME, ControlError, ControlServer, request
from infra.manage import main as manage
from infra.processes import free_port, read_pid_file
from infra.supervisor import Backoff, ChildSpec, ChildState, Supervisor

SLEEPER = "import time; time.sleep(60)"
CRASHER = "import sys; sys.exit(3)"
FAST = Backoff(initial_s=0.1, max_s=0.4, healthy_after_s=5.0)


def spec(tmp_path: Path, name: str, code: str) -> ChildSpec:
    return ChildSpec(
        name=name,
        argv=(sys.executable, "-c", code),
        log_file=tmp_path / "logs" / f"{name}.log",
        pid_file=tmp_path / f"{name}.pid",
        address=f"http://127.0.0.1:1/{name}",
    )


async def eventually(check: Callable[[], bool], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): it has exited but is not reaped yet.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
async def reports() -> list[str]:
    return []


@pytest.fixture
async def supervisor(tmp_path: Path, reports: list[str]) -> AsyncIterator[Supervisor]:
    specs = [spec(tmp_path, "sleeper", SLEEPER), spec(tmp_path, "crasher", CRASHER)]
    running = Supervisor(specs, FAST, reports.append)
    running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def control(tmp_path: Path, supervisor: Supervisor) -> AsyncIterator[Path]:
    path = tmp_path / SOCKET_NAME
    server = ControlServer(supervisor, path, {"sinks": {"email": "smtp://127.0.0.1:1025"}})
    await server.start()
    try:
        yield path
    finally:
        await server.stop()


def test_backoff_doubles_with_each_quick_crash_up_to_its_cap() -> None:
    backoff = Backoff(initial_s=1.0, max_s=30.0)

    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


async def test_a_child_that_keeps_crashing_is_restarted_with_growing_delays(
    supervisor: Supervisor, reports: list[str]
) -> None:
    crasher = supervisor.children["crasher"]

    await eventually(lambda: crasher.restarts >= 4)

    crashes = [line for line in reports if line.startswith("crasher: exited with code 3")]
    delays = [float(re.findall(r"in ([0-9.]+) s$", line)[0]) for line in crashes[:5]]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.4]
    assert crasher.last_exit == 3


async def test_a_killed_child_comes_back_with_a_new_pid(
    tmp_path: Path, supervisor: Supervisor, reports: list[str]
) -> None:
    [before] = [s for s in supervisor.status() if s.name == "sleeper"]
    assert before.state is ChildState.RUNNING
    assert before.pid is not None

    os.kill(before.pid, signal.SIGKILL)
    await eventually(lambda: supervisor.children["sleeper"].restarts == 1)
    await eventually(lambda: supervisor.children["sleeper"].state is ChildState.RUNNING)

    [after] = [s for s in supervisor.status() if s.name == "sleeper"]
    assert after.pid not in (None, before.pid)
    assert after.last_exit == -signal.SIGKILL
    assert "sleeper: exited with signal SIGKILL after" in "\n".join(reports)
    record = read_pid_file(tmp_path / "sleeper.pid")
    assert record is not None
    assert record.pid == after.pid


async def test_the_restart_command_restarts_a_running_child(
    supervisor: Supervisor, control: Path
) -> None:
    old_pid = supervisor.children["sleeper"].status(time.monotonic()).pid
    assert old_pid is not None

    answer = await request(control, {"command": "restart", "service": "sleeper"})

    assert answer["pid"] != old_pid
    assert alive(answer["pid"])
    assert not alive(old_pid)
    status = await request(control, {"command": "status"})
    [sleeper] = [row for row in status["services"] if row["name"] == "sleeper"]
    assert (sleeper["state"], sleeper["pid"], sleeper["restarts"]) == ("running", answer["pid"], 1)
    assert sleeper["last_exit"] == -signal.SIGTERM  # stopped gracefully


async def test_status_reports_each_child_and_the_sinks(control: Path) -> None:
    await asyncio.sleep(0.3)

    status = await request(control, {"command": "status"})

    rows = {row["name"]: row for row in status["services"]}
    assert rows["sleeper"]["state"] == "running"
    assert rows["sleeper"]["uptime_s"] >= 0.3
    assert rows["sleeper"]["address"] == "http://127.0.0.1:1/sleeper"
    assert rows["crasher"]["state"] in {"running", "restarting"}
    assert rows["crasher"]["restarts"] >= 1
    assert status["sinks"] == {"email": "smtp://127.0.0.1:1025"}


async def test_restarting_an_unknown_service_names_the_known_ones(control: Path) -> None:
    with pytest.raises(ControlError, match="no service 'mailer'; services: sleeper, crasher"):
        await request(control, {"command": "restart", "service": "mailer"})


async def test_stop_ends_every_child_and_forgets_their_pid_files(
    tmp_path: Path, supervisor: Supervisor
) -> None:
    pid = supervisor.children["sleeper"].status(time.monotonic()).pid
    assert pid is not None

    await supervisor.stop()

    assert not alive(pid)
    assert {s.state for s in supervisor.status()} == {ChildState.STOPPED}
    assert not (tmp_path / "sleeper.pid").exists()


async def test_a_second_control_server_on_the_same_socket_is_refused(
    supervisor: Supervisor, control: Path
) -> None:
    with pytest.raises(ControlError, match="another `up` is running"):
        await ControlServer(supervisor, control, {}).start()


async def test_the_status_command_shows_the_services_running_under_up(
    tmp_path: Path, control: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command talks to the socket from its own event loop, as from another terminal.
    code = await asyncio.to_thread(manage, ["--state-dir", str(tmp_path), "status"])

    out = capsys.readouterr().out
    assert code == 1  # nothing answers on the children's addresses, no Kafka, no store
    assert re.search(r"^sleeper\s+running\s+\d+\s+\d+s\s+0\s", out, re.MULTILINE)
    assert re.search(r"^kafka\s+stopped", out, re.MULTILINE)
    assert re.search(r"^store\s+stopped", out, re.MULTILINE)
    assert "email sink: smtp://127.0.0.1:1025" in out


def test_status_without_up_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = manage(["--state-dir", str(tmp_path), "status"])

    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^intake\s+stopped .*`./switchboard up` is not running", out, re.MULTILINE)


async def test_status_shows_a_supervised_store_with_its_restarts_and_probe(
    tmp_path: Path, reports: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = ChildSpec(
        name="store",
        argv=(sys.executable, "-c", SLEEPER),
        log_file=tmp_path / "logs" / "store.log",
        address=f"mongodb://127.0.0.1:{free_port()}/",  # nothing answers there
    )
    running = Supervisor([spec(tmp_path, "sleeper", SLEEPER), store], FAST, reports.append)
    running.start()
    server = ControlServer(running, tmp_path / SOCKET_NAME, {})
    await server.start()
    try:
        pid = running.children["store"].status(time.monotonic()).pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await eventually(lambda: running.children["store"].state is ChildState.RUNNING)
        await eventually(lambda: running.children["store"].restarts == 1)

        code = await asyncio.to_thread(manage, ["--state-dir", str(tmp_path), "status"])
    finally:
        await server.stop()
        await running.stop()

    out = capsys.readouterr().out
    assert code == 1
    assert re.search(
        r"^store\s+running\s+\d+\s+\d+s\s+1\s+mongodb://\S+, NOT answering, "
        r"last exit: signal SIGKILL$",
        out,
        re.MULTILINE,
    )
    assert re.search(r"^sleeper\s+running", out, re.MULTILINE)
    assert "not supervised" not in out
