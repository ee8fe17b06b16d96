"""The embedded document store: mongo-java-server on H2 through the launcher in `infra/store`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from infra.kafka import find_java
from infra.processes import LOOPBACK, STOP_TIMEOUT, PidRecord, ServerError, ServerProcess, port_open
from infra.provision import STORE_MAIN_CLASS, StoreRuntime, ensure_store_runtime

DATA_FILE = "switchboard.mv.db"
# The wire layer logs every connection at INFO; only its warnings are worth a line.
QUIET_LOGGERS = ("de.bwaldvogel.mongo.wire", "de.bwaldvogel.mongo.backend")


@dataclass
class StoreServer:
    """One store on loopback, its MVStore file in `data_dir`."""

    port: int
    data_dir: Path
    log_file: Path
    pid_file: Path | None = None
    heap_max: str = "2g"
    java: str | None = None  # None: $JAVA_HOME/bin/java, else `java` on PATH
    _process: ServerProcess = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._process = ServerProcess("store", self.log_file, self.pid_file)

    @property
    def url(self) -> str:
        """The MongoDB connection string."""
        return f"mongodb://{LOOPBACK}:{self.port}/"

    @property
    def pid(self) -> int | None:
        """Pid of the running server, if started or adopted here."""
        return self._process.pid

    def start(self) -> int:
        """Launch the store; return its pid."""
        if self.running():
            raise ServerError(f"store is already running (pid {self.pid})")
        return self._process.start(self.prepare(), self.url)

    def prepare(self) -> tuple[str, ...]:
        """Build the runtime if needed; the command that runs the store on its data folder.

        The command alone may be run again and again (a supervisor restarting a store that
        died).
        """
        if port_open(self.port):
            raise ServerError(f"store port {self.port} is in use")
        runtime = ensure_store_runtime()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return tuple(self._command(runtime))

    def _command(self, runtime: StoreRuntime) -> list[str]:
        quiet = [f"-Dorg.slf4j.simpleLogger.log.{name}=warn" for name in QUIET_LOGGERS]
        return [
            self.java or find_java(),
            "-Xms128m",
            f"-Xmx{self.heap_max}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            *quiet,
            "-cp",
            runtime.classpath,
            STORE_MAIN_CLASS,
            LOOPBACK,
            str(self.port),
            str(self.data_dir / DATA_FILE),
        ]

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

    def kill(self) -> None:
        """SIGKILL the server at once, as a crash would."""
        self._process.stop(0.0)


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
