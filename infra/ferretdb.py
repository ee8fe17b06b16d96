"""FerretDB (MongoDB wire protocol on embedded SQLite) run from the cached launcher binary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from infra.processes import LOOPBACK, STOP_TIMEOUT, PidRecord, ServerError, ServerProcess, port_open
from infra.provision import ensure_ferretdb_binary


@dataclass
class FerretDBServer:
    """One FerretDB on loopback, its SQLite files in `data_dir`."""

    port: int
    data_dir: Path
    log_file: Path
    binary: Path | None = None  # None: build into the cache on start
    pid_file: Path | None = None
    _process: ServerProcess = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._process = ServerProcess("ferretdb", self.log_file, self.pid_file)

    @property
    def url(self) -> str:
        """The MongoDB connection string."""
        return f"mongodb://{LOOPBACK}:{self.port}/"

    @property
    def pid(self) -> int | None:
        """Pid of the running server, if started or adopted here."""
        return self._process.pid

    def start(self) -> int:
        """Launch FerretDB; return its pid."""
        if self.running():
            raise ServerError(f"ferretdb is already running (pid {self.pid})")
        if port_open(self.port):
            raise ServerError(f"ferretdb port {self.port} is in use")
        binary = self.binary or ensure_ferretdb_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [str(binary), "-listen", f"{LOOPBACK}:{self.port}", "-data", str(self.data_dir)]
        return self._process.start(argv, self.url)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the server answers a ping; raise with its log if it dies."""
        self._process.wait_until(self.is_ready, timeout, [self.log_file])

    def is_ready(self) -> bool:
        """Whether the server answers a ping right now."""
        return mongo_answers(self.url)

    def running(self) -> bool:
        """Whether the server process runs."""
        return self._process.alive()

    def adopt(self) -> PidRecord | None:
        """Take over a server recorded in the pid file by an earlier `start`, if it still runs."""
        return self._process.adopt()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout`)."""
        self._process.stop(timeout)


def mongo_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a MongoDB-protocol server at `url` answers `ping`."""
    address = urlsplit(url)
    # pymongo keeps retrying a refused connection until its timeout; a TCP check is instant.
    if not port_open(address.port or 27017, address.hostname or LOOPBACK):
        return False
    millis = int(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=millis, connectTimeoutMS=millis
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True
