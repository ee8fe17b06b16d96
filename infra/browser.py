"""Debian's Chromium for the browser tests: used where it is installed, installed where not.

Playwright drives it through `executable_path`; Playwright's own browser builds are never
downloaded. The packages apt fetches are kept in the cache folder, so a machine that
installs it again (a fresh CI runner with the cache restored) fetches nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infra.paths import cache_dir
from infra.provision import ProvisionError

CHROMIUM = "chromium"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def ensure_chromium() -> Path:
    """The path of a Chromium executable, installing Debian's package when there is none."""
    found = _installed()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise ProvisionError("Chromium is not installed; run `apt-get install -y chromium`")
    archives = cache_dir() / "apt" / "archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    install = [
        "apt-get", "install", "-y", "-q", "--no-install-recommends",
        f"-o=Dir::Cache::Archives={archives}", CHROMIUM,
    ]  # fmt: skip
    if _apt(install) != 0:  # no package lists yet on a fresh machine
        _apt(["apt-get", "update", "-q"])
        if _apt(install) != 0:
            raise ProvisionError("apt-get could not install chromium")
    found = _installed()
    if found is None:
        raise ProvisionError("chromium was installed but is not on PATH")
    return found


def _installed() -> Path | None:
    on_path = shutil.which(CHROMIUM)
    if on_path:
        return Path(on_path)
    return next((Path(p) for p in CHROMIUM_PATHS if Path(p).exists()), None)


def _apt(argv: list[str]) -> int:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(argv, env=environment, capture_output=True, check=False).returncode  # noqa: S603
