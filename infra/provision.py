"""Fetch the Kafka and store jars and compile the store launcher into the cache, once per change."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.paths import INFRA_DIR, cache_dir, kafka_libs_dir, store_runtime_dir

KAFKA_POM = INFRA_DIR / "kafka" / "pom.xml"
STORE_DIR = INFRA_DIR / "store"
STORE_POM = STORE_DIR / "pom.xml"
STORE_MAIN_CLASS = "switchboard.store.StoreServer"


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


@dataclass(frozen=True)
class StoreRuntime:
    """The store's jars and compiled launcher."""

    libs: Path
    classes: Path

    @property
    def classpath(self) -> str:
        """The JVM classpath (the JVM expands the `*` itself; no shell is involved)."""
        return f"{self.classes}:{self.libs / '*'}"


def ensure_store_runtime() -> StoreRuntime:
    """The store's runtime: jars fetched and launcher compiled again when their sources change."""
    runtime_dir = store_runtime_dir()
    digest = _digest([STORE_POM, *_store_sources()])
    with _locked(runtime_dir.parent / ".store.lock"):
        if not _is_current(runtime_dir, digest):
            _progress("fetching the store's jars with Maven and compiling its launcher")
            started = time.monotonic()
            _replace_dir(runtime_dir, _build_store)
            _write_stamp(runtime_dir, digest)
            _progress(f"store ready in {time.monotonic() - started:.0f}s")
    return StoreRuntime(runtime_dir / "libs", runtime_dir / "classes")


def provision_all() -> tuple[Path, StoreRuntime]:
    """Provision Kafka and the store side by side; return (Kafka libs folder, store runtime)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        libs = pool.submit(ensure_kafka_libs)
        store = pool.submit(ensure_store_runtime)
        return libs.result(), store.result()


def _store_sources() -> list[Path]:
    return sorted((STORE_DIR / "src").rglob("*.java"))


def _build_store(output_dir: Path) -> None:
    libs = output_dir / "libs"
    _copy_dependencies(STORE_POM, libs)
    javac = [_tool("javac"), "--release", "17", "-d", str(output_dir / "classes")]
    _run([*javac, "-cp", str(libs / "*"), *map(str, _store_sources())], cwd=STORE_DIR)


def _run_maven(output_dir: Path) -> None:
    _copy_dependencies(KAFKA_POM, output_dir)


def _copy_dependencies(pom: Path, output_dir: Path) -> None:
    _run(
        [
            _tool("mvn"),
            "-B",
            "-q",
            "-f",
            str(pom),
            f"-Dmaven.repo.local={cache_dir() / 'm2'}",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={output_dir}",
        ],
        cwd=pom.parent,
    )


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
