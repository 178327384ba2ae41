"""The Ray executor: a sweep's trials on a Ray cluster, with timing and memory trials alone on their node.

- **Resources.** Each worker node offers one timing slot, the custom resource :data:`TIMING_RESOURCE`
  (``ray start --resources '{"seqarena_timing": 1}'``). A timing or memory trial asks for the slot *and* all the
  node's CPUs: Ray sets ``OMP_NUM_THREADS`` from a task's CPUs (a task holding the slot alone would run one thread),
  and the slot alone would not keep training tasks off the node. A quality trial (training, gradients) asks for a
  fraction of a node's CPUs (half, at least one; ``train_cpus``). A head started without the slot runs no timing.
- **Routing by machine kind.** The nodes are probed once (CPU model, usable cores, GPU, torch: the identity the
  spec hash includes) and grouped into kinds; the sweep runs on one kind (the one with the most timing slots, then
  CPUs) and the caller identifies every trial as that kind (:func:`seqarena.run.executors.executing`), so rows are
  labelled by the machine that measured them and resume reuses that kind's rows only.
- **The same trial.** Inside the Ray task the trial runs in the same isolated worker process as on one machine
  (:class:`~seqarena.run.worker.Runner`: threads fixed, memory cap, timeout); each row's env names its node.
- **A lost node.** A Ray system error under a trial (its node died, its Ray worker crashed, its node was gone before
  it started) sends it to another node of the kind, at most ``retries`` times; after that it is stored as failed
  ("node lost") with the reason. Results are stored by this process only, each once, as they return.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import socket
from typing import Any

from seqarena.bench.spec import TrialSpec
from seqarena.errors import SpecError
from seqarena.run.bookkeeping import SweepRun
from seqarena.run.worker import Runner, TrialResult
from seqarena.store import failures

TIMING_RESOURCE = "seqarena_timing"
_PROBE_TIMEOUT_S = 300.0  # a node that has not said what it is by then (e.g. still installing) is left out
_WAIT_S = 2.0  # how often the loop looks again when nothing returns (new room on a node, Ctrl-C)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SpecError("--executor ray needs Ray: pip install 'seqarena[ray]'") from None
    return ray


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """One-line SpecError unless something accepts a TCP connection at ``host:port``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SpecError(f"--address must be host:port (a Ray cluster's GCS address), got {address!r}")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise SpecError(f"cannot reach the Ray cluster at {address}: {e.strerror or e} (is `ray start --head` "
                        "running there?)") from None


def _probe_node(device: str) -> dict[str, Any]:
    """On a node: what kind of machine it is for ``device`` (None where it has no such device)."""
    from seqarena.bench.spec import device_memory_bytes, machine_identity

    identity: dict[str, Any] | None = machine_identity("cpu")
    if device.startswith("cuda"):
        try:
            identity = machine_identity(device)
        except (RuntimeError, AssertionError, ValueError):  # no CUDA here, or no such index
            identity = None
        if identity is not None and identity.get("gpu") is None:
            identity = None
    memory = device_memory_bytes(device) if identity is not None else (None, "")
    return {"identity": identity, "host": socket.gethostname(), "memory": list(memory)}


#: This Ray worker process's trial runner and the OMP_NUM_THREADS it was made under (Ray reuses a worker process for
#: many tasks; a spawn plus ``import torch`` per trial made a quick-suite trial ~9x slower than locally)
_RUNNER: tuple[str | None, Runner] | None = None


def _runner(timeout_s: float | None) -> Runner:
    """The runner for this task: reused across the Ray worker's tasks exactly as the local executor reuses one (its
    trial worker is replaced each round, after a failure, and for a risky trial), and made anew when the task's
    CPU count changes (Ray sets OMP_NUM_THREADS per task; the trial worker keeps the value it started with)."""
    global _RUNNER
    key = os.environ.get("OMP_NUM_THREADS")
    if _RUNNER is None or _RUNNER[0] != key:
        if _RUNNER is not None:
            _RUNNER[1].close()
        _RUNNER = (key, Runner(timeout_s=timeout_s))
    _RUNNER[1].timeout_s = timeout_s
    return _RUNNER[1]


