"""One vocabulary for what every table, figure and recommendation writes: contender labels and numbers.

Contender labels: a model with its spec options, ``transformer:attn_impl=math,positions=alibi`` (options sorted by
field name). Stored rows carry the options flattened as ``spec.options.<field>`` columns; :func:`row_label` reads
them back. ``TrialSpec.label`` (bench/) writes the same ``model:options`` part inside a longer trial description.

Numbers: each formatter says in its docstring what it writes; "—" (or "?" for the recommender's units, inside
intervals) stands for a missing value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pandas as pd

#: Prefix of the flattened spec-option columns in a DataFrame of stored trials.
OPTION_PREFIX = "spec.options."

MISSING = "—"
MB = 2**20


# -- values and labels --------------------------------------------------------------------------------------------

def present(v: Any) -> bool:
    """A cell holds a value (not None / NaN)."""
    if v is None:
        return False
    return not (isinstance(v, float) and math.isnan(v))


def whole(v: Any) -> Any:
    """128.0 -> 128; other values unchanged. Options arrive as floats where other rows lack them (NaN-padded
    columns), and parsed model strings may hold 2.0 for 2: both are the same setting."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def plain(v: Any) -> str:
    """A setting's value as text, whole floats without their '.0' (128.0 -> '128')."""
    return str(whole(v))


def model_label(model: str, options: Mapping[str, Any], *, whole_numbers: bool = True) -> str:
    """``model`` with its spec ``options``: ``transformer:attn_impl=math,positions=alibi`` (sorted by field name), or
    just ``model`` without options. ``whole_numbers=False`` writes values as given (128.0 stays '128.0')."""
    fields = ",".join(f"{k}={whole(v) if whole_numbers else v}" for k, v in sorted(options.items()))
    return f"{model}:{fields}" if fields else str(model)


def row_options(row: pd.Series) -> dict[str, Any]:
    """The spec options of a stored row, from its ``spec.options.*`` columns (missing ones left out)."""
    return {k.removeprefix(OPTION_PREFIX): row[k] for k in row.index if k.startswith(OPTION_PREFIX) and present(row[k])}


def row_label(row: pd.Series, *, whole_numbers: bool = True) -> str:
    """:func:`model_label` of a stored row (``model`` plus its ``spec.options.*`` columns)."""
    return model_label(row["model"], row_options(row), whole_numbers=whole_numbers)


# -- numbers in tables --------------------------------------------------------------------------------------------

def fmt_number(v: Any, spec: str = ".4g") -> str:
    """A number as text ('—' when missing or not finite); tuples and lists element-wise; other values as str."""
    if isinstance(v, bool) or v is None:
        return MISSING if v is None else str(v)
    if isinstance(v, numbers.Real):
        return f"{float(v):{spec}}" if math.isfinite(v) else MISSING
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(fmt_number(x, spec) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt_number(x, spec)}" for k, x in v.items()) + "}"
    return str(v)


def fmt_value(v: float) -> str:
    """A measured value: 4 significant digits, thousands separated from 10,000 on (tokens/s)."""
    if isinstance(v, numbers.Real) and math.isfinite(v) and abs(v) >= 1e4:
        return f"{v:,.0f}"
    return fmt_number(v)


def fmt_mb_cell(nbytes: Any) -> str:
    """Bytes as a MB table cell without the unit, one decimal: 3_250_000 -> '3.1' ('—' when missing)."""
    return MISSING if not present(nbytes) else f"{nbytes / MB:,.1f}"


def fmt_count(v: Any) -> str:
    """A count, 3 significant digits with a suffix: 200000 -> '200k', 1000000 -> '1M', 1500000 -> '1.5M'."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return str(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def fmt_compact(v: float) -> str:
    """An axis tick: 16 -> '16', 1024 -> '1,024', 60000 -> '60k', 3e6 -> '3M', 0.003 -> '0.003'."""
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e4:
        return f"{v / 1e3:g}k"
    if v >= 1:
        return f"{v:,.0f}"
    return f"{v:g}"


def fmt_mean_ci(mean: float | None, ci: Sequence[float] | None, spec: str = ".4g") -> str:
    """A mean over runs with its interval: '0.9437 [0.9322, 0.9552]'; the mean alone without one; '—' for none."""
    if mean is None or mean != mean:
        return MISSING
    return f"{mean:{spec}} [{ci[0]:{spec}}, {ci[1]:{spec}}]" if ci else f"{mean:{spec}}"


def fmt_gain(gain: float | None, ci: Sequence[float] | None = None) -> str:
    """A relative gain with its interval: '+39.7% [+27.4%, +52.0%]'; '—' for none."""
    if gain is None or gain != gain:
        return MISSING
    return f"{gain:+.1%}" + (f" [{ci[0]:+.1%}, {ci[1]:+.1%}]" if ci else "")


def fmt_range(low: float, high: float) -> str:
    """A span of lengths: '1,024–4,096'."""
    return f"{int(low):,}–{int(high):,}"


def fmt_ratio(ratio: float, times: str = "×") -> str:
    """A speed-up or advantage: '2.90×' (``times="x"`` in plain-text lines: '2.90x')."""
    return f"{ratio:.2f}{times}"


# -- the recommender's units and intervals ------------------------------------------------------------------------

def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds, 3 significant digits below a second: '1.62 ms', '1,234 ms' ('?' when unknown)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    ms = seconds * 1e3
    return f"{ms:.3g} ms" if ms < 1000 else f"{ms:,.0f} ms"


def fmt_mb(nbytes: float | None) -> str:
    """Bytes as MB: '512 MB' from 10 MB on, 2 significant digits below: '3.1 MB' ('?' when unknown)."""
    if nbytes is None or not math.isfinite(nbytes):
        return "?"
    return f"{nbytes / MB:,.0f} MB" if nbytes >= 10 * MB else f"{nbytes / MB:.2g} MB"


class Bounded(Protocol):
    """A predicted value with an interval (e.g. :class:`seqarena.recommender.Estimate`)."""

    value: float | None  # None: the data bound it on one side only
    low: float
    high: float

    @property
    def known(self) -> bool: ...


def fmt_estimate(est: Bounded, unit: Callable[[float | None], str]) -> str:
    """An estimate with its interval in ``unit`` (:func:`fmt_ms`, :func:`fmt_mb`): '1.62 ms [1.55, 1.70]',
    '> 512 MB' (bounded on one side), '—' (unknown)."""
    if not est.known:
        return MISSING
    if est.value is None:
        if math.isinf(est.high):
            return f"> {unit(est.low)}"
        return f"< {unit(est.high)}"
    if est.low == est.high == est.value:  # a single measured number
        return unit(est.value)
    # bounds 100x away from the value say "no useful bound" (a slope interval from a few noisy lengths)
    low = unit(est.low).split()[0] if est.low > est.value / 100 else "0"
    high = unit(est.high).split()[0] if est.high < est.value * 100 else "unbounded"
    return f"{unit(est.value)} [{low}, {high}]"
