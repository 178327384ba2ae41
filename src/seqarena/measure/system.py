"""The environment fingerprint stored with every result: what ran, where, with which settings."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import torch


@cache
def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    """CPU cores this process may run on (affinity and container limits), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def timing_threads(cores: int | None = None) -> int:
    """torch threads of the claims' and the recommender's timing and memory trials: half the usable cores, at least
    one. A neighbour process on the other half then leaves the timed threads alone: with both cores of a 2-core box
    timed, one busy neighbour moved an LSTM-vs-transformer ratio from 0.79 to 1.22 (spin-waiting OpenMP threads
    preempted); with one thread it read 0.78 quiet and 0.86 busy. Every row records the count it ran with.
    ``cores``: those of the machine the trials run on (a cluster's node kind; default: this process's)."""
    return max(1, (cores or usable_cores()) // 2)


def _allowed() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def beside_cores(reserved: int) -> tuple[int, ...] | None:
    """The usable cores left when the last ``reserved`` hold a timed trial (:func:`pinned`), where an untimed
    (quality) trial may run at the same time; None when none would be left or affinity is unavailable."""
    allowed = _allowed()
    return tuple(allowed[:-reserved]) if reserved and len(allowed) > reserved else None


@contextlib.contextmanager
def _pin(cores: tuple[int, ...] | None) -> Iterator[tuple[int, ...] | None]:
    """This process on ``cores`` for the block, torch's thread count at most their number; both restored after."""
    if not cores:
        yield None
        return
    allowed, before = _allowed(), torch.get_num_threads()
    os.sched_setaffinity(0, cores)
    # torch's thread count stays within the pinned cores for the whole block, untimed work included: OpenMP threads
    # beyond them spin-wait for a core at every parallel region (an LSTM step took 11 ms instead of 0.1 ms)
    torch.set_num_threads(min(before, len(cores)))
    try:
        yield cores
    finally:
        torch.set_num_threads(before)
        os.sched_setaffinity(0, allowed)


def pinned(threads: int | None, device: str = "cpu") -> contextlib.AbstractContextManager[tuple[int, ...] | None]:
    """Pin this process to the last ``threads`` of its usable cores for the block (a timed CPU trial), with torch's
    thread count at most ``threads`` inside; both are restored after. Yields the cores, or None when nothing was
    pinned (a GPU trial, no thread count, all cores wanted, or a platform without affinity). Why: an unpinned
    1-thread worker migrates between the cores, and each move runs on a cold cache; here the per-round s.d. of an
    LSTM/transformer latency ratio (n = 128-512, 8 rounds, interleaved) was 0.089 and 0.064 unpinned, 0.030 and
    0.039 pinned."""
    allowed = _allowed()
    if device != "cpu" or not threads or not allowed or threads >= len(allowed):
        return _pin(None)
    return _pin(tuple(allowed[-threads:]))


def pinned_beside(reserved: int, device: str = "cpu") -> contextlib.AbstractContextManager[tuple[int, ...] | None]:
    """Pin this process to :func:`beside_cores` for the block: an untimed trial running while timed trials hold the
    last ``reserved`` cores, so that it never shares their cores (None, nothing pinned: no such cores, or a GPU)."""
    return _pin(beside_cores(reserved) if device == "cpu" else None)


def ram_bytes() -> int | None:
    """Total physical memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def git_commit(path: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the source tree seqarena runs from; (None, None) outside a git checkout."""
    path = path or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=path, capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def _version_of(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def fingerprint(
    device: torch.device | str = "cpu", dtype: torch.dtype | str = "float32", seed: int | None = None
) -> dict:
    """Hardware, software and settings for one result record."""
    device = torch.device(device)
    commit, dirty = git_commit()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "threads": torch.get_num_threads(),
        "ram_bytes": ram_bytes(),
        "gpu": gpu,
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "seed": seed,
        "torch": torch.__version__,
        "transformers": _version_of("transformers"),  # the HF architectures' code (None without the hf extra)
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
        "git_dirty": dirty,
    }