def _run_on_node(spec: dict[str, Any], timeout_s: float | None, attempt: int) -> dict[str, Any]:
    """On a node: one trial in the isolated trial worker, the node named in its env."""
    import ray

    result = _runner(timeout_s).run(TrialSpec(**spec))
    ctx = ray.get_runtime_context()
    result.env["node"] = f"{socket.gethostname()} {ray.util.get_node_ip_address()} ({ctx.get_node_id()[:12]})"
    result.env["executor"] = {"name": "ray", "attempt": attempt}
    return dataclasses.asdict(result)


@dataclasses.dataclass
class Node:
    """One cluster node, as the scheduler sees it."""

    id: str
    host: str
    cpus: float
    slots: float  # timing slots (the custom resource)
    identity: dict[str, Any] | None
    train_cpus: float
    memory: tuple[int | None, str] = (None, "")  # the trials' device memory there (RAM or the GPU's), and its name
    alive: bool = True
    timing: int = 0  # timing/memory trials running (0 or 1)
    training: int = 0  # quality trials running
    reserved: bool = False  # a timing trial waits for this node: no new training goes there

    @property
    def label(self) -> str:
        return f"{self.host} ({self.id[:12]})"

    @property
    def idle(self) -> bool:
        return not self.timing and not self.training

    @property
    def training_room(self) -> bool:
        return not self.timing and not self.reserved and (self.training + 1) * self.train_cpus <= self.cpus


