"""The targeted probe: which metrics the store cannot answer for a profile, and the short fair sweep that measures
them (n/2, n and 2n, capped in tokens per call; decode at the profile's context; memory at n under the cap)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from seqarena.models import get_class
from seqarena.recommender.candidates import Candidate
from seqarena.recommender.estimate import Obs
from seqarena.recommender.observe import PROMPT_LEN, Observations, memory_estimate
from seqarena.recommender.profile import Profile
from seqarena.run.sweep import SweepSummary, expand, run_sweep
from seqarena.store import Store
from seqarena.store.failures import is_size_failure

# probe sizes: tokens per call (n x batch) beyond which a point is extrapolated instead of measured
LATENCY_MAX_TOKENS = 4096
TRAIN_MAX_TOKENS = 2048
DECODE_MAX_TOKENS = 512
PROBE = {"repeats": 5, "min_seconds": 0.2, "warmup": 1, "rounds": 1}
PROBE_TIMEOUT_S = 120.0


def probe_needs(profile: Profile, data: dict[str, Observations]) -> list[str]:
    """Which metrics a probe should measure: the priority metric, and memory when the cap's verdict is open."""
    n, b = profile.seq_len, profile.batch
    needs = []
    for d in data.values():
        if profile.latency_critical and profile.streaming:
            if not _covered(d.decode, n, d.exact_batch["decode"], PROMPT_LEN + DECODE_MAX_TOKENS):
                needs.append("decode")
        elif profile.latency_critical:
            if not _covered(d.latency, n, d.exact_batch["latency"], LATENCY_MAX_TOKENS // b):
                needs.append("latency")
        elif not _covered(d.train_step, n, d.exact_batch["train step"], TRAIN_MAX_TOKENS // b):
            needs.append("train")
        if profile.memory_cap_mb is not None:
            cap = profile.memory_cap_mb * 2**20
            for kind in ("infer", "train"):
                if memory_estimate(d.memory[kind], d.failures[kind], n).within(cap) == "uncertain":
                    needs.append("memory")
    return sorted(set(needs))


def run_probe(profile: Profile, cands: Sequence[Candidate], db: Path, needs: Sequence[str],
           on_start: Callable | None, on_done: Callable | None) -> SweepSummary:
    """A short targeted sweep over every candidate (fair: the same points for all), stored like any trial."""
    n, b = profile.seq_len, profile.batch
    models = [c.label for c in cands]
    common = {"params": profile.params, "device": profile.device, "seed": 0, "threads": profile.measured_threads()}
    # aux=False: a probe needs times and peaks, not FLOPs (counting an unfused GRU's costs ~5x its step)
    timing = {**{k: v for k, v in PROBE.items() if k != "rounds"}, "aux": False}
    trials = []
    if "latency" in needs:
        trials += [t for t in expand("forward_latency", models, seq_lens=_grid(n, LATENCY_MAX_TOKENS // b), batch=b,
                                     rounds=PROBE["rounds"], **timing, **common) if t.batch == b]
    if "train" in needs:
        trials += expand("train_step", models, seq_lens=_grid(n, TRAIN_MAX_TOKENS // b), batch=b,
                         rounds=PROBE["rounds"], **{**timing, "repeats": 3}, **common)
    if "decode" in needs:
        tokens = min(max(n - PROMPT_LEN, 32), DECODE_MAX_TOKENS)
        best = {c.name: get_class(c.name).generation_modes[-1] if get_class(c.name).generation_modes else None
                for c in cands}
        trials += [t for t in expand("generation", [c.label for c in cands if best[c.name]], tokens=tokens,
                                     prompt_len=PROMPT_LEN, batch=b, repeats=2, **common)
                   if t.mode == best[t.model]]
    if "memory" in needs:
        trials += expand("memory", models, seq_lens=[n], batch=b, memory_cap_mb=profile.memory_cap_mb, **common)
    with Store(db) as store:
        # a probe trial that failed for any reason but its size (a cap or out of memory: a result) is tried again:
        # kept, it would be skipped by every later probe ("nothing ran") and its profile could never be answered
        hashes = [t.spec_hash() for t in trials]
        store.retry_failed([r["spec_hash"] for r in store.rows(status="failed", spec_hash=hashes)
                            if not is_size_failure(r["failure"])])
        return run_sweep(trials, store, sweep="recommend-probe", timeout_s=PROBE_TIMEOUT_S, on_start=on_start,
                         on_done=on_done)


def _covered(obs: list[Obs], n: int, exact_batch: bool, max_n: int) -> bool:
    """Whether the data answer at n without a probe: measured at this batch, and n inside the measured range, or
    within 2x beyond it with a fit of 3+ lengths, or beyond what a probe would measure anyway."""
    ns = sorted({o.n for o in obs})
    if not ns or not exact_batch:
        return False
    if ns[0] <= n <= ns[-1]:
        return True
    if len(ns) >= 3 and ns[0] / 2 <= n <= 2 * ns[-1]:
        return True
    return n > ns[-1] and ns[-1] >= max_n


def _grid(n: int, max_n: int) -> list[int]:
    """n/2, n, 2n where they fit under ``max_n``; otherwise the top of what fits: max_n/4, max_n/2, max_n."""
    max_n = max(2, max_n)
    points = [p for p in (max(1, n // 2), n, 2 * n) if p <= max_n]
    if len(set(points)) < 3:
        points = [max(1, max_n // 4), max(1, max_n // 2), max_n] + ([n] if n <= max_n else [])
    return sorted(set(points))
