"""How long a trial should take on this kind of machine: the rough estimate the claims' budget table prints, and the
timeout a training trial gets from it. Not a measurement: calibrated once on a 2-core CPU (a GPU is faster)."""

from __future__ import annotations

from seqarena.bench.spec import TrialSpec
from seqarena.errors import SpecError
from seqarena.models.hf_families import BY_NAME
from seqarena.models.hf_families import PREFIX as HF_PREFIX
from seqarena.models.registry import get_class

#: Rough seconds per trial, by scenario (worker start, model build, data).
_OVERHEAD_S = {"forward_latency": 0.3, "throughput": 0.3, "train_step": 0.5, "generation": 0.5, "memory": 0.3,
               "train": 0.7, "gradients": 0.5}
#: Rough seconds per token per parameter of one timed call, one thread (the fits of this machine's stores). The
#: per-trial seconds above and the generation, memory and training terms below were refitted on a quick and a partial
#: full store once workers stopped walking torch's objects in every gc.collect(): quick 510 s estimated for 341 s of
#: trials, full's training trials 2,519 s for 2,197 s.
_SECONDS_PER_TOKEN_PARAM = {"forward_latency": 6e-11, "throughput": 4e-11, "train_step": 1.5e-10}
#: The slowest step a training trial's timeout allows for, as a multiple of the estimate, and the floor of that
#: timeout: a timeout catches a hung worker, so it errs long (a trial stopped by it is a failure, never evidence).
_TIMEOUT_FACTOR, _TIMEOUT_FLOOR_S = 4.0, 2100.0


def _attention(model: str) -> bool:
    """Whether ``model`` declares attention's cost (``SequenceModel.cost_in_n``); an ``hf:`` family by its kind
    (without importing transformers); a name that does not resolve counts as linear (its trial fails on its own)."""
    if model.startswith(HF_PREFIX):
        fam = BY_NAME.get(model.removeprefix(HF_PREFIX))
        return fam is not None and fam.family != "recurrent"
    try:
        return get_class(model).cost_in_n == "attention"
    except SpecError:
        return False


def _train_step_s(trial: TrialSpec) -> float:
    """One optimizer step of a ``train`` trial at batch 32: linear in the sequence for an RNN; an attention model
    ~2x an LSTM at short sequences and ~4x at 2,880 (measured here, 0.3M parameters, 2 threads: 1.3x at n=96,
    2.5x at 720, 3.75x at 2,880 per step; ~2x and ~2.5x per trial at 96-720 with its evaluations)."""
    tp = trial.task_params
    seq = tp.get("lookback") or tp.get("length") or tp.get("distance", 32) + 20
    step = (0.003 + 5e-4 * seq) * max(1.0, (trial.params or 1e5) / 1e5) ** 0.5
    return step * 2 * (1 + seq / 3000) if _attention(trial.model) else step


def estimate_seconds(trial: TrialSpec) -> float:
    """A rough duration of one trial on this kind of machine (for the budget table and training timeouts)."""
    base = _OVERHEAD_S.get(trial.scenario, 2.0)
    if trial.scenario in ("forward_latency", "throughput", "train_step"):
        # one call: ~60 ms per 1k tokens at 1M parameters on one core here, attention's n^2 doubling it at n = 4,096;
        # a trial makes its warm-up, three untimed calls (memory, saved tensors, FLOPs), then repeats or min_seconds
        call = _SECONDS_PER_TOKEN_PARAM[trial.scenario] * trial.seq_len * trial.batch * max(trial.params or 1e6, 3e5)
        if _attention(trial.model):
            call *= 1 + trial.seq_len / 4096
        return base + (trial.warmup + 3) * call + max(trial.repeats * call, trial.min_seconds)
    if trial.scenario == "generation":
        return base + (trial.repeats + 2) * trial.tokens * (0.002 if trial.mode == "recompute" else 0.00075)
    if trial.scenario == "memory":
        return base + 1e-4 * trial.seq_len * max(1, trial.batch)
    if trial.scenario == "train":
        tune = 1.5 if trial.tune_lr else 1.0  # tune_lr spends half the budget again on its grid
        return base + tune * ((trial.steps or 0) * _train_step_s(trial) + (trial.budget_s or 0))
    if trial.scenario == "gradients":
        return base + 0.008 * (trial.steps or 0)
    return base


def training_timeout_s(spec: TrialSpec) -> float:
    """How long a training trial may run before it is stopped and stored as failed: three times its time budget
    (evaluation, the LR grid of ``tune_lr``) plus five minutes for the worker and the data; a step budget gets four
    times its estimate (:func:`estimate_seconds`) plus five minutes, at least 35 minutes. A flat allowance for step
    budgets stopped the full suite's transformer at look-back 720 (~25 min here) whenever the machine was busy."""
    if spec.budget_s:
        return 3 * spec.budget_s + 300
    return max(_TIMEOUT_FLOOR_S, _TIMEOUT_FACTOR * estimate_seconds(spec) + 300)
