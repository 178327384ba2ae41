"""What every quality claim shares: the rules that judge what models learn, and the trials that train them.

The claims themselves are in :mod:`~seqarena.claims.quality_tasks` (order 3a/b, long-range dependencies 4, vanishing
gradients 5a/b), :mod:`~seqarena.claims.quality_lr` (learning-rate robustness 8, 8b),
:mod:`~seqarena.claims.quality_data` (sample efficiency and overfitting 9, 9b, long time series 22) and
:mod:`~seqarena.claims.quality_lm` (efficient attentions' quality 19c, 20b, language modelling 21, hybrids 25, the
essay's conclusion 26), judged from the ``train`` scenario (test metrics
on held-out splits) and the gradient-flow probe.

Rules: a comparison of quality counts only where the models beat the task's baseline by a stated margin (otherwise the
verdict is inconclusive: "did not learn"); "match or beat" claims use an equivalence margin (the interval of the
difference must lie above -delta). The seed is the unit of replication: intervals are Student-t intervals over seeds
of a paired difference or log-ratio (paired by seed: the same data order and initialisation seed for both models).
One seed is a point estimate and never decides (a Wilson interval over test examples measures only the test set's
sampling noise, not a training run's). A contender with no successful row, or any failed trial among the rows a
verdict reads (an ImportError, a timeout, a NaN), makes the verdict inconclusive with the failure's reason; only a
cap / out-of-memory failure is a result. The quick suite is smoke-sized (a few hundred steps, lr 1e-3); the full
suite tunes every model's learning rate on the validation split (``tune_lr``) and uses 3 seeds.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import SMOKE_CAVEAT, caveats, grid, ok_rows
from seqarena.claims.suites import SUITES, Suite
from seqarena.store.columns import SPEC_SEED, SPEC_TUNE_LR

#: A model "learned" when it beats the task's baseline by this much (accuracy points; relative for losses).
LEARN_MARGIN = {"accuracy": 0.10, "bits_per_char": 0.05, "mse": 0.05, "loss": 0.05}
#: Equivalence margin of "match or beat": the RNN may trail by at most this much (accuracy points).
DELTA = 0.02


def train_trials(s: Suite, models: list, task: str, task_params: dict[str, Any], *, steps: int | None = None,
                 seeds: tuple[int, ...] | None = None, extra: list[dict] | None = None, **fields: Any
                 ) -> list[TrialSpec]:
    """``train`` trials of ``models`` on ``task`` per seed (default the suite's), at the suite's budget and batch;
    the learning rate, then the gradient-norm clip at it, are tuned on validation unless the suite is smoke-sized or
    ``lr`` is given (``tune_more`` in ``fields`` replaces what is tuned beside the LR)."""
    points = [{"seed": seed, **(e or {})} for seed in (seeds or s.seeds) for e in (extra or [None])]
    tuned = {} if s.smoke or "lr" in fields else {"tune_lr": True, "tune_more": fields.pop("tune_more", ("clip",))}
    fields.pop("tune_more", None)  # untuned: nothing more to tune either
    steps = steps or s.q_steps
    return grid("train", models, points, task=task, task_params=task_params, steps=steps, batch=s.q_batch,
                params=s.q_params, eval_every=steps, **tuned, **fields)


def quality_caveats(df: pd.DataFrame, s_smoke: bool | None = None) -> list[str]:
    """The GPU caveat, and the smoke caveat when the rows were trained without tuning (the quick suite)."""
    smoke = s_smoke if s_smoke is not None else _is_smoke(df)
    return [*caveats(df), *([SMOKE_CAVEAT] if smoke else [])]


def _is_smoke(df: pd.DataFrame) -> bool:
    """Whether the rows were trained smoke-sized: by the suite named in their sweep ("claims-quick", "claims-full"),
    else (a custom suite, rows from ``train``) by no row having tuned anything. The suite decides where it can: an
    LR-grid claim (8) never tunes, in the full suite too, and is not smoke-sized there."""
    if "sweep" in df:
        names = {str(s).removeprefix("claims-").removesuffix("-adaptive") for s in df["sweep"].dropna()}
        if names and names <= set(SUITES):
            return any(SUITES[n].smoke for n in names)
    return SPEC_TUNE_LR in df and not bool(df[SPEC_TUNE_LR].fillna(False).any())


def metric_of(rows: pd.DataFrame) -> str:
    """The task's metric named in the rows (accuracy when none is)."""
    return str(rows["metric"].dropna().iloc[0]) if "metric" in rows and rows["metric"].notna().any() else "accuracy"


def baseline_of(rows: pd.DataFrame, metric: str) -> float:
    """The task's baseline value of ``metric`` (NaN when the rows carry none)."""
    col = f"baseline.{metric}"
    return float(rows[col].dropna().iloc[0]) if col in rows and rows[col].notna().any() else math.nan


def learned(value: float, baseline: float, metric: str) -> bool:
    """Beat the baseline by the margin: accuracy by points, losses by a relative margin."""
    if not math.isfinite(value) or not math.isfinite(baseline):
        return False
    if metric == "accuracy":
        return value >= baseline + LEARN_MARGIN["accuracy"]
    return value <= baseline * (1 - LEARN_MARGIN.get(metric, 0.05))


def model_rows(df: pd.DataFrame, model: str, **match: Any) -> pd.DataFrame:
    """Successful rows of ``model`` (and the other ``match`` columns)."""
    return ok_rows(df, model=model, **match)


def scores(rows: pd.DataFrame) -> list[float]:
    """The rows' test metric values (one per trained model)."""
    return [float(v) for v in rows["test_metric"].dropna()] if "test_metric" in rows else []


def option_column(df: pd.DataFrame, key: str) -> pd.Series:
    """The model option ``key`` of every row (None where no row set it)."""
    col = f"spec.options.{key}"
    return df[col] if col in df else pd.Series([None] * len(df), index=df.index)


def by_seed(rows: pd.DataFrame, column: str = "test_metric") -> dict[int, float]:
    """``column`` of each seed's row (NaN where the row has none: a diverged run)."""
    if not len(rows) or column not in rows:
        return {}
    seeds = rows[SPEC_SEED] if SPEC_SEED in rows else pd.Series([0] * len(rows), index=rows.index)
    return {int(seed): float(v) if v is not None else math.nan for seed, v in zip(seeds, rows[column])}


def diverged(values: dict[int, float]) -> list[int]:
    """Seeds whose value is not finite (the run diverged or produced no metric)."""
    return [seed for seed, v in values.items() if not math.isfinite(v)]
