"""Choosing an executor, and the Ray executor's placement rules on made-up nodes (no cluster: the cluster itself is
tested in test_ray_cluster.py)."""

from __future__ import annotations

import pytest

from seqarena.bench.spec import make_trial, target_cores
from seqarena.errors import SpecError
from seqarena.run import executors
from seqarena.run.ray_executor import Node, RayExecutor, _check_reachable

KIND = {"cpu": "test CPU", "cores": "8", "gpu": None, "torch": "t"}


def _executor(*nodes: Node) -> RayExecutor:
    ex = object.__new__(RayExecutor)  # the placement rules only: no connection
    ex.kind_nodes, ex.nodes, ex.machine = list(nodes), list(nodes), KIND
    return ex


def _node(name: str, cpus: float = 8, slots: float = 1) -> Node:
    return Node(id=name * 4, host=name, cpus=cpus, slots=slots, identity=KIND, train_cpus=cpus / 2)


TIMED = make_trial(scenario="forward_latency", model="gru", options={"d_model": 16}, params=None, seq_len=8, batch=1)
TRAIN = make_trial(scenario="train", model="gru", options={"d_model": 16}, params=None, task="copy",
                   task_params={"distance": 4}, steps=3, batch=4)


def test_unknown_executors_and_a_stray_address_are_one_line_errors():
    with pytest.raises(SpecError, match="unknown executor 'slurm'; available: local"), executors.executing("slurm"):
        pass
    with pytest.raises(SpecError, match="--address is for --executor ray"), executors.executing("local", "h:1"):
        pass
    for bad in ("nohost", "host:port"):
        with pytest.raises(SpecError, match="--address must be host:port"):
            _check_reachable(bad)


def test_the_local_executor_is_the_default_and_use_executor_scopes_another():
    assert executors.current_executor().name == "local"
    ex = _executor(_node("a"))
    with executors.use_executor(ex):
        assert executors.current_executor() is ex
    assert executors.current_executor().name == "local"


def test_a_timing_trial_takes_a_whole_idle_node_with_a_slot():
    head, worker = _node("head", slots=0), _node("w")
    ex = _executor(head, worker)
    assert ex._place(TIMED) is worker
    worker.timing = 1
    assert ex._place(TIMED) is None  # one timing trial per node
    worker.timing, worker.training = 0, 1
    assert ex._place(TIMED) is None  # and never beside a training trial
    assert worker.reserved  # ... whose node it now waits for: no new training goes there
    assert ex._place(TRAIN) is head


def test_training_takes_a_fraction_of_the_cpus_and_never_joins_a_timing_trial():
    a, b = _node("a"), _node("b")
    ex = _executor(a, b)
    a.timing = 1
    assert ex._place(TRAIN) is b
    b.training = 2  # 2 x 4 of its 8 CPUs
    assert ex._place(TRAIN) is None
    b.alive = False
    a.timing = 0
    assert ex._place(TRAIN) is a and ex._can_ever(TIMED)
    a.alive = False
    assert not ex._can_ever(TIMED) and not ex._can_ever(TRAIN)


def test_the_progress_note_counts_busy_idle_and_lost_nodes():
    a, b, c = _node("a"), _node("b"), _node("c")
    a.timing, c.alive = 1, False
    assert _executor(a, b, c).progress_note() == " [nodes 1 busy / 1 idle, 1 lost]"


def test_inside_a_cluster_kind_threads_are_checked_against_its_cores():
    from seqarena.bench.spec import check_threads, judged_as

    with judged_as(KIND):
        assert target_cores() == 8
        check_threads(8)
        with pytest.raises(SpecError, match="more than the 8 usable CPU cores of the measuring machine"):
            check_threads(9)


def test_trials_are_checked_against_the_smallest_node_memory_of_the_kind():
    from seqarena.bench.spec import measured_with_memory

    small, big = _node("a"), _node("b")
    small.memory, big.memory = (100 * 2**20, "RAM"), (64 * 2**30, "RAM")
    assert _executor(small, big, _node("c")).memory == (100 * 2**20, "RAM")  # c did not say: left out
    assert _executor(_node("c")).memory is None
    wide = {"scenario": "forward_latency", "model": "gru", "options": {"d_model": 16}, "params": None,
            "seq_len": 1024, "batch": 128, "vocab_size": 256}  # (1024 * 128, 256) float32 logits: 128 MiB
    make_trial(**wide)  # fits this machine
    with measured_with_memory(small.memory), pytest.raises(
            SpecError, match=r"needs at least 0.1 GiB, more than the measuring machine's 0.1 GiB of RAM"):
        make_trial(**wide)


def test_the_cli_says_in_one_line_when_nothing_listens_at_the_address(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "seqarena", "bench", "forward_latency", "-m", "gru", "--db",
                        str(tmp_path / "r.db"), "--executor", "ray", "--address", "127.0.0.1:9"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and not (tmp_path / "r.db").exists()
    assert r.stderr.strip().splitlines() == [
        "seqarena: error: cannot reach the Ray cluster at 127.0.0.1:9: Connection refused (is `ray start --head` "
        "running there?)"]
