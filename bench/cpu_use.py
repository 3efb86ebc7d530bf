"""Where a run's CPU went: the emulator processes, PostgreSQL, the load
generator, and whatever else the machine ran meanwhile (Linux's /proc).

On a small machine shared by the servers, the database and the load, the
rate alone does not say what limited it; cores busy per part do.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def available() -> bool:
    return (_PROC / "stat").exists()


def process_seconds(pid: int) -> float:
    """CPU seconds (user and system) a process has used; 0 once it is gone."""
    try:
        fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # utime and stime: fields 14 and 15 of the line, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children_of(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (PostgreSQL's backends of its postmaster)."""
    found = []
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def postmaster_pid(data_dir: Path) -> int:
    """The PostgreSQL server's main process, from the first line of its pid file."""
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent not idle, since boot."""
    values = [int(value) for value in (_PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle and iowait
    # guest time is already counted in user time.
    return (sum(values[:8]) - idle) / _TICKS


def load_generator_seconds() -> float:
    """CPU seconds of this process (the Python client's threads) and its finished children (wrk)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Sample:
    emulator: float
    postgres: float
    load: float
    machine: float


def sample(emulator_pids: list[int], postmaster: int | None) -> Sample:
    postgres = 0.0
    if postmaster is not None:
        postgres = sum(process_seconds(pid) for pid in [postmaster, *children_of(postmaster)])
    return Sample(
        emulator=sum(process_seconds(pid) for pid in emulator_pids),
        postgres=postgres,
        load=load_generator_seconds(),
        machine=machine_busy_seconds(),
    )


def cores_busy(before: Sample, after: Sample, seconds: float) -> dict[str, float]:
    """Cores each part kept busy on average over ``seconds``; "other": the rest of the machine's work."""
    parts = {
        "emulator": after.emulator - before.emulator,
        "postgres": after.postgres - before.postgres,
        "load_generator": after.load - before.load,
    }
    busy = {name: used / seconds for name, used in parts.items()}
    busy["other"] = max(0.0, (after.machine - before.machine) / seconds - sum(busy.values()))
    return busy
