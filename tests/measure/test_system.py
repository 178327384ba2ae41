"""The environment fingerprint."""

from __future__ import annotations

import os

import pytest
import torch

from seqarena.measure.system import fingerprint, pinned


def test_fingerprint_records_hardware_software_and_settings():
    fp = fingerprint("cpu", torch.bfloat16, seed=7)
    assert fp["device"] == "cpu" and fp["dtype"] == "bfloat16" and fp["seed"] == 7
    assert fp["threads"] == torch.get_num_threads() and fp["torch"] == torch.__version__
    assert fp["cores"] >= 1 and fp["cpu"]
    assert fp["gpu"] is None
    if fp["git_commit"] is not None:  # running from a checkout
        assert len(fp["git_commit"]) == 40 and isinstance(fp["git_dirty"], bool)


def test_a_timed_cpu_trial_is_pinned_to_the_last_cores_and_the_affinity_restored():
    allowed = sorted(os.sched_getaffinity(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # more threads than the pinned core: untimed work would spin on it
    try:
        with pinned(1, "cpu") as cores:
            inside, inside_threads = sorted(os.sched_getaffinity(0)), torch.get_num_threads()
        assert sorted(os.sched_getaffinity(0)) == allowed and torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(threads)
    if len(allowed) < 2:
        assert cores is None and inside == allowed  # one core: nothing to pin
    else:
        assert cores == (allowed[-1],) and inside == [allowed[-1]] and inside_threads == 1
    for threads, device in ((None, "cpu"), (len(allowed), "cpu"), (1, "cuda")):
        with pinned(threads, device) as cores:  # no thread count, every core wanted, or a GPU: left alone
            assert cores is None and sorted(os.sched_getaffinity(0)) == allowed


def test_pinning_is_undone_when_the_block_raises():
    allowed = sorted(os.sched_getaffinity(0))
    with pytest.raises(RuntimeError), pinned(1, "cpu"):
        raise RuntimeError("trial failed")
    assert sorted(os.sched_getaffinity(0)) == allowed
