"""A single-node Apache Kafka (KRaft, combined broker and controller) run from the cached jars."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from infra.paths import INFRA_DIR
from infra.processes import LOOPBACK, STOP_TIMEOUT, PidRecord, ServerError, ServerProcess, port_open
from infra.provision import ensure_kafka_libs

LOG4J_CONFIG = INFRA_DIR / "kafka" / "log4j2.properties"
NODE_ID = 1


@dataclass
class KafkaServer:
    """One Kafka broker+controller on loopback, its data and logs in the given folders."""

    port: int
    controller_port: int
    data_dir: Path
    log_dir: Path
    heap_min: str = "256m"
    heap_max: str = "768m"
    libs_dir: Path | None = None  # None: provision into the cache on start
    java: str | None = None  # None: $JAVA_HOME/bin/java, else `java` on PATH
    pid_file: Path | None = None
    _process: ServerProcess = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._process = ServerProcess("kafka", self.log_dir / "kafka.out", self.pid_file)

    @property
    def bootstrap_servers(self) -> str:
        """The `host:port` clients bootstrap from."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Pid of the running broker, if started or adopted here."""
        return self._process.pid

    @property
    def properties_file(self) -> Path:
        """The generated server.properties."""
        return self.data_dir / "server.properties"

    @property
    def log_file(self) -> Path:
        """Where the broker's stdout and stderr go (its own log is `server.log` beside it)."""
        return self._process.log_file

    def start(self) -> int:
        """Write the config, format storage on first use, launch the broker; return its pid."""
        if self.running():
            raise ServerError(f"kafka is already running (pid {self.pid})")
        return self._process.start(self.prepare(), self.bootstrap_servers)

    def prepare(self) -> tuple[str, ...]:
        """Write the config and format storage on first use; the command that runs the broker.

        The command alone may be run again and again on the same folders (a supervisor
        restarting a broker that died).
        """
        if port_open(self.port) or port_open(self.controller_port):
            raise ServerError(f"kafka ports {self.port}/{self.controller_port} are in use")
        libs = self.libs_dir or ensure_kafka_libs()
        java = self.java or find_java()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_properties()
        self._format_storage(java, libs)
        return tuple(self._server_command(java, libs))

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the broker answers a metadata request; raise with its log if it dies."""
        logs = [self._process.log_file, self.log_dir / "server.log"]
        self._process.wait_until(self.is_ready, timeout, logs)

    def is_ready(self) -> bool:
        """Whether the broker answers a metadata request right now."""
        return kafka_answers(self.bootstrap_servers)

    def running(self) -> bool:
        """Whether the broker process runs."""
        return self._process.alive()

    def adopt(self) -> PidRecord | None:
        """Take over a broker recorded in the pid file by an earlier `start`, if it still runs."""
        return self._process.adopt()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after `timeout`)."""
        self._process.stop(timeout)

    def _storage_dir(self) -> Path:
        return self.data_dir / "kraft"

    def _write_properties(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = broker_properties(self.port, self.controller_port, self._storage_dir())
        lines = [f"{key}={_escape(value)}" for key, value in props.items()]
        self.properties_file.write_text("\n".join(lines) + "\n")

    def _format_storage(self, java: str, libs: Path) -> None:
        if (self._storage_dir() / "meta.properties").exists():
            return  # formatted before; skipping saves a JVM start on every restart
        argv = [java, "-Xmx256m", "-cp", _classpath(libs), "kafka.tools.StorageTool", "format"]
        argv += ["-t", self._cluster_id(), "-c", str(self.properties_file), "--ignore-formatted"]
        # Static quorum (controller.quorum.voters), so no --standalone: the two are exclusive.
        result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise ServerError(f"kafka storage format failed:\n{result.stdout}{result.stderr}")

    def _cluster_id(self) -> str:
        # Kept beside the data, so a re-format after a lost meta.properties keeps the same id.
        id_file = self.data_dir / "cluster.id"
        if not id_file.exists():
            id_file.write_text(new_cluster_id() + "\n")
        return id_file.read_text().strip()

    def _server_command(self, java: str, libs: Path) -> list[str]:
        return [
            java,
            f"-Xms{self.heap_min}",
            f"-Xmx{self.heap_max}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            # Kafka logs its own shutdown from a JVM shutdown hook; log4j's hook would race it
            # and close the log file half-way through.
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp",
            _classpath(libs),
            "kafka.Kafka",
            str(self.properties_file),
        ]


def broker_properties(port: int, controller_port: int, storage_dir: Path) -> dict[str, str]:
    """server.properties of one combined node on loopback, sized for a laptop or CI runner."""
    return {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{LOOPBACK}:{controller_port}",
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(storage_dir),
        # One node: every internal topic must accept a single replica.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        "default.replication.factor": "1",
        # One partition for internal topics: the first group join or transaction is much
        # faster than creating the default 50.
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        # After a crash (SIGKILL) the restarted broker is refused until its old session
        # expires: 9 s by default, 4 s here, so broker-outage tests recover quickly.
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "1000",
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.partitions": "3",
        # The application declares its topics; a typo must not silently create a new one.
        "auto.create.topics.enable": "false",
    }


def kafka_answers(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """Whether a broker at `host:port` answers a metadata request that lists a broker."""
    host, _, port = bootstrap_servers.rpartition(":")
    # A TCP check first keeps aiokafka from logging connection errors while the JVM boots.
    if not port_open(int(port), host):
        return False
    return _run_coroutine(_metadata_lists_brokers(bootstrap_servers, timeout))


async def _metadata_lists_brokers(bootstrap_servers: str, request_timeout: float) -> bool:
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(request_timeout * 1000)
    )
    try:
        async with asyncio.timeout(2 * request_timeout):
            await client.bootstrap()
            # A second request through the advertised listener proves that address works too.
            metadata = await client.fetch_all_metadata()
        return bool(metadata.brokers())
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()


def _run_coroutine(coroutine: Coroutine[Any, Any, bool]) -> bool:
    # Callers may already be inside an event loop (async test fixtures); asyncio.run would
    # refuse there, so the probe then gets a loop of its own in a worker thread.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def new_cluster_id() -> str:
    """A cluster id as `kafka-storage random-uuid` makes it: a url-safe base64 UUID."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # Kafka rejects these: they read as CLI flags
            return cluster_id


def find_java() -> str:
    """The java executable: `$JAVA_HOME/bin/java`, else `java` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ServerError("no java found (set JAVA_HOME or put java 17+ on PATH)")
    return java


def _classpath(libs: Path) -> str:
    return str(libs / "*")  # the JVM expands the wildcard itself; no shell is involved


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\")  # backslash is the only escape in a property value
