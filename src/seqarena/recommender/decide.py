"""The data recommender's decision: which candidate (or baseline) to deploy, from test metrics over runs and costs
measured on this machine. Pure functions of numbers; every rule is said in the explanation.

1. **Learned.** A candidate counts only when it beats the best baseline (chosen on validation, per fold): the mean
   of its paired relative gains over the baseline (the loss it saves, relative to the baseline's), run by run, has a
   95% t-interval wholly above 0. A model that
   does not beat a closed-form baseline is not recommended, however cheap it is.
2. **Budgets.** A candidate whose measured latency or memory breaks a budget ranks below every one that meets them.
3. **Quality.** Among the rest the mean test metric ranks; the interval over runs is shown beside it. For a loss
   (MSE, bits per character) the mean is geometric and the interval comes from the log scale: a series' runs test
   on different folds, whose losses differ in scale (an arithmetic t-interval spanned [-0.80, 2.56] for MSEs near
   0.9), and the margin below is relative anyway. Accuracy keeps the arithmetic mean.
4. **Tie.** Candidates whose mean is within :data:`MARGIN` (relative, on the metric as a loss: MSE, bits per
   character, or the error rate 1 - accuracy) of the best mean are tied with it; the tie goes to the cheaper: lower
   latency, then lower memory. Whether the best's lead over the next is resolved by the runs
   (its paired interval clear of 0) is said, not assumed.
5. **Baseline.** When no candidate learned (or none that learned meets the budgets), the baseline is recommended.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from seqarena.analysis.labels import fmt_mean_ci
from seqarena.analysis.stats import ZONE, round_interval, t_interval

#: The equivalence margin of quality: two candidates whose mean test losses (MSE, bits per character, error rate)
#: differ by less than this fraction of the best's are tied (the timing zone's width: differences of a few percent
#: between seeds are common).
MARGIN = ZONE


@dataclasses.dataclass
class Entry:
    """One candidate's evidence: test metric per run (run index -> value; missing: failed), costs, trial ids."""

    label: str
    test: dict[int, float]
    latency_s: float | None = None  # median over rounds, at the user's n, batch and threads
    latency_ci: tuple[float, float] | None = None
    memory_mb: float | None = None  # the peak the cap binds (inference, or the larger with cap scope "both")
    train_memory_mb: float | None = None  # a training step's peak at the training batch (shown)
    trials: list[int] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)  # "run 2: diverged (lr 0.003)" ...


@dataclasses.dataclass
class Judged:
    """A candidate after the rules: its place, status and the numbers that put it there."""

    entry: Entry
    mean: float
    ci: tuple[float, float] | None
    gain: float  # mean relative gain over the baseline (positive: better)
    gain_ci: tuple[float, float] | None
    learned: bool
    fits: str  # yes | no | unmeasured
    status: str = ""  # pick | tied | worse | over budget | did not learn | failed
    why: str = ""


@dataclasses.dataclass
class Decision:
    pick: str  # a candidate's label, or "baseline: <name>"
    ranking: list[Judged]
    lines: list[str]
    baseline: str
    baseline_mean: float


def _oriented(value: float, higher_is_better: bool) -> float:
    return value if higher_is_better else -value


def _loss(value: float, higher_is_better: bool) -> float:
    """The metric as a loss, what relative gains and the margin are taken on: MSE and bits per character as they
    are, accuracy as its error rate (0.95 against 0.94 is 17% fewer errors, not 1% more accuracy)."""
    return 1.0 - value if higher_is_better else value


