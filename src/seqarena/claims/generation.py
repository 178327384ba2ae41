"""Generation and streaming claims: per-step decode cost (13a, 13b), the KV cache (13c), long generation (13e),
and streaming's constant cost and jitter (23a, 23b), from the harness's ``generation`` trials.

The round is the unit of replication (:mod:`~seqarena.claims.rounds`): per round, the median single-token decode time
at a sampled position (or a slope, or a jitter ratio) of one model and mode, paired with the other's in the same
round; the interval is the t-interval over rounds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import ZONE, round_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, missing, ok_rows
from seqarena.claims.rounds import abs_dev_interval, paired, round_of
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import MISSING, UNREPLICATED, Verdict
from seqarena.run.sweep import expand


def _generation_trials(*roles_modes: tuple[str, str]) -> Callable[[Suite, Claim], list[TrialSpec]]:
    """Generation trials of the given (role, mode) pairs only, so adaptive repetition re-runs just what the claim
    reads (recomputing is the expensive mode)."""

    def trials(s: Suite, claim: Claim) -> list[TrialSpec]:
        wanted = {(claim.rnn if role == "rnn" else claim.attn, mode) for role, mode in roles_modes}
        every = expand("generation", [claim.rnn, claim.attn], tokens=s.tokens, params=s.params,
                       repeats=s.gen_repeats, rounds=s.gen_rounds)
        # recomputing costs O(n^2) over a generation: the suite's shorter recompute_tokens (a check's positions)
        cheap = expand("generation", [claim.attn], tokens=s.recompute_tokens, params=s.params,
                       repeats=s.gen_repeats, rounds=s.gen_rounds)
        return [t for t in every if (t.model, t.mode) in wanted and t.mode != "recompute"] + \
            [t for t in cheap if (t.model, t.mode) in wanted and t.mode == "recompute"]

    return trials


def _decode_by_round(df: pd.DataFrame, model: str, mode: str) -> dict[int, dict[int, list[float]]]:
    """Per round, single-token decode times (ms) per sampled position."""
    out: dict[int, dict[int, list[float]]] = {}
    for _, row in ok_rows(df, model=model, mode=mode).iterrows():
        cell = row.get("decode_samples_by_position")
        if isinstance(cell, dict):
            by_pos = out.setdefault(round_of(row), {})
            for k, v in cell.items():
                by_pos.setdefault(int(k), []).extend(v)
    return out


#: The reference position of "per-step cost" growth (13a, 13b): the spec's 16, not position 2, which follows the
#: first steps' warm-up and the memory tracker's ``malloc_trim`` and reads as an outlier.
REFERENCE_POSITION = 16


def _late_position(decode: dict[int, dict[int, list[float]]]) -> tuple[int, int] | None:
    """(reference, late) sampled positions every round has: the first sampled position at or after
    ``REFERENCE_POSITION`` (else the first), and late = 1024 when sampled, else the last."""
    common = set.intersection(*(set(d) for d in decode.values())) if decode else set()
    if len(common) < 2:
        return None
    positions = sorted(common)
    first = next((p for p in positions if p >= REFERENCE_POSITION), positions[0])
    late = 1024 if 1024 in common else positions[-1]
    return (first, late) if late > first else (positions[0], late)


def _decode_ratio(df: pd.DataFrame, claim: Claim, num: tuple[str, str], den: tuple[str, str], which: str, *,
                  deviation: bool = False) -> Verdict:
    """Per round: median decode time of ``num`` (model, mode) over ``den``'s, at the late position (``which`` =
    "late") or ``num``'s late over its own first position (``which`` = "growth"); t-interval over rounds.
    ``deviation``: the effect is |ratio - 1| (flatness)."""
    for model, mode in {num, den}:
        why = missing(df, model=model, mode=mode)
        if why:
            return claim.no_data(df, why)
    top, bottom = _decode_by_round(df, *num), _decode_by_round(df, *den)
    pos = _late_position({**{("t", r): d for r, d in top.items()}, **{("b", r): d for r, d in bottom.items()}})
    if pos is None:
        return claim.no_data(df, f"{MISSING}: fewer than two decode positions sampled in every round")
    first, late = pos
    per_round = []
    for r in paired(top, bottom):
        ref = top[r][first] if which == "growth" else bottom[r][late]
        per_round.append(float(np.median(top[r][late]) / np.median(ref)))
    effect, ci = round_interval(per_round)
    ev = [{"positions": (first, late), "per-round ratios": [round(x, 4) for x in per_round],
           f"{num[0]} {num[1]} ms": [round(float(np.median(top[r][late])), 4) for r in sorted(top)]}]
    if deviation:
        effect, ci = abs(effect - 1), abs_dev_interval(*ci, 1.0) if ci is not None else None
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(per_round)} round; an interval needs >= 2", ev)
    return claim.verdict(effect, ci, ev, caveats(df))


def judge_13a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """|per-token time at the late position / at position 16 - 1| (supported below 0.10), per round. A check, not
    evidence: the state step runs the same kernels on the same shapes at every position by construction, and it reads
    the same trials as 23a."""
    return _decode_ratio(df, claim, (claim.rnn, "state"), (claim.rnn, "state"), "growth", deviation=True)


CLAIM_13A = Claim(
    id="13a", short="generation: RNN per-step cost is constant",
    quote="Each step has constant cost regardless of sequence length.",
    threshold=0.10, direction="below", check=True,
    effect_name="|LSTM per-token time at position 1024 / at position 16 - 1|",
    trials=_generation_trials(("rnn", "state")), judge=judge_13a,
    conditions="batch 1", adaptive=True,
)


def judge_13b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """The recomputing transformer's per-token time at 1024 over its first position (supported above 3)."""
    return _decode_ratio(df, claim, (claim.attn, "recompute"), (claim.attn, "recompute"), "growth")


