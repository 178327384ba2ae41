"""Parsing helpers for option values: each rejects a bad value with one :class:`SpecError` line."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from seqarena.errors import SpecError


def finite(param: typer.CallbackParam, value: float | None) -> float | None:
    """Callback of every float option: float() accepts 'nan' and 'inf' (and reads 1e400 as inf), which no setting
    can use; they would be stored, ignored or blamed on the model later."""
    if value is not None and not math.isfinite(value):
        raise SpecError(f"{param.opts[0]} must be a finite number, got {value}")
    return value


def compile_setting(compile_: bool, backend: str) -> str | None:
    """``--compile`` and ``--compile-backend`` as the one setting the API takes: the backend's name, None for eager."""
    return backend if compile_ else None


def parse_count(text: str, what: str) -> int:
    """'200k' -> 200000, '1.5M' -> 1500000, '1e6' -> 1000000."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t)
    except ValueError:
        raise SpecError(f"{what} must be a number like 200000, 200k or 1.5M, got {text!r}") from None
    if not math.isfinite(value * scale):  # nan, inf, 1e400: float() accepts them, int() cannot take them
        raise SpecError(f"{what} must be a finite number, got {text!r}")
    if value <= 0 or value * scale != int(value * scale):
        raise SpecError(f"{what} must be a positive whole number, got {text!r}")
    return int(value * scale)


def parse_counts(text: str, what: str) -> list[int]:
    """Comma-separated counts: '200k,1M' -> [200000, 1000000]; at least one."""
    values = [parse_count(p, what) for p in text.split(",") if p.strip()]
    if not values:
        raise SpecError(f"{what} needs at least one value, got {text!r}")
    return values


def parse_budget(text: str) -> tuple[float | None, int | None]:
    """'60s' / '2m' / '1h' -> seconds; '500steps' / '500' -> steps."""
    t = text.strip().lower()
    units = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    for suffix in ("steps", "step"):
        if t.endswith(suffix):
            return None, parse_count(t.removesuffix(suffix), "--budget steps")
    for suffix, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if t.endswith(suffix):
            try:
                seconds = float(t.removesuffix(suffix)) * factor
            except ValueError:
                break
            if not 0 < seconds < math.inf:  # also rejects nan
                break
            return seconds, None
    if t.isdigit() and int(t) > 0:
        return None, int(t)
    raise SpecError(f"--budget must look like 60s, 2m or 500steps, got {text!r}")


def task_settings(pairs: list[str] | None, **named: object) -> dict[str, object]:
    """The named task options that were given, plus ``--set key=value`` pairs (numbers read as numbers)."""
    out = {k: v for k, v in named.items() if v is not None}
    if out.get("file") is not None and out.get("dataset") is not None:  # one would silently win
        raise SpecError(f"give --file or --dataset, not both (got {out['file']} and {out['dataset']!r})")
    if out.get("file") is not None and Path(str(out["file"])).exists() and not Path(str(out["file"])).is_file():
        raise SpecError(f"--file must be a regular file, got {out['file']}")  # a FIFO or device would hang
    for item in pairs or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise SpecError(f"--set takes key=value, got {item!r}")
        v: object = value.strip()
        for cast in (int, float):
            try:
                v = cast(value)
                break
            except ValueError:
                continue
        out[key.strip()] = v
    return out


def claim_ids(only: str | None) -> list[str] | None:
    """'10, 13' -> ['10', '13']; None selects every claim, '' none."""
    return [x.strip() for x in only.split(",") if x.strip()] if only is not None else None
