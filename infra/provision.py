"""Fetch the Kafka jars and build the FerretDB launcher into the cache, once per source change."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from infra.paths import INFRA_DIR, cache_dir, ferretdb_binary_path, kafka_libs_dir

KAFKA_POM = INFRA_DIR / "kafka" / "pom.xml"
FERRETDB_SOURCE_DIR = INFRA_DIR / "ferretdb"
FERRETDB_SOURCES = ("main.go", "go.mod", "go.sum")


class ProvisionError(RuntimeError):
    """A build tool is missing or failed."""


def ensure_kafka_libs() -> Path:
    """Return the folder of Kafka's runtime jars, fetching them with Maven if the pom changed."""
    libs = kafka_libs_dir()
    digest = _digest([KAFKA_POM])
    with _locked(libs.parent / ".lock"):
        if _is_current(libs, digest):
            return libs
        _progress("fetching Kafka jars with Maven (first run takes about a minute)")
        started = time.monotonic()
        _replace_dir(libs, _run_maven)
        _write_stamp(libs, digest)
        _progress(f"Kafka jars ready in {time.monotonic() - started:.0f}s")
    return libs


def ensure_ferretdb_binary() -> Path:
    """Return the FerretDB launcher, building it with Go if its sources changed."""
    binary = ferretdb_binary_path()
    digest = _digest([FERRETDB_SOURCE_DIR / name for name in FERRETDB_SOURCES])
    with _locked(binary.parent / ".lock"):
        if _is_current(binary, digest):
            return binary
        _progress("building the FerretDB launcher with Go (first run takes a few minutes)")
        started = time.monotonic()
        _run_go_build(binary)
        _write_stamp(binary, digest)
        _progress(f"FerretDB launcher ready in {time.monotonic() - started:.0f}s")
    return binary


def provision_all() -> tuple[Path, Path]:
    """Provision Kafka and FerretDB side by side; return (kafka libs folder, ferretdb binary)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        libs = pool.submit(ensure_kafka_libs)
        binary = pool.submit(ensure_ferretdb_binary)
        return libs.result(), binary.result()


def _run_maven(output_dir: Path) -> None:
    _run(
        [
            _tool("mvn"),
            "-B",
            "-q",
            "-f",
            str(KAFKA_POM),
            f"-Dmaven.repo.local={cache_dir() / 'm2'}",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={output_dir}",
        ],
        cwd=KAFKA_POM.parent,
    )


def _run_go_build(binary: Path) -> None:
    # Module and build caches live in our cache so one folder holds everything provisioned;
    # -modcacherw keeps that folder deletable with a plain `rm -rf`.
    env = os.environ | {
        "GOMODCACHE": str(cache_dir() / "go" / "mod"),
        "GOCACHE": str(cache_dir() / "go" / "build"),
        "CGO_ENABLED": "0",
    }
    tmp = binary.with_name(binary.name + ".tmp")
    binary.parent.mkdir(parents=True, exist_ok=True)
    _run([_tool("go"), "build", "-modcacherw", "-o", str(tmp), "."], FERRETDB_SOURCE_DIR, env)
    tmp.replace(binary)


def _replace_dir(target: Path, fill: Callable[[Path], None]) -> None:
    # Fill a fresh sibling first so an interrupted fetch never leaves a half-filled folder,
    # and jars the pom no longer names do not linger.
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fill(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)


def _run(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(  # noqa: S603 - fixed build commands, no shell
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ProvisionError(f"{' '.join(argv)} failed ({result.returncode}):\n{output}")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ProvisionError(f"`{name}` is not on PATH; it is needed to provision local infra")
    return path


def _digest(files: Sequence[Path]) -> str:
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return sha.hexdigest()


def _stamp_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + ".sha256")


def _is_current(artifact: Path, digest: str) -> bool:
    stamp = _stamp_path(artifact)
    return artifact.exists() and stamp.exists() and stamp.read_text().strip() == digest


def _write_stamp(artifact: Path, digest: str) -> None:
    _stamp_path(artifact).write_text(digest + "\n")


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    # Parallel test workers may provision at once; the second waits, then finds it done.
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _progress(message: str) -> None:
    print(f"infra: {message}", file=sys.stderr, flush=True)
