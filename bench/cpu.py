"""CPU used by each process of the stack over a window, from /proc (Linux; empty elsewhere)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_MACHINE = "machine"


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a live process (all its threads), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime, stime


def machine_busy_seconds() -> float | None:
    """CPU time every core of the machine spent busy since boot (not idle, not waiting on IO)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, first[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS_PER_S


@dataclass
class CpuMeter:
    """Snapshots of named processes' CPU time; `since_mark` turns two into % of one core.

    `other` is what the rest of the machine used meanwhile (other people's servers and
    tests on a shared machine), so a disturbed run can be told apart.
    """

    pids: Mapping[str, int]
    _taken_at: float = field(default=0.0, init=False)
    _seconds: dict[str, float] = field(default_factory=dict, init=False)

    def mark(self) -> None:
        self._taken_at = time.perf_counter()
        self._seconds = self._snapshot()

    def since_mark(self, window: str) -> dict[str, float]:
        """`cpu_<window>_<name>_pct` for each process: 100 means one core busy all along."""
        elapsed = time.perf_counter() - self._taken_at
        now = self._snapshot()
        used = {name: now[name] - before for name, before in self._seconds.items() if name in now}
        if _MACHINE in used:
            machine = used.pop(_MACHINE)
            used["other"] = max(0.0, machine - sum(used.values()))
        return {
            f"cpu_{window}_{name}_pct": 100 * seconds / elapsed for name, seconds in used.items()
        }

    def _snapshot(self) -> dict[str, float]:
        taken = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        taken[_MACHINE] = machine_busy_seconds()
        return {name: seconds for name, seconds in taken.items() if seconds is not None}
