"""The supervisor's control socket: `status` and `restart` from another terminal.

A Unix-domain socket in the state folder, one JSON request and one JSON answer per
connection. Chosen over a state file plus signals because the answer comes from the
supervisor itself (a restart reports the new pid, or why it could not), nothing on disk
can go stale while `up` runs, and a refused connection says plainly that `up` is not
running. Chosen over an HTTP port because it needs no port, and only users who can
open the state folder can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from infra.supervisor import Supervisor, UnknownChild

SOCKET_NAME = "supervisor.sock"
REQUEST_LIMIT = 4096
ANSWER_TIMEOUT_S = 30.0  # a graceful restart may take a service's whole stop timeout


class ControlError(RuntimeError):
    """No supervisor answers on the socket, or it refused the request."""


class ControlServer:
    """Answers `status` and `restart` requests for one supervisor on a Unix socket."""

    def __init__(self, supervisor: Supervisor, path: Path, extra_status: dict[str, Any]) -> None:
        self._supervisor = supervisor
        self._path = path
        self._extra = extra_status  # what `status` shows beside the children (the sinks)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        if await supervisor_answers(self._path):
            raise ControlError(f"another `up` is running (control socket {self._path})")
        self._path.unlink(missing_ok=True)  # left behind by an `up` that was killed
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self._path))
        self._path.chmod(0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            answer = await self._answer(line[:REQUEST_LIMIT])
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "the request is not JSON"}
        match request:
            case {"command": "status"}:
                children = [asdict(status) for status in self._supervisor.status()]
                return {"ok": True, "services": children, **self._extra}
            case {"command": "restart", "service": str(name)}:
                return await self._restart(name)
            case _:
                return {"ok": False, "error": "ask for status, or restart with a service"}

    async def _restart(self, name: str) -> dict[str, Any]:
        try:
            pid = await self._supervisor.restart(name)
        except UnknownChild:
            known = ", ".join(self._supervisor.children)
            return {"ok": False, "error": f"no service {name!r}; services: {known}"}
        return {"ok": True, "service": name, "pid": pid}


async def request(path: Path, body: dict[str, Any]) -> dict[str, Any]:
    """Send one request to the supervisor at `path`; its answer, or ControlError."""
    try:
        reader, writer = await asyncio.open_unix_connection(str(path))
    except (FileNotFoundError, ConnectionRefusedError) as error:
        raise ControlError("`./switchboard up` is not running") from error
    try:
        writer.write(json.dumps(body).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), ANSWER_TIMEOUT_S)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    answer: dict[str, Any] = json.loads(line)
    if not answer.get("ok"):
        raise ControlError(str(answer.get("error", "refused")))
    return answer


async def supervisor_answers(path: Path) -> bool:
    """Whether a supervisor listens on `path` (a socket left by a killed `up` does not)."""
    try:
        await request(path, {"command": "status"})
    except (ControlError, OSError, ValueError):
        return False
    return True
