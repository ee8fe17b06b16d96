"""Where the repository, the infra sources and the ignored provisioning cache live."""

from __future__ import annotations

import os
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
CACHE_DIR_ENV = "SWITCHBOARD_CACHE_DIR"


def env_port(variable: str, default: int) -> int:
    """A port from the environment, or the default."""
    return int(os.environ.get(variable, default))


def cache_dir() -> Path:
    """The cache folder: `$SWITCHBOARD_CACHE_DIR` if set, else `<repo>/.cache`."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured).expanduser().resolve() if configured else REPO_ROOT / ".cache"


def kafka_libs_dir() -> Path:
    """Folder of the Kafka broker's runtime jars."""
    return cache_dir() / "kafka" / "libs"


def store_runtime_dir() -> Path:
    """The store's jars (`libs/`) and its launcher compiled from `infra/store` (`classes/`)."""
    return cache_dir() / "store"


def default_state_dir() -> Path:
    """Pid files, data and logs of the servers that `python -m infra start` runs."""
    return cache_dir() / "run"