def judge(entries: Sequence[Entry], baseline: dict[int, float], baseline_name: str, metric: str, *,
          higher_is_better: bool, latency_budget_ms: float | None = None, memory_cap_mb: float | None = None,
          margin: float = MARGIN) -> Decision:
    """Apply the module's rules. ``baseline``: the best baseline's test metric per run index (its fold)."""
    judged = []
    for e in entries:
        runs = sorted(r for r, v in e.test.items() if v is not None and math.isfinite(v) and r in baseline)
        mean, ci = over_runs([e.test[r] for r in runs], higher_is_better)
        gains = [(_loss(baseline[r], higher_is_better) - _loss(e.test[r], higher_is_better))
                 / max(abs(_loss(baseline[r], higher_is_better)), 1e-12) for r in runs]
        gain, gain_ci = t_interval(gains)
        learned = gain_ci is not None and gain_ci[0] > 0
        judged.append(Judged(e, mean, ci, gain, gain_ci, learned, _fits(e, latency_budget_ms, memory_cap_mb)))
    base_mean = over_runs(list(baseline.values()), higher_is_better)[0] if baseline else math.nan
    usable = [j for j in judged if j.learned and j.fits != "no"]
    for j in judged:
        if not j.entry.test or not math.isfinite(j.mean):
            j.status, j.why = "failed", "; ".join(j.entry.failed) or "no run finished"
        elif not j.learned:
            j.status = "did not learn"
            j.why = (f"does not beat {baseline_name}: {_loss_name(metric, higher_is_better)} cut {_pct(j.gain)} "
                     + (f"[{_pct(j.gain_ci[0])}, {_pct(j.gain_ci[1])}]" if j.gain_ci else "(one run: no interval)"))
        elif j.fits == "no":
            j.status, j.why = "over budget", _over(j.entry, latency_budget_ms, memory_cap_mb)
    if not usable:
        lines = [_no_model_line(judged, baseline_name, base_mean, metric, higher_is_better)]
        ranked = sorted(judged, key=lambda j: _order(j, higher_is_better))
        return Decision(f"baseline: {baseline_name}", ranked, lines, baseline_name, base_mean)
    best = max(usable, key=lambda j: _oriented(j.mean, higher_is_better))
    tied = [j for j in usable if _shortfall(j, best, higher_is_better) <= margin]
    pick = min(tied, key=lambda j: (_cost(j.entry.latency_s), _cost(j.entry.memory_mb), j is not best))
    for j in usable:
        j.status = "pick" if j is pick else "tied" if j in tied else "worse"
        if j.status == "worse":
            j.why = f"{_pct(_shortfall(j, best, higher_is_better))} worse than {best.entry.label} (margin {margin:.0%})"
    ranked = sorted(judged, key=lambda j: (j.status != "pick", _order(j, higher_is_better)))
    lines = [_pick_line(pick, best, tied, metric, margin, higher_is_better)]
    rival = next((j for j in ranked[1:] if j.status in ("tied", "worse")), None)
    if rival is not None:
        lines.append(_lead_line(ranked[0], rival, metric, higher_is_better))
    lines.append(f"baseline {baseline_name}: {metric} {base_mean:.4g}; {pick.entry.label} cuts its "
                 f"{_loss_name(metric, higher_is_better)} by {_pct(pick.gain)} [{_pct(pick.gain_ci[0])}, "
                 f"{_pct(pick.gain_ci[1])}], paired by run")
    excluded = [j for j in judged if j.status in ("did not learn", "over budget", "failed")]
    if excluded:
        lines.append("; ".join(f"{j.entry.label} {j.status}: {j.why}" for j in excluded))
    return Decision(pick.entry.label, ranked, lines, baseline_name, base_mean)


def _fits(e: Entry, latency_budget_ms: float | None, memory_cap_mb: float | None) -> str:
    verdicts = []
    if latency_budget_ms is not None:
        verdicts.append("unmeasured" if e.latency_s is None else "yes" if e.latency_s * 1e3 <= latency_budget_ms
                        else "no")
    if memory_cap_mb is not None:
        verdicts.append("unmeasured" if e.memory_mb is None else "yes" if e.memory_mb <= memory_cap_mb else "no")
    return "no" if "no" in verdicts else "unmeasured" if "unmeasured" in verdicts else "yes"


def _over(e: Entry, latency_budget_ms: float | None, memory_cap_mb: float | None) -> str:
    parts = []
    if latency_budget_ms is not None and e.latency_s is not None and e.latency_s * 1e3 > latency_budget_ms:
        parts.append(f"latency {e.latency_s * 1e3:.3g} ms > {latency_budget_ms:g} ms")
    if memory_cap_mb is not None and e.memory_mb is not None and e.memory_mb > memory_cap_mb:
        parts.append(f"memory {e.memory_mb:.3g} MB > {memory_cap_mb:g} MB")
    return ", ".join(parts)


def _shortfall(j: Judged, best: Judged, higher_is_better: bool) -> float:
    """How much worse ``j``'s mean is than the best's, relative to the best (0 for the best itself)."""
    best_loss = _loss(best.mean, higher_is_better)
    return (_loss(j.mean, higher_is_better) - best_loss) / max(abs(best_loss), 1e-12)


