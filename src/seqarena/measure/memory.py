"""Memory, two views side by side.

- measured: the exact peak resident memory of a region above its own baseline. On Linux, writing ``5`` to
  ``/proc/self/clear_refs`` resets the kernel's high-water mark, and ``VmHWM`` in ``/proc/self/status`` afterwards is
  the exact peak (it catches short spikes that sampling misses, also inside a spawned worker). Before the reset, what
  earlier work left resident is freed (``gc.collect`` and glibc's ``malloc_trim(0)``), or it would hide part of the
  next peak. On CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``.
- accounted: exact bytes of the tensors autograd saves for backward (saved-tensor hooks), and a model's state bytes
  (``SequenceModel.state_nbytes``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import gc
from pathlib import Path

import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int | None:
    """Current resident set size (None where /proc is unavailable)."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def hwm_bytes() -> int | None:
    """Peak resident set size since the last reset (None where /proc is unavailable)."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib * 1024


def freeze_imports() -> None:
    """Move every object alive now (what the imports made: torch alone is ~1M objects) out of the collector's reach.

    :func:`release_free_memory` runs ``gc.collect()`` before every baseline, and a full collection walks every
    tracked object: ~0.1-0.2 s per call with torch loaded, several calls per trial. Frozen objects are never
    collected, so call this once, after the imports, in a process that then measures (the worker, the tests)."""
    gc.collect()
    gc.freeze()


def release_free_memory() -> None:
    """Return freed heap pages to the OS, so a following baseline is not inflated by earlier work."""
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        with contextlib.suppress(OSError, AttributeError):  # AttributeError: not glibc
            ctypes.CDLL(libc_name).malloc_trim(0)


_carried_peak = 0  # the highest VmHWM seen before a reset since start_process_peak(): nested regions lose nothing


def reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS. False where that is not possible.

    The high-water mark being reset is remembered first, so :func:`process_peak` still knows the peak of an enclosing
    region (a whole trial) after an inner region (one measured call) reset it."""
    global _carried_peak
    _carried_peak = max(_carried_peak, hwm_bytes() or 0)
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def start_process_peak() -> None:
    """Start tracking the process-wide RSS peak of a region that may contain :class:`PeakMemory` regions."""
    global _carried_peak
    reset_peak()
    _carried_peak = 0


def process_peak() -> int | None:
    """Peak RSS since :func:`start_process_peak`, across any resets in between (None without /proc)."""
    now = hwm_bytes()
    return None if now is None else max(_carried_peak, now)


def cpu_peak_supported() -> bool:
    """Whether the exact CPU peak (clear_refs + VmHWM) works on this machine."""
    return hwm_bytes() is not None and reset_peak()


@dataclasses.dataclass
class PeakMemory:
    """Context manager measuring the peak memory of its block above the block's baseline.

    ``peak_bytes`` is None where the platform cannot measure it exactly (no /proc, no reset).
    """

    device: torch.device | str = "cpu"
    baseline_bytes: int | None = None
    peak_bytes: int | None = None  # peak above baseline
    method: str = ""

    def __enter__(self) -> PeakMemory:
        self.device = torch.device(self.device)
        release_free_memory()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline_bytes = torch.cuda.memory_allocated(self.device)
            self.method = "cuda.max_memory_allocated"
        elif reset_peak():
            self.baseline_bytes = hwm_bytes()
            self.method = "VmHWM after clear_refs"
        else:
            self.method = "unsupported"
        return self

    def __exit__(self, *exc) -> None:
        if self.baseline_bytes is None:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            peak = hwm_bytes()
        self.peak_bytes = max(0, peak - self.baseline_bytes)


class SavedTensors:
    """Context manager counting the bytes autograd saves for backward inside the block.

    Each storage counts once (views of one buffer saved twice are one allocation); tensors in ``exclude`` (e.g. the
    model's parameters, which exist anyway) and their views are not counted, so the total is the activations.
    """

    def __init__(self, exclude: list[torch.Tensor] | tuple[torch.Tensor, ...] = ()) -> None:
        self._exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self._seen: dict[int, int] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in self._exclude and ptr != 0:
            self._seen[ptr] = storage.nbytes()
        return t

    @property
    def nbytes(self) -> int:
        """Bytes of the distinct storages saved for backward (excluded tensors left out)."""
        return sum(self._seen.values())

    def __enter__(self) -> SavedTensors:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)
