"""The Ray executor on Ray's own multi-node test cluster (a head and two worker nodes on this machine), started once
for the module by tests/run/ray_harness.py inside its own network namespace, so nothing listens beyond this test:
a sweep and its resume across executors, a worker node removed while its trial runs (retried elsewhere, or stored
as failed once the retries are spent. (The CLI against such a cluster: the acceptance run in the closing note.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'seqarena[ray]'; make test installs it)")

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("ray_harness.py")


def _namespace() -> list[str] | None:
    """The unshare command that gives a process its own network namespace here, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    for cmd in (["unshare", "-n"], ["unshare", "-rn"]):
        if subprocess.run([*cmd, "sh", "-c", "ip link set lo up"], capture_output=True).returncode == 0:
            return cmd
    return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> dict:
    ns = _namespace()
    if ns is None:
        pytest.skip("network namespaces are unavailable here (unshare -n): a Ray test cluster would listen on the "
                    "machine's address")
    out = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), "RAY_USAGE_STATS_ENABLED": "0"}
    run = subprocess.run([*ns, "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable, str(HARNESS),
                          str(out)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    path = out / "results.json"
    assert path.exists(), f"the harness wrote no results (exit {run.returncode}): {run.stderr[-3000:]}"
    return json.loads(path.read_text())


def _one_each(part: dict) -> None:
    hashes = [r["spec_hash"] for r in part["rows"]]
    assert len(hashes) == part["trials"] == len(set(hashes))  # every trial stored, none twice


def test_a_sweep_on_the_cluster_stores_every_trial_once_and_resumes_across_executors(cluster):
    s = cluster["sweep"]
    _one_each(s)
    assert all(r["status"] == "ok" for r in s["rows"])
    assert s["local_first"] == {"total": 2, "skipped": 0, "ok": 2, "failed": 0, "pruned": 0}
    assert s["ray"] == {"total": 5, "skipped": 2, "ok": 3, "failed": 0, "pruned": 0}  # the local rows are reused
    for again in ("ray_again", "local_again"):  # and the cluster's rows are reused, on either executor
        assert s[again] == {"total": 5, "skipped": 5, "ok": 0, "failed": 0, "pruned": 0}


def test_trials_run_as_the_node_kind_and_timing_stays_off_the_head(cluster):
    s = cluster["sweep"]
    assert s["same_kind_as_here"]  # the test cluster's nodes are this machine: the same spec hashes
    assert s["memory_as_here"]  # and trials are checked against the nodes' RAM (here: this machine's)
    assert "2 with a timing slot" in s["describe"]
    on_ray = [r for r in s["rows"] if r["node"]]
    assert len(on_ray) == 3 and all(r["attempt"] == 1 for r in on_ray)
    timing = [r for r in on_ray if r["scenario"] != "train"]
    assert timing and not any(s["head"] in r["node"] for r in timing)  # the head offers no timing slot


def test_a_node_lost_under_a_trial_retries_it_on_another_node(cluster):
    lost = cluster["lost"]
    assert lost["victim_found"] and lost["ray_worker_gone"] and lost["sweep_finished"], lost
    assert lost["summary"] == {"total": 2, "skipped": 0, "ok": 2, "failed": 0, "pruned": 0}
    _one_each(lost)
    blocked = next(r for r in lost["rows"] if r["model"].endswith("Misbehave"))
    assert blocked["status"] == "ok" and blocked["attempt"] == 2 and lost["removed"] not in blocked["node"]
    assert lost["started_in_all"] == 2  # it ran on the lost node, then once more


def test_a_node_lost_past_the_retries_is_stored_as_failed_with_the_reason(cluster):
    gone = cluster["exhausted"]
    assert gone["victim_found"] and gone["ray_worker_gone"] and gone["sweep_finished"], gone
    assert gone["summary"] == {"total": 2, "skipped": 0, "ok": 1, "failed": 1, "pruned": 0}
    _one_each(gone)
    blocked = next(r for r in gone["rows"] if r["model"].endswith("Misbehave"))
    assert blocked["failure"] == "node lost" and "1 try" in blocked["reason"] and gone["removed"] in blocked["reason"]