class RayExecutor:
    """Runs sweeps on the Ray cluster at ``address`` (None: ``RAY_ADDRESS`` or the local one)."""

    name = "ray"

    def __init__(self, address: str | None = None, *, device: str = "cpu", retries: int = 2,
                 train_cpus: float | None = None) -> None:
        if retries < 0:
            raise SpecError(f"retries must be >= 0, got {retries}")
        self.ray = _ray()
        self.retries, self.device = retries, device
        self._ours = not self.ray.is_initialized()
        if self._ours:
            if address not in (None, "auto", "local") and not address.startswith("ray://"):
                _check_reachable(address)  # ray.init would retry an address where nothing listens for minutes
            try:
                self.ray.init(address=address or "auto", log_to_driver=False, logging_level="ERROR")
            except (ConnectionError, RuntimeError, ValueError) as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise SpecError(f"cannot reach the Ray cluster at {address or 'auto'}: {first}") from None
        try:
            self.nodes = self._probe(train_cpus)
            self.machine, self.kind_nodes, self.other_kinds = self._choose_kind()
        except BaseException:
            self.close()
            raise
        self._task = self.ray.remote(_run_on_node)

    # -- the cluster -------------------------------------------------------------------------------------------

    def _affinity(self, node_id: str) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(node_id, soft=False)

    def _probe(self, train_cpus: float | None) -> list[Node]:
        """Every live node, with what it offers and what kind of machine it is."""
        ray = self.ray
        alive = [n for n in ray.nodes() if n.get("Alive")]
        probe = ray.remote(_probe_node)
        refs = {n["NodeID"]: probe.options(num_cpus=0, max_retries=0, scheduling_strategy=self._affinity(n["NodeID"]))
                .remote(self.device) for n in alive}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=_PROBE_TIMEOUT_S)
        nodes = []
        for n in alive:
            ref = refs[n["NodeID"]]
            if ref not in ready:
                continue
            try:
                info = ray.get(ref)
            except ray.exceptions.RayError:
                continue
            res = n.get("Resources", {})
            cpus = float(res.get("CPU", 0))
            nodes.append(Node(id=n["NodeID"], host=info["host"], cpus=cpus, slots=float(res.get(TIMING_RESOURCE, 0)),
                              identity=info["identity"], memory=tuple(info.get("memory") or (None, "")),
                              train_cpus=train_cpus or max(1.0, float(int(cpus // 2)))))
        return nodes

    def _choose_kind(self) -> tuple[dict[str, Any], list[Node], int]:
        kinds: dict[str, list[Node]] = collections.defaultdict(list)
        for node in self.nodes:
            if node.identity is not None and node.cpus > 0:
                kinds[json.dumps(node.identity, sort_keys=True)].append(node)
        if not kinds:
            raise SpecError(f"no node of the Ray cluster can run {self.device} trials (nodes with CPUs: "
                            f"{sum(n.cpus > 0 for n in self.nodes)} of {len(self.nodes)})")
        key = max(kinds, key=lambda k: (sum(n.slots >= 1 for n in kinds[k]), sum(n.cpus for n in kinds[k]), k))
        return json.loads(key), kinds[key], len(kinds) - 1

    @property
    def memory(self) -> tuple[int, str] | None:
        """The kind's device memory as the trials see it: its smallest node's (bytes, name); None when unknown."""
        known = [n.memory for n in self.kind_nodes if n.memory[0]]
        return min(known) if known else None  # type: ignore[return-value]

    def describe(self) -> str:
        """The cluster as this executor uses it, in one line."""
        m = self.machine
        slots = sum(n.slots >= 1 for n in self.kind_nodes)
        what = f"{m['cpu']}, {m['cores']} cores" + (f", {m['gpu']}" if m.get("gpu") else "") + f", torch {m['torch']}"
        other = f"; {self.other_kinds} other machine kind(s) left idle" if self.other_kinds else ""
        return f"Ray: {len(self.kind_nodes)} node(s) of one kind ({what}), {slots} with a timing slot{other}"

    def progress_note(self) -> str:
        live = [n for n in self.kind_nodes if n.alive]
        busy = sum(not n.idle for n in live)
        lost = len(self.kind_nodes) - len(live)
        return f" [nodes {busy} busy / {len(live) - busy} idle" + (f", {lost} lost]" if lost else "]")

    def _refresh(self) -> None:
        """Learn which nodes died (after a system error under a trial)."""
        alive = {n["NodeID"] for n in self.ray.nodes() if n.get("Alive")}
        for node in self.kind_nodes:
            node.alive = node.alive and node.id in alive

    def close(self) -> None:
        """Disconnect (when this executor connected)."""
        if self._ours and self.ray.is_initialized():
            self.ray.shutdown()

    # -- the sweep ---------------------------------------------------------------------------------------------

    def _can_ever(self, spec: TrialSpec) -> bool:
        live = [n for n in self.kind_nodes if n.alive]
        return any(n.slots >= 1 for n in live) if spec.timed else any(n.train_cpus <= n.cpus for n in live)

    def _place(self, spec: TrialSpec) -> Node | None:
        live = [n for n in self.kind_nodes if n.alive]
        if spec.timed:
            free = [n for n in live if n.slots >= 1 and n.idle]
            if free:
                return free[0]
            # hold the slot node that frees soonest (fewest trials on it) for this trial: no new training there
            waiting = [n for n in live if n.slots >= 1 and not n.timing and not n.reserved]
            if waiting:
                min(waiting, key=lambda n: n.training).reserved = True
            return None
        room = [n for n in live if n.training_room]
        return min(room, key=lambda n: n.training) if room else None

    def _submit(self, spec: TrialSpec, node: Node, timeout_s: float | None, attempt: int) -> Any:
        opts: dict[str, Any] = {"scheduling_strategy": self._affinity(node.id), "max_retries": 0}
        if spec.timed:
            opts |= {"num_cpus": node.cpus, "resources": {TIMING_RESOURCE: 1}}
            node.timing += 1
        else:
            opts["num_cpus"] = node.train_cpus
            node.training += 1
        if spec.device.startswith("cuda"):
            opts["num_gpus"] = 1
        return self._task.options(**opts).remote(spec.model_dump(mode="json"), timeout_s, attempt)

    def run(self, sweep: SweepRun, timeout_s: float | None) -> None:
        """Keep every node of the kind busy (timing trials alone on theirs), store each result as it returns."""
        todo = [s for s in sweep.trials if s.timed and sweep.hash_of(s) not in sweep.finished]
        if todo and not any(n.slots >= 1 for n in self.kind_nodes):
            raise SpecError(f"{len(todo)} timing/memory trial(s) need a node offering the {TIMING_RESOURCE} "
                            f"resource; start workers with: ray start --address ... --resources "
                            f"'{{\"{TIMING_RESOURCE}\": 1}}'")
        pending: collections.deque[TrialSpec] = collections.deque(sweep.trials)
        attempts: collections.Counter[int] = collections.Counter()
        running: dict[Any, tuple[TrialSpec, Node, str]] = {}
        try:
            while pending or running:
                self._fill(sweep, pending, running, attempts, timeout_s)
                if not running:  # nothing runs and nothing could start: no node of the kind will take them
                    for spec in pending:
                        if sweep.admit(spec) != sweep.SKIP:
                            sweep.record(spec, TrialResult.failed(failures.Failure(
                                failures.LOST, "no node of the machine kind has room for it"), {}, 0.0),
                                sweep.started(spec))
                    break
                done, _ = self.ray.wait(list(running), num_returns=1, timeout=_WAIT_S)
                for ref in done:
                    self._collect(ref, sweep, pending, running, attempts)
        except KeyboardInterrupt:
            for ref in running:
                self.ray.cancel(ref, force=True)
            raise

    def _fill(self, sweep: SweepRun, pending: collections.deque[TrialSpec], running: dict, attempts, timeout_s
              ) -> None:
        """Start every pending trial that has room now, in sweep order; store as failed those no live node can
        ever run."""
        for node in self.kind_nodes:
            node.reserved = False
        keep: collections.deque[TrialSpec] = collections.deque()
        while pending:
            spec = pending.popleft()
            decision = sweep.admit(spec)
            if decision == sweep.SKIP:
                continue
            if decision == sweep.RUN and not self._can_ever(spec):
                started = sweep.started(spec)
                why = "a timing slot" if spec.timed else f"{spec.device} trials"
                sweep.record(spec, TrialResult.failed(failures.Failure(
                    failures.LOST, f"no live node of the machine kind is left for {why}"), {}, 0.0), started)
                continue
            node = self._place(spec) if decision == sweep.RUN else None
            if node is None:
                keep.append(spec)
                continue
            attempts[id(spec)] += 1
            started = sweep.started(spec)
            running[self._submit(spec, node, timeout_s, attempts[id(spec)])] = (spec, node, started)
        pending.extend(keep)

    def _collect(self, ref: Any, sweep: SweepRun, pending: collections.deque[TrialSpec], running: dict,
                 attempts) -> None:
        ray = self.ray
        spec, node, started = running.pop(ref)
        if spec.timed:
            node.timing -= 1
        else:
            node.training -= 1
        try:
            result = TrialResult(**ray.get(ref))
        except ray.exceptions.RayTaskError as e:  # our code raised on the node (e.g. seqarena missing there)
            first = (str(e.cause if getattr(e, "cause", None) else e).strip().splitlines() or ["?"])[-1]
            result = TrialResult.failed(failures.Failure(failures.RAISED, f"on node {node.label}: {first}"[:300]),
                                        {"node": node.label}, 0.0)
        except ray.exceptions.RayError as e:  # the node or its Ray worker died under the trial
            if isinstance(e, (ray.exceptions.NodeDiedError, ray.exceptions.TaskUnschedulableError)):
                node.alive = False  # said by the error itself: the cluster's node table may not know it yet
            self._refresh()
            tried = attempts[id(spec)]
            if tried <= self.retries:
                sweep.abandoned(spec)
                pending.appendleft(spec)  # first in line for the next free node of the kind
                return
            first = (str(e).strip().splitlines() or [""])[0]
            kind = failures.OOM if type(e).__name__ == "OutOfMemoryError" else failures.LOST
            result = TrialResult.failed(failures.Failure(
                kind, f"{type(e).__name__} on node {node.label}, {tried} tr{'y' if tried == 1 else 'ies'}: "
                      f"{first}"[:300]), {"node": node.label, "executor": {"name": "ray", "attempt": tried}}, 0.0)
        sweep.record(spec, result, started)
