"""The recommendation in words: 3-5 lines with the numbers and the store rows behind them."""

from __future__ import annotations

from seqarena.analysis.labels import fmt_estimate, fmt_mb, fmt_ms
from seqarena.analysis.summary import MEMORY_DEFINITION
from seqarena.models.hf_families import hf_note
from seqarena.recommender.compare import Comparison
from seqarena.recommender.data_size import DataEvidence
from seqarena.recommender.observe import Observations, cite
from seqarena.recommender.profile import Profile
from seqarena.recommender.result import Ranked
from seqarena.run.sweep import SweepSummary


def why_not(r: Ranked, profile: Profile, *, latency: bool = True) -> str:
    """What breaks (or may break) a constraint for r, with the numbers and rows."""
    parts = []
    if latency and r.fits_latency in ("no", "uncertain"):
        verb = "is over" if r.fits_latency == "no" else "may exceed"
        parts.append(f"{verb} the {profile.latency_budget_ms:g} ms budget at {fmt_estimate(r.latency, fmt_ms)} "
                     f"({cite(r.latency.rows)})")
    cap = (profile.memory_cap_mb or 0) * 2**20
    scoped = [("inference", r.infer_peak)]
    if profile.cap_scope == "both":
        scoped.append(("a training step", r.train_peak))
    for what, est in scoped:
        verdict = est.within(cap) if profile.memory_cap_mb is not None else "n/a"
        if verdict in ("no", "uncertain"):
            verb = "exceeds" if verdict == "no" else "may exceed"
            if not est.known:
                parts.append(f"is unmeasured against the {profile.memory_cap_mb:g} MB cap in {what}")
                continue
            detail = est.how if est.how.startswith("exceeded") else f"{fmt_estimate(est, fmt_mb)}, {est.how}"
            parts.append(f"{verb} the {profile.memory_cap_mb:g} MB cap in {what} ({detail}; {cite(est.rows)})")
    return "; ".join(parts)


def impossible(profile: Profile, ranked: list[Ranked]) -> str:
    best = ranked[0]
    return (f"no candidate fits this profile on this machine ({profile.describe()}): best is {best.model}, which "
            f"{why_not(best, profile)}")


def _versus(top: Ranked, rival: Ranked, comparison: Comparison | None, decided_by: str, evidence: DataEvidence,
            profile: Profile) -> str:
    """Why ``top`` ranks above ``rival``, with the gap said as decisive, unreplicated or a tie."""
    if comparison is None:
        verdict = "no prediction for it"
    elif decided_by == "data size":
        verdict = (f"{comparison.gap()}; {evidence.what} decided the ranking: it is worth up to {evidence.effect:.0%} "
                   f"and favours {top.model}")
    elif decided_by == "tie":
        verdict = f"{comparison.gap()}; ordered by the point estimate"
    else:
        verdict = comparison.gap()
    if decided_by == "constraints":
        verdict += f"; it ranks below on the constraints: it {why_not(rival, profile)}"
    cost = f"{fmt_estimate(rival.cost, fmt_ms)} ({rival.cost.how}; {cite(rival.cost.rows)})"
    return f"next: {rival.model} {cost}: {verdict}"


def explain(profile: Profile, ranked: list[Ranked], data: dict[str, Observations], cost_metric: str,
            evidence: DataEvidence, summary: SweepSummary | None, rival: Ranked | None = None,
            comparison: Comparison | None = None, decided_by: str = "") -> list[str]:
    """3-5 lines: the choice and its number; memory under the cap; the rival and why it ranks below (decisively, on
    one round, as a tie, or by the data-size factor); data size; a caveat (extrapolation, nearest batch, the probe)
    when there is one."""
    n, b = profile.seq_len, profile.batch
    top = ranked[0]
    metric = cost_metric.split(" (")[0]
    at = f"n={n:,}" + (" context" if profile.streaming else "") + f", batch {b}"
    first = f"{top.model}: {metric} {fmt_estimate(top.cost, fmt_ms)} at {at} ({top.cost.how}; {cite(top.cost.rows)})"
    if profile.latency_budget_ms is not None:
        first += {"yes": f", within the {profile.latency_budget_ms:g} ms budget",
                  "uncertain": f", its interval straddles the {profile.latency_budget_ms:g} ms budget",
                  "no": f", over the {profile.latency_budget_ms:g} ms budget"}[top.fits_latency]
    if decided_by == "data size":  # not the fastest: say so where the choice is named
        first += f"; first by {evidence.what}, not by speed"
    if top.fits_memory == "uncertain":
        first += f" (not certain to fit: {why_not(top, profile, latency=False)})"
    lines = [first]
    if profile.memory_cap_mb is not None and not (top.infer_peak.known or top.train_peak.known):
        lines.append(f"memory under the {profile.memory_cap_mb:g} MB cap: no measurement for {top.model}")
    elif profile.memory_cap_mb is not None:
        lines.append(f"memory under the {profile.memory_cap_mb:g} MB cap ({MEMORY_DEFINITION}): {top.model} peaks at "
                     f"{fmt_estimate(top.infer_peak, fmt_mb)} in inference ({top.infer_peak.how}) and "
                     f"{fmt_estimate(top.train_peak, fmt_mb)} in a training step ({top.train_peak.how}; "
                     f"{cite(set(top.infer_peak.rows) | set(top.train_peak.rows))})")
    others = [_versus(top, rival, comparison, decided_by, evidence, profile)] if rival is not None else []
    for r in [r for r in ranked[1:] if r.feasible == "no" and r is not rival][:2]:
        others.append(f"{r.model} ranks below: it {why_not(r, profile)}")
    unknown = [r.model for r in ranked[1:] if not r.cost.known]
    if unknown:
        others.append(f"no {metric} data for {', '.join(unknown)}")
    if others:
        lines.append("; ".join(others))
    if evidence.factor != 1.0:
        favoured = ", ".join(r.model for r in ranked if r.favoured) or "no candidate"
        lines.append(f"{evidence.line}: score x{evidence.factor:g} for {favoured} (worth at most "
                     f"{evidence.effect:.0%}: it reorders only contenders within {evidence.effect:.0%} of each other)")
    else:
        lines.append(evidence.line)
    caveats = []
    extrapolated = [r.model for r in ranked[:2] if r.cost.extrapolated]
    if extrapolated:
        caveats.append(f"{metric} of {', '.join(extrapolated)} extrapolated beyond the measured lengths "
                       "(interval widened by the slope's 95% CI)")
    if "proxy" in cost_metric:
        caveats.append("no training steps stored: forward latency ranks as a proxy for training time")
    caveats += [f"{r.model} {note}" for r in ranked[:2] for note in r.notes]
    caveats += [f"{r.model}: {note}" for r in ranked[:2] if (note := hf_note(r.model))]  # e.g. a CPU fallback
    noisy = sorted({row for r in ranked[:2] for row in r.cost.rows if row in data[r.model].noisy})
    if noisy:
        caveats.append(f"noisy timings (IQR > 10% of the median: was the machine busy?) in {cite(noisy)}")
    if summary is not None:
        caveats.append(f"the probe ran {summary.ok + summary.failed} new trials ({summary.failed} failed), "
                       f"{summary.skipped} already stored")
    if caveats:
        lines.append("caveat: " + "; ".join(caveats))
    if len(lines) < 3:
        lines.append(f"measured on this machine: {profile.device}, {profile.params:,} parameters x 2 layers, float32")
    return lines[:5]
