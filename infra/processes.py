"""Server subprocesses: start in their own process group, record by pid file, stop by pid."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
STOP_TIMEOUT = 20.0
POLL_INTERVAL = 0.1


class ServerError(RuntimeError):
    """A server exited early, did not become ready, or its port is taken."""


@dataclass(frozen=True)
class PidRecord:
    """What a pid file holds: the pid, the exact argv it was started with, its address."""

    pid: int
    argv: tuple[str, ...]
    address: str


@dataclass
class ServerProcess:
    """One server subprocess, logged to a file and optionally recorded in a pid file."""

    name: str
    log_file: Path
    pid_file: Path | None = None
    _popen: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _record: PidRecord | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        """Pid of the process this object started or adopted."""
        return self._record.pid if self._record else None

    def start(self, argv: Sequence[str], address: str, env: Mapping[str, str] | None = None) -> int:
        """Launch argv detached from our terminal's signals; return its pid."""
        if self.alive():
            raise ServerError(f"{self.name} is already running (pid {self.pid})")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            # A new session means Ctrl-C in the terminal does not reach the server, and the
            # whole process group can be signalled at stop.
            self._popen = subprocess.Popen(  # noqa: S603 - argv built by this package, no shell
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        self._record = PidRecord(self._popen.pid, tuple(argv), address)
        if self.pid_file:
            write_pid_file(self.pid_file, self._record)
        return self._popen.pid

    def adopt(self) -> PidRecord | None:
        """Take over the live process named in the pid file, if there is one."""
        record = read_pid_file(self.pid_file) if self.pid_file else None
        if record and is_recorded_process(record):
            self._record = record
            return record
        return None

    def alive(self) -> bool:
        """Whether the started or adopted process still runs."""
        if self._popen is not None:
            return self._popen.poll() is None
        return self._record is not None and is_recorded_process(self._record)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout`; forget the pid file."""
        if self._record and self.alive():
            terminate_group(self._record.pid, timeout, lambda: not self.alive())
        if self._popen is not None:
            self._popen.wait()  # reap it, so no zombie is left behind
        self._popen, self._record = None, None
        if self.pid_file:
            self.pid_file.unlink(missing_ok=True)

    def wait_until(self, ready: Callable[[], bool], timeout: float, logs: Sequence[Path]) -> None:
        """Poll `ready` until true; fail early with the log tail if the process dies."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise ServerError(f"{self.name} exited before it was ready\n{log_tail(logs)}")
            if ready():
                return
            if time.monotonic() >= deadline:
                raise ServerError(f"{self.name} not ready after {timeout:.0f}s\n{log_tail(logs)}")
            time.sleep(POLL_INTERVAL)


def terminate_group(pid: int, timeout: float, gone: Callable[[], bool]) -> None:
    """SIGTERM the process group led by `pid`; SIGKILL it if not `gone()` within `timeout`.

    A timeout of 0 sends SIGKILL straight away, which is how tests simulate a crash.
    """
    if timeout <= 0:
        _signal_group(pid, signal.SIGKILL)
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not gone():
        if time.monotonic() >= deadline:
            _signal_group(pid, signal.SIGKILL)
            return
        time.sleep(POLL_INTERVAL)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def write_pid_file(path: Path, record: PidRecord) -> None:
    """Write the record atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    body = {"pid": record.pid, "argv": list(record.argv), "address": record.address}
    tmp.write_text(json.dumps(body) + "\n")
    tmp.replace(path)


def read_pid_file(path: Path) -> PidRecord | None:
    """The record in `path`, or None if it is missing or unreadable."""
    try:
        body = json.loads(path.read_text())
        return PidRecord(int(body["pid"]), tuple(body["argv"]), str(body["address"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_recorded_process(record: PidRecord) -> bool:
    """True only if the pid runs the very command recorded (a recycled pid will not match)."""
    return process_argv(record.pid) == record.argv


def process_argv(pid: int) -> tuple[str, ...] | None:
    """The argv of a live, non-zombie process, or None."""
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        return _linux_argv(proc)
    return _ps_argv(pid)


def _linux_argv(proc: Path) -> tuple[str, ...] | None:
    try:
        # A zombie has exited already; its pid is not ours to signal any more.
        if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
        raw = proc.joinpath("cmdline").read_bytes()
    except (OSError, IndexError):
        return None
    return tuple(arg.decode(errors="replace") for arg in raw.split(b"\0")[:-1]) or None


def _ps_argv(pid: int) -> tuple[str, ...] | None:
    # Without /proc (macOS) ps only gives the joined command line; split it on spaces, which
    # is exact for the argv this package builds from paths without spaces.
    result = subprocess.run(  # noqa: S603 - fixed command, no shell
        ["/bin/ps", "-ww", "-o", "state=,command=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    state, _, command = result.stdout.strip().partition(" ")
    if result.returncode != 0 or not command or state.startswith("Z"):
        return None
    return tuple(command.strip().split(" "))


def log_tail(files: Sequence[Path], lines: int = 40) -> str:
    """The last lines of each existing file, for error messages."""
    parts = []
    for file in files:
        if file.exists():
            text = _read_end(file).decode(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {file} ---\n" + "\n".join(text))
    return "\n".join(parts) or "(no log written)"


def _read_end(file: Path, size: int = 32_768) -> bytes:
    with file.open("rb") as handle:
        handle.seek(max(0, file.stat().st_size - size))
        return handle.read()


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free right now."""
    with contextlib.ExitStack() as stack:
        # Keep every socket bound until all are chosen, so the kernel never repeats a port.
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    """A loopback port free right now."""
    return free_ports(1)[0]


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
