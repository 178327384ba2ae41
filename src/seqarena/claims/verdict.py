"""Verdicts and the rule that decides them.

A verdict is decided by an interval against a visible threshold with a stated equivalence zone around it
(``zone``: a relative half-width for ratio and slope thresholds, e.g. 0.05 = +-5%; absolute when the threshold is 0):

- ``supported`` when the whole interval lies beyond the zone on the claim's side;
- ``refuted`` when the whole interval lies beyond the zone on the other side;
- ``inconclusive`` otherwise, with the reason in words: the interval straddles the zone, or lies inside it ("no
  meaningful difference here"; a claim such as "competitive with or faster" reads a tie as support), or a row is
  missing or failed, or the sizes do not reach the claim's regime ("not tested in this range").

A point estimate (no replication: one seed, one round) never decides unless it clears a noise floor that the suite
measured, and the verdict states that floor. The margin is how far the effect is from the threshold (in the effect's
units), so a reader sees how close the call was.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Literal

Status = Literal["supported", "refuted", "inconclusive", "not-applicable-here"]


class Why(enum.StrEnum):
    """Why a verdict is inconclusive (or how a tie was read): a verdict's typed ``why``. The value is also the first
    words of its ``reason`` in words, which the report shows."""

    TIE = "no meaningful difference here"
    UNTESTED = "not tested in this range"
    MISSING = "missing data"
    FAILED = "failed trials"
    UNREPLICATED = "no replication"
    STRADDLES = "the interval straddles"  # the interval is too wide: more rounds can decide

    @classmethod
    def of(cls, reason: str) -> Why | None:
        """The kind of a reason built from these words (None: another reason, e.g. a claim's second condition)."""
        return next((w for w in cls if reason.startswith(w.value)), None)

    @property
    def final(self) -> bool:
        """More rounds cannot change it: data is missing or failed, or the sizes miss the claim's regime."""
        return self in (Why.MISSING, Why.FAILED, Why.UNTESTED)


TIE, UNTESTED, MISSING, FAILED, UNREPLICATED = Why.TIE, Why.UNTESTED, Why.MISSING, Why.FAILED, Why.UNREPLICATED


@dataclasses.dataclass
class Verdict:
    """What a claim's predicate concluded from the measurements."""

    claim: str  # id, e.g. "13a"
    status: Status
    effect: float  # the measured quantity the threshold applies to
    ci: tuple[float, float] | None  # its interval (None: a point estimate)
    threshold: float
    direction: Literal["above", "below"]  # supported when the effect is above / below the threshold
    effect_name: str
    evidence: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    caveats: list[str] = dataclasses.field(default_factory=list)
    sizes: str = ""  # the sizes and seeds the verdict rests on (filled by the engine)
    reason: str = ""  # why it is inconclusive (or how a tie was read), in words
    zone: tuple[float, float] | None = None  # the equivalence zone around the threshold
    check: bool = False  # an implementation check: holds by construction, not evidence about the essay
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)  # trial ids, commits, torch, ... (engine)
    why: Why | None = None  # the reason's kind (read from the reason's first words when not given)
    scope: str = ""  # where it was measured: "cpu, 1 thread (AMD EPYC ...)" (filled by the engine)
    looks: str = ""  # the sequential rule's look it stopped at (adaptive claims; filled by the engine)
    local: bool = False  # a parallelism claim measured without the parallel hardware it speaks of: "on this machine"

    def __post_init__(self) -> None:
        if self.why is None and self.reason:
            self.why = Why.of(self.reason)

    @property
    def margin(self) -> float:
        """Signed distance of the effect from the threshold, positive on the claim's side."""
        return self.effect - self.threshold if self.direction == "above" else self.threshold - self.effect

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["margin"] = self.margin
        return d

    def undecided(self, why: str, kind: Why | None = None) -> Verdict:
        """This verdict made inconclusive for ``why`` (a second condition of the claim failed, or a trial is missing:
        ``kind``, else read from ``why``'s words)."""
        self.status = "inconclusive"
        self.reason = f"{self.reason}; {why}" if self.reason else why
        self.why = kind or Why.of(why) or self.why
        return self

    def because(self, status: Status, reason: str, kind: Why | None = None) -> Verdict:
        """This verdict set to ``status`` for ``reason`` (its kind: ``kind``, else read from the words)."""
        self.status, self.reason, self.why = status, reason, kind or Why.of(reason)
        return self


def zone_bounds(threshold: float, zone: float) -> tuple[float, float]:
    """The equivalence zone around ``threshold``: relative (x (1 +- zone)) for a non-zero threshold, absolute for 0."""
    if threshold == 0:
        return -zone, zone
    lo, hi = threshold * (1 - zone), threshold * (1 + zone)
    return (min(lo, hi), max(lo, hi))


def decide(ci: tuple[float, float] | None, effect: float, threshold: float, direction: str, *, zone: float = 0.0,
           tie_supports: bool = False, floor: float | None = None) -> tuple[Status, str]:
    """(status, reason) from an interval against ``threshold`` and its equivalence zone.

    ``ci`` None is a point estimate: it decides only when it clears the zone by more than the measured noise
    ``floor`` (in the effect's units); without a floor it is inconclusive."""
    if effect is None or math.isnan(effect):  # +-inf is a valid effect (e.g. a model that never hits the cap)
        return "inconclusive", MISSING
    z_lo, z_hi = zone_bounds(threshold, zone)
    if ci is None:
        if floor is None:
            return "inconclusive", f"{UNREPLICATED}: a single measurement, no interval"
        lo, hi = effect - floor, effect + floor
    else:
        lo, hi = ci
        if any(math.isnan(x) for x in (lo, hi)):
            return "inconclusive", f"{UNREPLICATED}: the interval could not be computed"
    beyond, short = (lo > z_hi, hi < z_lo) if direction == "above" else (hi < z_lo, lo > z_hi)
    if beyond:
        return "supported", ""
    if short:
        return "refuted", ""
    inside = z_lo <= lo and hi <= z_hi
    if tie_supports:  # "competitive with or better": the interval must only stay clear of the wrong side
        clear = lo >= z_lo if direction == "above" else hi <= z_hi
        if clear:
            return "supported", f"{TIE}: read as support (the claim says competitive with or better)" if inside else ""
    if inside:
        return "inconclusive", f"{TIE} (the interval lies inside the zone {z_lo:.3g}-{z_hi:.3g})"
    where = f"the zone {z_lo:.3g}-{z_hi:.3g}" if zone else f"the threshold {threshold:g}"
    return "inconclusive", f"{Why.STRADDLES} {where}"
