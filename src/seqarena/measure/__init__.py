"""Trackers: time, memory, FLOPs and the environment fingerprint. They import models only, never the harness."""

from seqarena.measure.memory import PeakMemory, SavedTensors, cpu_peak_supported, hwm_bytes, rss_bytes
from seqarena.measure.timer import TimingStats, num_threads, time_callable, time_interleaved

__all__ = [
    "PeakMemory",
    "SavedTensors",
    "TimingStats",
    "cpu_peak_supported",
    "hwm_bytes",
    "num_threads",
    "rss_bytes",
    "time_callable",
    "time_interleaved",
]
