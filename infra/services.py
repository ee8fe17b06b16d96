"""The three Switchboard services as subprocesses: for the platform command, tests and benches."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.paths import REPO_ROOT
from infra.processes import LOOPBACK, ServerProcess, free_ports

SERVICE_NAMES = ("workflow", "notifier", "intake")
READY_TIMEOUT = 60.0


@dataclass
class SwitchboardService:
    """One service (`python -m services.<name>`), ready when its `/readyz` answers 200."""

    name: str
    port: int
    env: Mapping[str, str]
    log_dir: Path
    pid_dir: Path | None = None
    process: ServerProcess = field(init=False)

    def __post_init__(self) -> None:
        pid_file = self.pid_dir / f"{self.name}.pid" if self.pid_dir else None
        self.process = ServerProcess(self.name, self.log_dir / f"{self.name}.log", pid_file)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def argv(self) -> tuple[str, ...]:
        """The command that runs this service."""
        return (sys.executable, "-m", f"services.{self.name}")

    def start(self) -> int:
        return self.process.start(self.argv, f"{LOOPBACK}:{self.port}", self.env)

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=3.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        self.process.wait_until(self.is_ready, timeout, [self.process.log_file])

    def running(self) -> bool:
        return self.process.alive()

    def stop(self, timeout: float = 20.0) -> None:
        self.process.stop(timeout)

    def kill(self) -> None:
        """Stop at once, as a crash would: no graceful shutdown."""
        self.process.stop(timeout=0.0)


@dataclass
class Platform:
    """intake, workflow and notifier, wired to one Kafka and one database."""

    kafka_bootstrap: str
    mongo_url: str
    log_dir: Path
    database: str = "switchboard"
    ports: Mapping[str, int] | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    pid_dir: Path | None = None
    services: dict[str, SwitchboardService] = field(init=False)

    def __post_init__(self) -> None:
        ports = dict(self.ports or zip(SERVICE_NAMES, free_ports(len(SERVICE_NAMES)), strict=True))
        env = self.environment(ports)
        self.services = {
            name: SwitchboardService(name, ports[name], env, self.log_dir, self.pid_dir)
            for name in SERVICE_NAMES
        }

    def environment(self, ports: Mapping[str, int]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(REPO_ROOT),
                "SWITCHBOARD_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
                "SWITCHBOARD_MONGO_URL": self.mongo_url,
                "SWITCHBOARD_MONGO_DATABASE": self.database,
                **{f"SWITCHBOARD_{name.upper()}_PORT": str(port) for name, port in ports.items()},
                **self.extra_env,
            }
        )
        return env

    @property
    def intake_url(self) -> str:
        return self.services["intake"].url

    def start(self, names: Iterable[str] = SERVICE_NAMES, timeout: float = READY_TIMEOUT) -> None:
        chosen = [self.services[name] for name in names]
        for service in chosen:
            if not service.running():
                service.start()
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            for future in [pool.submit(s.wait_ready, timeout) for s in chosen]:
                future.result()

    def stop(self) -> None:
        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            list(pool.map(lambda service: service.stop(), self.services.values()))
