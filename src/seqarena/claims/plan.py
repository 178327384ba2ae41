"""One job's plan of the claims: which claims (with which contenders in the roles), the trials each needs on which
device, and each claim's looks (:class:`~seqarena.analysis.sequential.Schedule`). A :class:`ClaimsPlan` is built once
from the user's arguments and passed by keyword to the budget table, the run, the judge, the report and the
recommender, so a job resolves its suite and plans its trials once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from seqarena.analysis.sequential import Schedule
from seqarena.bench.spec import TrialSpec, check_threads, target_cores
from seqarena.claims.base import Claim
from seqarena.claims.registry import CLAIMS
from seqarena.claims.suites import Suite, resolve_suite
from seqarena.errors import SpecError
from seqarena.essay import ATTN, RNN
from seqarena.measure.system import timing_threads
from seqarena.models import get_class


def select(only: Sequence[str] | None = None) -> list[Claim]:
    """Claims by id; "13" selects 13a, 13b, ... (None: every claim). Unknown ids, or an empty selection, are a
    one-line error: an empty ``--only`` must not silently run the whole suite."""
    if only is None:
        return list(CLAIMS)
    if not [x for x in only if x]:
        raise SpecError(f"--only needs at least one claim id; available: {', '.join(c.id for c in CLAIMS)}")
    chosen = []
    for want in only:
        hits = [c for c in CLAIMS if c.id == want or c.id.rstrip("abcdefgh") == want]
        if not hits:
            raise SpecError(f"unknown claim {want!r}; available: {', '.join(c.id for c in CLAIMS)}")
        chosen += [c for c in hits if c not in chosen]
    return chosen


def with_roles(claims: Sequence[Claim], rnn: str = RNN, attn: str = ATTN) -> list[Claim]:
    """The claims with other contenders in the RNN / transformer roles (e.g. ``rnn="gru"``)."""
    for name in (rnn, attn):
        get_class(name)  # unknown names: one-line SpecError
    return [dataclasses.replace(c, rnn=rnn, attn=attn, effect_name=_named(c.effect_name, rnn, attn)) for c in claims]


def _named(text: str, rnn: str, attn: str) -> str:
    """A measured quantity's words with the contenders in the roles: "LSTM / transformer latency" reads
    "hf:mamba2 / hf:llama latency" when those hold the roles (the essay's own words, ``short``, stay)."""
    if rnn != RNN:
        text = re.sub(r"\bLSTM\b", rnn, text)
    if attn != ATTN:
        text = re.sub(r"\btransformer\b", attn, text)
    return text


def plan(suite: str | dict[str, Any] | Suite, claims: Sequence[Claim], device: str = "cpu"
         ) -> dict[str, list[TrialSpec]]:
    """The trials each claim needs, on ``device``; timing and memory trials run with the suite's timing threads
    (half the cores by default: a neighbour on the other half does not move the verdict), quality trials with
    torch's default."""
    s = resolve_suite(suite)
    threads = s.timing_threads or timing_threads(target_cores())
    check_threads(threads)

    if s.autocast is not None and s.dtype != "float32":
        raise SpecError(f"autocast keeps float32 weights and computes in {s.autocast}: use dtype float32")

    def settings(t: TrialSpec) -> dict[str, Any]:
        update: dict[str, Any] = {"device": device}
        if t.timed:
            update |= {"threads": threads, "dtype": s.dtype}
        if t.scenario != "gradients":  # the gradient-flow probe runs in float64, eagerly, by design
            update |= {k: v for k, v in (("compile", s.compile), ("autocast", s.autocast)) if v is not None}
        return update

    return {c.id: [t.model_copy(update=settings(t)) for t in c.trials(s, c)] for c in claims}


def schedule(claim: Claim, suite: Suite, trials: Sequence[TrialSpec]) -> Schedule:
    """The claim's looks: from its planned rounds to the suite's cap when it repeats adaptively (timing / memory),
    else one look at its planned rounds. Implementation checks look again too: one look at three rounds left most of
    them inconclusive from noise alone, and their status then changed between quiet runs."""
    first = max((t.round for t in trials), default=0) + 1
    timed = any(t.scenario not in ("train", "gradients") for t in trials)
    return Schedule.of(first, suite.max_rounds if claim.adaptive and timed else first)


def describe_trials(trials: Sequence[TrialSpec]) -> str:
    """The sizes and seeds a verdict rests on, in one line per scenario joined by " | "."""
    groups: dict[str, list[TrialSpec]] = {}
    for t in trials:
        groups.setdefault(t.scenario, []).append(t)
    return " | ".join(_describe(g) for g in groups.values())


def _describe(trials: list[TrialSpec]) -> str:
    t0 = trials[0]
    models = sorted({t.label().split()[1] for t in trials})
    parts = [t0.scenario, "models " + ", ".join(models)]
    if t0.scenario == "train":
        tasks = sorted({f"{t.task}{dict(sorted(t.task_params.items()))}" for t in trials})
        parts += ["tasks " + "; ".join(tasks)[:160], f"steps {sorted({t.steps or 0 for t in trials})}",
                  f"tuned {', '.join(('lr', *t0.tune_more))}" if t0.tune_lr
                  else f"lr {sorted({t.lr or 1e-3 for t in trials})}"]
    elif t0.scenario == "generation":
        parts.append(f"tokens {t0.tokens}, batch {t0.batch}")
    else:
        parts.append(f"n {sorted({t.seq_len for t in trials})}, batch {sorted({t.batch for t in trials})}")
    budgets = sorted({t.params for t in trials if t.params})
    if budgets:
        parts.append("params " + ", ".join(f"{p / 1e6:g}M" for p in budgets))
    parts.append(f"seeds {sorted({t.seed for t in trials})}")
    if t0.scenario not in ("train", "gradients"):
        rounds = max(t.round for t in trials) + 1
        parts.append(f"{rounds} round{'s' if rounds > 1 else ''}")
    return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class ClaimsPlan:
    """The selected claims with their contenders, the suite, the device, the trials each claim needs at its first look
    and each claim's looks. Build it with :meth:`build` (bad input is a one-line :class:`SpecError` there, before
    anything runs)."""

    suite: Suite
    claims: tuple[Claim, ...]
    device: str
    trials: dict[str, list[TrialSpec]]  # claim id -> its trials at the first look
    schedules: dict[str, Schedule]  # claim id -> its looks and each look's level

    @classmethod
    def build(cls, suite: str | dict[str, Any] | Suite = "quick", only: Sequence[str] | None = None, *,
              device: str = "cpu", rnn: str = RNN, attn: str = ATTN) -> ClaimsPlan:
        """The plan of ``only`` (None: every claim) in ``suite`` on ``device``, ``rnn`` and ``attn`` in the roles."""
        s = resolve_suite(suite)
        claims = with_roles(select(only), rnn, attn)
        needs = plan(s, claims, device)
        return cls(s, tuple(claims), device, needs, {c.id: schedule(c, s, needs[c.id]) for c in claims})

    @property
    def ids(self) -> list[str]:
        """The claims' ids, in order."""
        return [c.id for c in self.claims]

    def unique(self) -> list[TrialSpec]:
        """Every planned trial once (trials shared between claims are one trial)."""
        out: dict[str, TrialSpec] = {}
        for trials in self.trials.values():
            for t in trials:
                out.setdefault(t.spec_hash(), t)
        return list(out.values())

    def hashes(self) -> set[str]:
        """Spec hashes of every planned trial (the first looks: what the budget table counts)."""
        return {t.spec_hash() for trials in self.trials.values() for t in trials}