def _order(j: Judged, higher_is_better: bool) -> tuple:
    group = {"pick": 0, "tied": 1, "worse": 2, "over budget": 3, "did not learn": 4, "failed": 5}.get(j.status, 6)
    return (group, -_oriented(j.mean, higher_is_better) if math.isfinite(j.mean) else math.inf, j.entry.label)


def _cost(v: float | None) -> float:
    return math.inf if v is None else v


def _pct(x: float) -> str:
    return f"{x:+.1%}" if math.isfinite(x) else "n/a"


def over_runs(values: Sequence[float], higher_is_better: bool) -> tuple[float, tuple[float, float] | None]:
    """Mean and 95% interval over runs: for a positive loss the geometric mean with the interval from the log scale
    (positive, fair to folds of different scale), else the arithmetic mean and its t-interval."""
    if not higher_is_better and values and all(v > 0 for v in values):
        return round_interval(values, log=True, confidence=0.95)
    return t_interval(values)


def _interval(j: Judged) -> str:
    return fmt_mean_ci(j.mean, j.ci) + ("" if j.ci else " (one run)")


def _cost_words(j: Judged) -> str:
    e = j.entry
    lat = f"{e.latency_s * 1e3:.3g} ms" if e.latency_s is not None else "latency unmeasured"
    mem = f"{e.memory_mb:.3g} MB" if e.memory_mb is not None else "memory unmeasured"
    return f"{lat}, {mem}"


def _pick_line(pick: Judged, best: Judged, tied: list[Judged], metric: str, margin: float,
               higher_is_better: bool) -> str:
    runs = len(pick.entry.test)
    head = f"{pick.entry.label}: test {metric} {_interval(pick)} over {runs} runs, {_cost_words(pick)}"
    if pick is best and len(tied) == 1:
        return head + f" — the best {metric}, no other within {margin:.0%}"
    if pick is best:
        others = ", ".join(j.entry.label for j in tied if j is not pick)
        return head + f" — the best {metric}; tied within {margin:.0%} with {others}, and the cheapest of them"
    short = _shortfall(pick, best, higher_is_better)
    return (head + f" — tied with the best, {best.entry.label} ({_interval(best)}, {_cost_words(best)}): "
            f"{_pct(short)} off it, within the {margin:.0%} margin, so the cheaper wins")


def _lead_line(top: Judged, rival: Judged, metric: str, higher_is_better: bool) -> str:
    runs = sorted(set(top.entry.test) & set(rival.entry.test))
    diffs = [_oriented(top.entry.test[r], higher_is_better) - _oriented(rival.entry.test[r], higher_is_better)
             for r in runs]
    _, ci = t_interval(diffs)
    if ci is None:
        resolved = "one paired run: not resolved"
    elif ci[0] > 0:
        resolved = f"{top.entry.label} better, paired by run: difference [{ci[0]:.3g}, {ci[1]:.3g}] excludes 0"
    elif ci[1] < 0:
        resolved = (f"{rival.entry.label} better, paired by run: difference [{-ci[1]:.3g}, {-ci[0]:.3g}] excludes 0 "
                    "(within the margin, so the cheaper was picked)")
    else:
        resolved = f"not resolved by {len(runs)} paired runs (difference [{ci[0]:.3g}, {ci[1]:.3g}] includes 0)"
    return f"next: {rival.entry.label} {_interval(rival)}, {_cost_words(rival)} ({rival.status}); {resolved}"


def _loss_name(metric: str, higher_is_better: bool) -> str:
    return "error rate" if higher_is_better else metric


def _no_model_line(judged: list[Judged], baseline_name: str, base_mean: float, metric: str,
                   higher_is_better: bool) -> str:
    learned_over = [j for j in judged if j.learned and j.fits == "no"]
    if learned_over:
        return (f"the baseline, {baseline_name} ({metric} {base_mean:.4g}): the models that beat it break the budgets "
                f"({'; '.join(f'{j.entry.label}: {j.why}' for j in learned_over)})")
    gains = ", ".join(f"{j.entry.label} {_pct(j.gain)}" + (f" [{_pct(j.gain_ci[0])}, {_pct(j.gain_ci[1])}]"
                                                            if j.gain_ci else "") for j in judged)
    return (f"the baseline, {baseline_name} ({metric} {base_mean:.4g}): no candidate beats it on this data "
            f"({_loss_name(metric, higher_is_better)} cut relative to it, paired by run, 95% CI: {gains})")