CLAIM_13B = Claim(
    id="13b", short="generation without a cache: per-step cost grows",
    quote="Transformers must attend to all previously generated tokens at each generation step.",
    threshold=3.0, direction="above", check=True,
    effect_name="transformer (recompute) per-token time at its last sampled position (the suite's recompute_tokens) "
                "/ at the first",
    trials=_generation_trials(("attn", "recompute")), judge=judge_13b,
    conditions="batch 1", adaptive=True,
)


def judge_13c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: cached / recomputing transformer per-token time at position 1024 (supported below 1)."""
    return _decode_ratio(df, claim, (claim.attn, "cache"), (claim.attn, "recompute"), "late")


CLAIM_13C = Claim(
    id="13c", short="a KV cache helps",
    quote="KV caching partially mitigates this by storing key and value vectors from previous tokens, avoiding "
          "recomputation.",
    threshold=1.0, direction="below", zone=ZONE, check=True,
    effect_name="per-token time with the cache / recomputing, at the last position both sampled",
    trials=_generation_trials(("attn", "cache"), ("attn", "recompute")), judge=judge_13c,
    conditions="batch 1", adaptive=True,
)


def judge_13e(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN / cached transformer per-token time at position 1024 (supported below 1), per round."""
    return _decode_ratio(df, claim, (claim.rnn, "state"), (claim.attn, "cache"), "late")


CLAIM_13E = Claim(
    id="13e", short="for 1,000+ generated tokens RNNs are attractive",
    quote="For very long generation (1,000+ tokens), RNNs\u2019 constant-per-step cost becomes attractive.",
    threshold=1.0, direction="below", zone=ZONE,
    effect_name="LSTM / cached transformer per-token time at position 1024",
    trials=_generation_trials(("rnn", "state"), ("attn", "cache")), judge=judge_13e,
    conditions="batch 1, position >= 1000", adaptive=True,
)


def judge_23a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Log-log slope of the RNN's per-step decode time vs position (supported below 0.1), per round."""
    why = missing(df, model=claim.rnn, mode="state")
    if why:
        return claim.no_data(df, why)
    slopes = []
    for d in _decode_by_round(df, claim.rnn, "state").values():
        positions = sorted(d)
        fit = fit_loglog(positions, [float(np.median(d[p])) for p in positions], large_fraction=1.0)
        if fit is not None and len(positions) >= 4:
            slopes.append(fit.slope)
    slope, ci = round_interval(slopes, log=False)
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(slopes)} round(s) with a slope")
    return claim.verdict(abs(slope), abs_dev_interval(*ci, 0.0),
                         [{"model": claim.rnn, "slope": slope, "slope_ci": ci, "per-round slopes": slopes}],
                         caveats(df))


CLAIM_23A = Claim(
    id="23a", short="streaming: RNN per-step cost stays constant",
    quote="streaming applications requiring constant per-step computation",
    threshold=0.1, direction="below", check=True,
    effect_name="|log-log slope of the LSTM's per-step decode time vs position|",
    trials=_generation_trials(("rnn", "state")), judge=judge_23a,
    conditions="batch 1, streaming", adaptive=True,
)


def judge_23b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """RNN jitter over the cached transformer's (supported below 1): per round, p99/p50 of single decode steps
    detrended within windows of positions (each step over its window's median), so the cached transformer's
    growth with position is not counted as jitter; t-interval over rounds of the paired ratio."""
    col = "step_jitter_detrended"
    for model, mode in ((claim.rnn, "state"), (claim.attn, "cache")):
        why = missing(df, model=model, mode=mode)
        if why:
            return claim.no_data(df, why)
    rnn, attn = ok_rows(df, model=claim.rnn, mode="state"), ok_rows(df, model=claim.attn, mode="cache")
    if col not in rnn or col not in attn or rnn[col].isna().all() or attn[col].isna().all():
        return claim.no_data(df, f"{MISSING}: rows without the detrended jitter (measured by an older version)")
    a = {round_of(r): r[col] for _, r in rnn.iterrows()}
    b = {round_of(r): r[col] for _, r in attn.iterrows()}
    per_round = [a[r] / b[r] for r in paired(a, b)]
    effect, ci = round_interval(per_round)
    ev = [{"model": claim.rnn, "p99/p50 detrended": float(np.median(list(a.values())))},
          {"model": f"{claim.attn} (cache)", "p99/p50 detrended": float(np.median(list(b.values())))},
          {"per-round ratios": [round(x, 4) for x in per_round]}]
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(per_round)} round; an interval needs >= 2", ev)
    return claim.verdict(effect, ci, ev, [*caveats(df), "single steps, batch 1, detrended within 64-step windows"])


CLAIM_23B = Claim(
    id="23b", short="streaming: RNN steps jitter less",
    quote="However, real-time speech synthesis often uses RNN-based components or hybrid architectures.",
    threshold=1.0, direction="below", zone=0.10,
    effect_name="LSTM p99/p50 of single decode steps (detrended) / the cached transformer's",
    trials=_generation_trials(("rnn", "state"), ("attn", "cache")), judge=judge_23b,
    conditions="batch 1, streaming", adaptive=True,
)

#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_13A, CLAIM_13B, CLAIM_13C, CLAIM_13E, CLAIM_23A, CLAIM_23B]
