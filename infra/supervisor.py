"""Keeps child processes running: a crashed child is restarted after an exponential backoff.

A small asyncio supervisor of our own rather than supervisord or circus: those are daemons
with config files of their own and their own process model, while `up` already owns its
children (new session, log file, pid file, stop by pid) and only needs restart-on-exit,
a backoff and a status. Children are watched by polling their `Popen`, which keeps
spawning synchronous, so a cancelled watcher can never leave a process unaccounted for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from infra.processes import PidRecord, write_pid_file

POLL_S = 0.1
STOP_TIMEOUT_S = 20.0


class ChildState(StrEnum):
    RUNNING = "running"
    RESTARTING = "restarting"  # exited; waiting out its backoff
    STOPPED = "stopped"


@dataclass(frozen=True)
class Backoff:
    """Delay before restarting a crashed child: doubles with each quick crash, up to `max_s`.

    A child that ran for `healthy_after_s` or longer before it exited counts as healthy
    again: its next restart waits only `initial_s`.
    """

    initial_s: float = 1.0
    max_s: float = 30.0
    healthy_after_s: float = 30.0

    def delay(self, quick_crashes: int) -> float:
        """The wait before restart number `quick_crashes` of a run of quick crashes (from 1)."""
        return float(min(self.max_s, self.initial_s * 2 ** max(0, quick_crashes - 1)))


@dataclass(frozen=True)
class ChildSpec:
    """How to run one child: argv, environment, where it logs and records its pid."""

    name: str
    argv: tuple[str, ...]
    log_file: Path
    env: Mapping[str, str] | None = None
    pid_file: Path | None = None
    address: str = ""  # shown by status (e.g. the service's URL)


@dataclass(frozen=True)
class ChildStatus:
    """What `status` shows of one child."""

    name: str
    state: ChildState
    pid: int | None
    uptime_s: float | None
    restarts: int
    last_exit: int | None
    restart_in_s: float | None
    address: str


Report = Callable[[str], None]


def describe_exit(code: int) -> str:
    """`code 3`, or `signal SIGKILL` for a child killed by a signal (negative return code)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


@dataclass
class SupervisedChild:
    """One child and the task that restarts it whenever it exits."""

    spec: ChildSpec
    backoff: Backoff
    report: Report
    state: ChildState = ChildState.STOPPED
    restarts: int = 0
    last_exit: int | None = None
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _started_at: float = 0.0
    _restart_at: float | None = None
    _quick_crashes: int = 0
    _watcher: asyncio.Task[None] | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def start(self) -> None:
        self._spawn()
        self._watcher = asyncio.create_task(self._watch(), name=f"supervise-{self.spec.name}")

    async def restart(self) -> int:
        """Stop the child (gracefully) and start it again at once; return the new pid."""
        async with self._lock:
            await self._cancel_watcher()
            await self._terminate()
            self.restarts += 1
            self._quick_crashes = 0
            self.report(f"{self.spec.name}: restarting on request")
            self.start()
            assert self._popen is not None
            return self._popen.pid

    async def stop(self) -> None:
        async with self._lock:
            await self._cancel_watcher()
            await self._terminate()
            self.state, self._restart_at = ChildState.STOPPED, None
            if self.spec.pid_file:
                self.spec.pid_file.unlink(missing_ok=True)

    def status(self, now: float) -> ChildStatus:
        running = self.state is ChildState.RUNNING and self._popen is not None
        return ChildStatus(
            name=self.spec.name,
            state=self.state,
            pid=self._popen.pid if running and self._popen else None,
            uptime_s=now - self._started_at if running else None,
            restarts=self.restarts,
            last_exit=self.last_exit,
            restart_in_s=max(0.0, self._restart_at - now) if self._restart_at else None,
            address=self.spec.address,
        )

    def _spawn(self) -> None:
        self.spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_file.open("ab") as log:
            # A new session: Ctrl-C in `up`'s terminal does not reach the child, and the
            # child's whole process group can be signalled at stop.
            self._popen = subprocess.Popen(  # noqa: S603 - argv built by infra, no shell
                list(self.spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if self.spec.env is None else dict(self.spec.env),
                start_new_session=True,
            )
        self._started_at, self._restart_at = time.monotonic(), None
        self.state = ChildState.RUNNING
        if self.spec.pid_file:
            record = PidRecord(self._popen.pid, self.spec.argv, self.spec.address)
            write_pid_file(self.spec.pid_file, record)

    async def _watch(self) -> None:
        while True:
            code = await self._exited()
            ran_s = time.monotonic() - self._started_at
            healthy = ran_s >= self.backoff.healthy_after_s
            self._quick_crashes = 1 if healthy else self._quick_crashes + 1
            delay = self.backoff.delay(self._quick_crashes)
            self.state, self.last_exit = ChildState.RESTARTING, code
            self._restart_at = time.monotonic() + delay
            self.report(
                f"{self.spec.name}: exited with {describe_exit(code)} after {ran_s:.1f} s; "
                f"restart {self.restarts + 1} in {delay:.1f} s"
            )
            await asyncio.sleep(delay)
            self.restarts += 1
            self._spawn()

    async def _exited(self) -> int:
        assert self._popen is not None
        # A Popen has no awaitable exit; polling it keeps spawning synchronous (see above).
        while (code := self._popen.poll()) is None:  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
        return code

    async def _cancel_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _terminate(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the child's process group; SIGKILL it if still there after `timeout_s`."""
        popen = self._popen
        # An unreaped child keeps its pid, so the group signalled here is still ours.
        if popen is None or popen.poll() is not None:
            return
        _signal_group(popen.pid, signal.SIGTERM)
        deadline: float | None = time.monotonic() + timeout_s
        while popen.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                _signal_group(popen.pid, signal.SIGKILL)
                deadline = None
            await asyncio.sleep(POLL_S)
        self.last_exit = popen.returncode


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


class UnknownChild(KeyError):
    """A restart named a child this supervisor does not run."""


class Supervisor:
    """Runs every child given, restarts each one that exits, until `stop`."""

    def __init__(self, specs: Iterable[ChildSpec], backoff: Backoff, report: Report) -> None:
        self.children = {spec.name: SupervisedChild(spec, backoff, report) for spec in specs}

    def start(self, names: Iterable[str] | None = None) -> None:
        """Start the children named (all of them by default)."""
        for child in self._chosen(names):
            child.start()

    async def restart(self, name: str) -> int:
        if name not in self.children:
            raise UnknownChild(name)
        return await self.children[name].restart()

    def status(self) -> list[ChildStatus]:
        now = time.monotonic()
        return [child.status(now) for child in self.children.values()]

    async def stop(self, names: Iterable[str] | None = None) -> None:
        """Stop the children named (all of them by default), side by side."""
        await asyncio.gather(*(child.stop() for child in self._chosen(names)))

    def _chosen(self, names: Iterable[str] | None) -> list[SupervisedChild]:
        if names is None:
            return list(self.children.values())
        return [self.children[name] for name in names]
