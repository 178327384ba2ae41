"""Is the machine busy? The CPU time other processes took while a trial ran, from ``/proc/stat`` and the trial's
own processes' ``/proc/<pid>/stat``, plus the 1-minute load average.

A timing measured while a neighbour holds a core is not this machine's speed (a 2-core box with one busy neighbour
read 1,092 ms where 0.4 ms is right). Such a trial is *seen*, not guessed: the sample is stored with it, it is
flagged when others used more cores than the trial left free, and the flag sends it back to be measured again
(:data:`seqarena.store.MAX_ATTEMPTS`). Linux only; elsewhere the probe reads nothing and nothing is flagged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path

from seqarena.measure.system import usable_cores

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: Cores of slack: others may use this much more than the cores the trial leaves free before it counts as contended
#: (daemons, the terminal, the driver's progress bar live in it).
SLACK_CORES = 0.5


def load_ignored() -> bool:
    """``SEQARENA_IGNORE_LOAD=1``: record the load with every trial but flag nothing (nothing is re-measured), for a
    machine whose background load you accept, e.g. a CI box that is always busy, or a test suite."""
    return os.environ.get("SEQARENA_IGNORE_LOAD", "").strip() not in ("", "0")


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
        return (user + nice + system + irq + softirq + steal) / _TICK
    return None


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used; 0 when it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces: split after it
        return (int(fields[11]) + int(fields[12])) / _TICK
    return 0.0


@dataclasses.dataclass(frozen=True)
class LoadSample:
    """What other processes did while a trial ran."""

    others_cores: float  # mean cores busy with other processes' work
    loadavg_1m: float | None  # the kernel's 1-minute load average when the trial started
    cores: int  # usable cores
    threads: int  # the trial's threads
    seconds: float  # how long the sample covered

    @property
    def contended(self) -> bool:
        """Others used more cores than the trial left free (plus :data:`SLACK_CORES`)."""
        return self.others_cores > max(0, self.cores - self.threads) + SLACK_CORES

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "contended": self.contended}


class LoadProbe:
    """Started when a trial starts, read when it ends: ``probe = LoadProbe([driver, worker]); ...; probe.read()``."""

    def __init__(self, own_pids: Sequence[int], threads: int) -> None:
        self.pids = list(own_pids)
        self.threads = threads
        self.t0 = time.monotonic()
        self.busy0 = machine_busy_seconds()
        self.own0 = sum(process_cpu_seconds(p) for p in self.pids)
        try:
            self.loadavg = os.getloadavg()[0]
        except OSError:
            self.loadavg = None

    def read(self) -> LoadSample | None:
        """The sample since start; None where /proc is not readable or too little time passed to say."""
        busy1, seconds = machine_busy_seconds(), time.monotonic() - self.t0
        if self.busy0 is None or busy1 is None or seconds < 0.05:
            return None
        own = sum(process_cpu_seconds(p) for p in self.pids) - self.own0
        others = max(0.0, (busy1 - self.busy0) - own) / seconds
        return LoadSample(round(others, 3), self.loadavg, usable_cores(), self.threads, round(seconds, 3))


def busy_now(seconds: float = 0.5) -> LoadSample | None:
    """Sample other processes' load for ``seconds`` with nothing of ours running (before a sweep starts)."""
    probe = LoadProbe([os.getpid()], threads=usable_cores())
    time.sleep(seconds)
    return probe.read()
