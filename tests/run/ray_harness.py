"""Runs inside its own network namespace (tests/run/test_ray_cluster.py starts it under ``unshare -n``): a Ray test
cluster on this machine (a head with no timing slot and two worker nodes with one each, ``ray.cluster_utils``),
sweeps on it, and a node removed under a running trial. What happened goes to OUT/results.json for the tests.

Usage: python tests/run/ray_harness.py OUT [--only NAME ...] (names: sweep, lost, exhausted, cli; default: the
first three)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

FAST = {"params": None, "vocab_size": 32, "batch": 1, "repeats": 2, "min_seconds": 0.0, "warmup": 1, "threads": 1}
#: Ray learns of a dead node from its health checks; these make that seconds, not half a minute
SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 3,
                 "health_check_initial_delay_ms": 0}


def _rows(db: Path) -> list[dict[str, Any]]:
    from seqarena.store import Store

    with Store(db, readonly=True) as store:
        return [{"spec_hash": r["spec_hash"], "status": r["status"], "failure": r["failure"], "reason": r["reason"],
                 "scenario": r["scenario"], "model": r["spec"]["model"], "node": (r["env"] or {}).get("node"),
                 "attempt": ((r["env"] or {}).get("executor") or {}).get("attempt")} for r in store.rows()]


def _counts(summary) -> dict[str, int]:
    return {k: getattr(summary, k) for k in ("total", "skipped", "ok", "failed", "pruned")}


def sweep_scenario(addr: str, out: Path, head_id: str) -> dict[str, Any]:
    """A small sweep (timing rounds and one training trial): half locally, the rest on Ray, then both again."""
    from seqarena.bench.spec import device_memory_bytes, machine_identity, make_trial
    from seqarena.run import expand, run_sweep
    from seqarena.run.executors import executing
    from seqarena.store import Store

    trials = expand("forward_latency", ["gru:d_model=16", "lstm:d_model=16"], seq_lens=(8,), rounds=2, **FAST)
    trials.append(make_trial(scenario="train", model="gru", options={"d_model": 16}, task="copy",
                             task_params={"distance": 4}, steps=3, eval_every=3, params=None, batch=4))
    db = out / "sweep.db"
    res: dict[str, Any] = {"trials": len(trials), "hashes": len({t.spec_hash() for t in trials})}
    with Store(db) as store:
        res["local_first"] = _counts(run_sweep(trials[:2], store))
        with executing("ray", addr) as ex:
            res["same_kind_as_here"] = ex.machine == machine_identity("cpu")
            res["describe"] = ex.describe()
            res["memory_as_here"] = ex.memory == device_memory_bytes("cpu")  # the nodes' RAM is this machine's
            res["ray"] = _counts(run_sweep(trials, store))
            res["ray_again"] = _counts(run_sweep(trials, store))
        res["local_again"] = _counts(run_sweep(trials, store))
    res["rows"] = _rows(db)
    res["head"] = head_id[:12]
    return res


def _raylet_pid(node) -> int:
    return node.all_processes["raylet"][0].process.pid


def lost_scenario(cluster, workers: list, addr: str, out: Path, retries: int, name: str) -> dict[str, Any]:
    """A trial that blocks until released; the worker node running it is removed; then it is released."""
    from seqarena.bench.spec import make_trial
    from seqarena.run import run_sweep
    from seqarena.run.executors import executing
    from seqarena.store import Store

    block = out / name
    block.mkdir()
    trials = [make_trial(scenario="forward_latency", model="tests.run.bad_models:Misbehave", seq_len=8,
                         options={"d_model": 16, "behaviour": "block", "block_dir": str(block)}, **FAST),
              make_trial(scenario="forward_latency", model="lstm", options={"d_model": 16}, seq_len=8, **FAST)]
    db = out / f"{name}.db"
    got: dict[str, Any] = {}

    def sweep() -> None:
        try:
            with Store(db) as store, executing("ray", addr, retries=retries):
                got["summary"] = _counts(run_sweep(trials, store))
        except BaseException as e:  # reported to the test, not swallowed
            got["error"] = f"{type(e).__name__}: {e}"

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline = time.monotonic() + 180
    while not list(block.glob("started-*")) and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    started = list(block.glob("started-*"))
    res: dict[str, Any] = {"started_before_removal": len(started)}
    if started:
        chain = [int(p) for p in started[0].read_text().split()]  # the trial worker, its Ray worker, the raylet...
        victim = next((w for w in workers if _raylet_pid(w) in chain), None)
        res["victim_found"] = victim is not None
        if victim is not None:
            cluster.remove_node(victim, allow_graceful=False)
            workers.remove(victim)
            res["removed"] = victim.node_id[:12]
            # release only once the node's Ray worker is gone, as it would be with its machine: a worker that
            # outlived its raylet by a moment could still finish the trial and hand back a result
            gone_by = time.monotonic() + 60
            while Path(f"/proc/{chain[1]}").exists() and time.monotonic() < gone_by:
                time.sleep(0.05)
            res["ray_worker_gone"] = not Path(f"/proc/{chain[1]}").exists()
    (block / "release").write_text("")
    thread.join(timeout=300)
    res["sweep_finished"] = not thread.is_alive()
    res.update(got)
    res["started_in_all"] = len(list(block.glob("started-*")))
    res["trials"] = len(trials)
    res["rows"] = _rows(db)
    return res


def cli_scenario(addr: str, out: Path) -> dict[str, Any]:
    """The CLI against the cluster (the acceptance script runs it; the test module leaves it out for time)."""
    cmd = [sys.executable, "-m", "seqarena", "bench", "forward_latency", "-m", "gru", "--params", "20k",
           "--seq-lens", "8", "--rounds", "1", "--repeats", "2", "--min-seconds", "0", "--threads", "1",
           "--db", str(out / "cli.db"), "--executor", "ray", "--address", addr]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    return {"ok_rc": ok.returncode, "ok_out": ok.stdout[-2000:], "ok_err": ok.stderr[-2000:],
            "rows": _rows(out / "cli.db")}


def main(out: Path, only: set[str]) -> None:
    # the test cluster's nodes share this machine's cores: a timing trial on one node sees the others' load, and a
    # flagged trial would run again on the next sweep (which the resume counts must not depend on)
    os.environ["SEQARENA_IGNORE_LOAD"] = "1"
    import ray
    from ray.cluster_utils import Cluster

    results: dict[str, Any] = {}
    t0 = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                            "_system_config": SYSTEM_CONFIG})
    try:
        workers = [cluster.add_node(num_cpus=1, resources={"seqarena_timing": 1}) for _ in range(2)]
        cluster.wait_for_nodes()
        results["startup_s"] = round(time.monotonic() - t0, 1)
        addr = cluster.address
        # one driver connection for the in-process sweeps: the executor then leaves it open, and the nodes' Ray
        # workers (torch imported) serve every sweep of this job instead of starting anew for each
        ray.init(address=addr, log_to_driver=False, logging_level="ERROR")
        for name in ("sweep", "lost", "exhausted", "cli"):
            if name not in only:
                continue
            t = time.monotonic()
            if name == "sweep":
                results[name] = sweep_scenario(addr, out, cluster.head_node.node_id)
            elif name == "cli":
                results[name] = cli_scenario(addr, out)
            else:
                if len(workers) < 2:
                    workers.append(cluster.add_node(num_cpus=1, resources={"seqarena_timing": 1}))
                    cluster.wait_for_nodes()
                results[name] = lost_scenario(cluster, workers, addr, out, retries=int(name == "lost"), name=name)
            results[name]["seconds"] = round(time.monotonic() - t, 1)
    finally:
        results["total_s"] = round(time.monotonic() - t0, 1)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    args = sys.argv[1:]
    names = set(args[args.index("--only") + 1:]) if "--only" in args else {"sweep", "lost", "exhausted"}
    main(Path(args[0]), names)
