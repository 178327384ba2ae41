"""A verdict in words and in strict JSON, written once for the terminal (``seqarena claims``), the report and
``claims.json``: the threshold with its equivalence zone, the provenance of the rows it rests on, and the record
that ``claims --json`` and ``claims.json`` share.

Matplotlib-free and cheap to import: the CLI uses it without loading the report's figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

#: The sentence that says what the implementation checks are (the CLI's table title, the report's section).
CHECKS_NOTE = ("These hold by construction: they check that the implementation does what it was built to do, and "
               "they do not count as evidence for or against the essay.")

#: How a verdict is decided, in the report's words (verdict.py states the rule in code).
RULE_NOTE = ("A verdict is decided from the effect's interval (over rounds or seeds) against the claim's threshold "
             "and the equivalence zone around it: supported when the whole interval lies beyond the equivalence "
             "zone on the claim's side; refuted when beyond it on the other side; inconclusive otherwise — with the "
             "reason: a tie inside the zone, an interval that straddles it, missing or failed trials in any round "
             "(never evidence), one round or seed only, or sizes that cannot reach the claim's regime ('not tested "
             "in this range'). Intervals are 95%; a timing or memory claim that is looked at again with more rounds "
             "while open spends the 5% over its possible looks (each look's interval is 1 - 5%/looks), so all looks "
             "together keep false decisive verdicts at 5%. A claim about parallel hardware measured without it reads "
             "'on this machine'. The margin is the effect's distance from the threshold, positive on the claim's "
             "side.")

_TRUE = {"true", "1", "1.0"}  # git_dirty as provenance keeps it: str() of a bool, or of a NaN-padded float column


def jsonable(value: Any) -> Any:
    """NaN / inf become None (strict JSON), tuples lists, numpy scalars Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def status_words(verdict: Any) -> str:
    """The verdict's status as shown: 'refuted on this machine' for a parallelism claim measured without the
    parallel hardware it speaks of (never 'the essay is wrong'), else the status."""
    status = getattr(verdict, "status", "not judged")
    return f"{status} on this machine" if getattr(verdict, "local", False) and status in ("supported", "refuted") \
        else status


def is_check(claim: Any, verdict: Any = None) -> bool:
    """The claim (or its verdict) is an implementation check: it holds by construction, not evidence."""
    return bool(getattr(claim, "check", False) or getattr(verdict, "check", False))


def verdict_record(claim: Any, verdict: Any) -> dict[str, Any]:
    """A verdict as strict-JSON data with its claim's id, short name, quote and ``check`` flag."""
    return {"id": claim.id, "short": claim.short, "quote": claim.quote, **jsonable(verdict.to_dict()),
            "check": is_check(claim, verdict)}


def fmt_zone(zone: Any) -> str:
    """An equivalence zone (lo, hi) as '0.95-1.05' ('-0.05 to 0.05' when a bound is negative); '' for None."""
    if not zone:
        return ""
    lo, hi = (float(x) for x in zone)
    return f"{lo:.3g}-{hi:.3g}" if lo >= 0 else f"{lo:.3g} to {hi:.3g}"


def fmt_threshold(direction: str, threshold: float, zone: Any = None) -> str:
    """The threshold with the claim's side and its zone: '< 1 (zone 0.95-1.05)', '> 3'."""
    side = "<" if direction == "below" else ">"
    text = fmt_zone(zone)
    return f"{side} {threshold:g}" + (f" (zone {text})" if text else "")


def merge_provenance(provenances: Iterable[Mapping[str, Any]]) -> dict[str, list]:
    """The union of several verdicts' provenance: every key's values, sorted and without repeats."""
    merged: dict[str, set] = {}
    for p in provenances:
        for key, values in (p or {}).items():
            merged.setdefault(key, set()).update(values or [])
    return {k: sorted(v) for k, v in merged.items()}


def _whole(text: Any) -> str:
    """'2.0' -> '2' (thread counts arrive as floats from NaN-padded columns)."""
    try:
        x = float(text)
    except (TypeError, ValueError):
        return str(text)
    return str(int(x)) if x.is_integer() else str(text)


def fmt_commits(p: Mapping[str, Any]) -> str:
    """The commits the rows were measured at (10 characters each), flagged when the tree had uncommitted changes."""
    commits = [str(c)[:10] for c in p.get("commits") or []]
    dirty = any(str(d).lower() in _TRUE for d in p.get("dirty") or [])
    return ", ".join(commits) + (" (uncommitted changes)" if dirty and commits else "") if commits else "unknown"


def fmt_trials(p: Mapping[str, Any]) -> str:
    """'12 trials (ids 3 … 40)', '1 trial (id 7)', 'no trials'."""
    ids = list(p.get("trial_ids") or [])
    if not ids:
        return "no trials"
    if len(ids) == 1:
        return f"1 trial (id {ids[0]})"
    return f"{len(ids)} trials (ids {ids[0]} … {ids[-1]})"


def fmt_provenance(p: Mapping[str, Any], *, trials: bool = True) -> str:
    """One line: commits, torch, devices, dtypes, threads (and the trials with their first / last id); 'no trials'
    when the verdict rests on no stored row."""
    if not any(p.get(k) for k in ("trial_ids", "commits", "torch", "devices", "dtypes", "threads")):
        return "no trials"

    def listed(key: str) -> str:
        return ", ".join(_whole(v) for v in p.get(key) or []) or "unknown"

    parts = [f"commit {fmt_commits(p)}", f"torch {listed('torch')}", f"device {listed('devices')}",
             f"dtype {listed('dtypes')}", f"threads {listed('threads')}"]
    if trials:
        parts.append(fmt_trials(p))
    return "; ".join(parts)


def commits_caveat(p: Mapping[str, Any]) -> str | None:
    """A caveat when the rows come from more than one commit of seqarena (they may not be comparable)."""
    commits = p.get("commits") or []
    if len(commits) <= 1:
        return None
    return (f"these verdicts rest on rows measured by {len(commits)} different commits of seqarena "
            f"({fmt_commits(p)}): re-measure with one commit for verdicts from one implementation")
