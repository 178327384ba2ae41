"""Time-series forecasting on real series carried by installed packages (nothing is downloaded), a synthetic
multi-seasonal series of any length, or a column of the user's CSV.

Series available offline: ``sunspots`` (yearly sunspot numbers 1700-2008, 309 steps, statsmodels), ``co2`` (weekly
Mauna Loa CO2 1958-2001, 2,284 steps, statsmodels; gaps interpolated), ``seattle_temps`` (hourly temperatures 2010,
8,759 steps, vega_datasets), ``glucose`` (5-minute continuous glucose readings, 52k steps, bokeh-sampledata) and
``synthetic``. The usual long-horizon benchmarks (ETT, electricity, traffic, weather) are not carried by any package
and cannot be downloaded here, so they are not offered.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import math
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from seqarena.errors import SpecError
from seqarena.tasks.base import Split, Task, TaskParams, register_task

DATASETS = ("sunspots", "co2", "seattle_temps", "glucose", "synthetic")
#: A natural season of each series, for the seasonal-naive baseline.
PERIODS = {"sunspots": 11, "co2": 52, "seattle_temps": 24, "glucose": 288, "synthetic": 24}


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)  # no import: only where its files are
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(f"this series needs the PyPI package {package!r} (pip install {package})")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _column(text: str, column: str, strict: bool = False) -> np.ndarray:
    """The numbers of one CSV column, gaps interpolated. ``strict`` (a user's file): a value that is not a finite
    number is an error naming its line and column (a typo must not become a gap, and inf would reach the model);
    only empty cells count as gaps."""
    if not text.strip():
        raise SpecError("the file is empty")
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or column not in reader.fieldnames:
        raise SpecError(f"no column {column!r}; the file has: {', '.join(map(repr, reader.fieldnames or []))}")
    values = []
    for row in reader:
        cell = row[column]
        try:
            value = float(cell)
        except (TypeError, ValueError):
            value = math.nan
        if strict and (cell or "").strip() and not math.isfinite(value):
            raise SpecError(f"line {reader.line_num}, column {column!r}: {cell!r} is not a finite number")
        values.append(value)
    if not values:
        raise SpecError(f"no rows below the header (column {column!r})")
    a = np.asarray(values, dtype=np.float64)
    if np.isnan(a).all():
        raise SpecError(f"column {column!r} has no numbers")
    if np.isnan(a).any():  # gaps: linear interpolation (edges: nearest value)
        idx = np.arange(len(a))
        ok = ~np.isnan(a)
        a = np.interp(idx, idx[ok], a[ok])
    return a


def read_csv_column(path: str, column: str | None) -> np.ndarray:
    """One numeric column of a user's CSV; every problem (missing file, no column, bad value) is one
    :class:`SpecError` line naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise SpecError(f"cannot read CSV file {path!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SpecError(f"cannot parse CSV file {path!r}: not UTF-8 text (byte offset {e.start})") from None
    if not column:  # only once the file is known to exist: a missing file is the first thing to fix
        raise SpecError(f"task forecast: CSV file {path!r} needs --column NAME (or --set column=NAME)")
    try:
        return _column(text, column, strict=True)
    except csv.Error as e:
        raise SpecError(f"cannot parse CSV file {path!r}: {str(e).splitlines()[0]}") from None
    except SpecError as e:
        raise SpecError(f"CSV file {path!r}: {e}") from None


#: The bundled series that are CSV files of their package (``recommend --data`` takes a file).
DATASET_FILES = {"sunspots": ("statsmodels", "datasets", "sunspots", "sunspots.csv"),
                 "co2": ("statsmodels", "datasets", "co2", "co2.csv"),
                 "seattle_temps": ("vega_datasets", "_data", "seattle-temps.csv")}


def dataset_file(name: str) -> Path:
    """The CSV file of a bundled series (a one-line SpecError when its package is missing)."""
    if name not in DATASET_FILES:
        raise SpecError(f"no CSV file for {name!r}; choose from: {', '.join(DATASET_FILES)}")
    return _package_file(*DATASET_FILES[name])


@cache
def load_series(dataset: str, length: int = 20_000, seed: int = 0) -> np.ndarray:
    """The raw series (float64, time order)."""
    if dataset == "sunspots":
        return _column(dataset_file("sunspots").read_text(), "SUNACTIVITY")
    if dataset == "co2":
        return _column(dataset_file("co2").read_text(), "co2")
    if dataset == "seattle_temps":
        return _column(dataset_file("seattle_temps").read_text(), "temp")
    if dataset == "glucose":
        raw = gzip.decompress(_package_file("bokeh_sampledata", "_data", "CGM.csv.gz").read_bytes()).decode()
        return _column(raw, "glucose")
    if dataset == "synthetic":
        rng = np.random.default_rng(seed)
        t = np.arange(length)
        daily = np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(4 * np.pi * t / 24)
        weekly = 0.8 * np.sin(2 * np.pi * t / 168)
        ar = np.zeros(length)
        noise = rng.normal(0, 0.3, length)
        for i in range(1, length):
            ar[i] = 0.8 * ar[i - 1] + noise[i]
        return daily + weekly + 0.0005 * t + ar
    raise SpecError(f"unknown dataset {dataset!r}; choose from: {', '.join(DATASETS)} (or give file and column)")


class ForecastParams(TaskParams):
    dataset: Literal["sunspots", "co2", "seattle_temps", "glucose", "synthetic"] = "sunspots"
    file: str | None = Field(None, description="a CSV file instead of a bundled series")
    column: str | None = Field(None, description="the CSV column to forecast")
    lookback: int = Field(24, ge=1, description="past steps the model sees")
    horizon: int = Field(1, ge=1, description="future steps it predicts")
    length: int = Field(20_000, ge=100, description="synthetic series length")
    period: int | None = Field(None, ge=1, description="season for the seasonal-naive baseline (default per series)")
    folds: int = Field(1, ge=1, le=20, description="rolling origins: the test block moves forward fold by fold")
    fold: int = Field(0, ge=0, description="which origin (0: the earliest); the last one tests on the series' end")
    relative: bool = Field(False, description="each window's inputs and targets minus its last observed value "
                           "(NLinear): a level the training part never reached is no harder than one it did")
    n_train: int = Field(100_000, ge=1, description="at most this many training windows (evenly thinned)")
    n_val: int = 100_000
    n_test: int = 100_000


def _bounds(n: int, folds: int, fold: int) -> tuple[int, int]:
    """(end of training, end of validation) of one rolling origin. One fold: 70/10/20 of the series. Several: the
    last 20% is cut into ``folds`` test blocks; fold f tests on block f, validates on the 10% of the series just
    before it and trains on everything earlier (the series after block f is not used)."""
    if folds == 1:
        return int(n * 0.7), int(n * 0.8)
    block, val = int(n * 0.2) // folds, int(n * 0.1)
    end = n - (folds - 1 - fold) * block
    return end - block - val, end - block


def autocorrelation(series: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation at lags 0..max_lag of the series less its quadratic trend (a trend would make every lag look
    seasonal); zeros for a constant series."""
    x = np.asarray(series, dtype=np.float64)
    t = np.arange(len(x))
    x = x - np.polyval(np.polyfit(t, x, 2), t) if len(x) > 3 else x
    if x.std() == 0:
        return np.zeros(max_lag + 1)
    x = (x - x.mean()) / x.std()
    f = np.fft.rfft(x, 2 * len(x))
    return np.fft.irfft(f * np.conj(f))[: max_lag + 1] / len(x)


def infer_period(series: np.ndarray, max_lag: int | None = None) -> int:
    """The season of a series: the shortest lag (2 or more) whose autocorrelation peak is above 0.3 and within 90% of
    the highest peak in the first third of the series (1: no season). A peak is a local maximum, so the smooth decay
    at small lags is not one."""
    max_lag = min(max_lag or len(series) // 3, len(series) // 3, 2000)
    if max_lag < 3:
        return 1
    acf = autocorrelation(series, max_lag)
    peaks = [k for k in range(2, max_lag) if acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1] and acf[k] > 0.3]
    if not peaks:
        return 1
    top = max(acf[k] for k in peaks)
    return min(k for k in peaks if acf[k] >= 0.9 * top)  # the season itself, not a multiple of it


#: Calendar seasons a timestamp column suggests, tried in this order.
CALENDAR = (("daily", 86_400.0), ("weekly", 7 * 86_400.0), ("yearly", 365.25 * 86_400.0))


def calendar_period(stamps, series: np.ndarray) -> tuple[int, str] | None:
    """(period, words) from a timestamp column: the calendar season (day, week, year) in steps of the column's median
    spacing that the series' autocorrelation supports best (above 0.3); None when the column is not regular time or
    no calendar season shows in the series."""
    import pandas as pd

    try:
        t = pd.to_datetime(pd.Series(stamps), errors="raise")
    except (ValueError, TypeError, OverflowError):
        return None
    step = t.diff().dropna().median().total_seconds() if len(t) > 2 else 0.0
    if not step or step <= 0:
        return None
    seasons = []
    for name, span in CALENDAR:
        p = round(span / step)
        if 2 <= p <= len(series) // 3 and abs(p * step - span) <= 0.05 * span:
            seasons.append((name, p))
    if not seasons:
        return None
    acf = autocorrelation(series, max(p for _, p in seasons))
    name, p = max(seasons, key=lambda s: acf[s[1]])
    every = next(f"{step / unit:g} {word}" for unit, word in ((86_400, "days"), (3_600, "h"), (60, "min"), (1, "s"))
                 if step >= unit or unit == 1)
    return (p, f"{name}: {p} steps of {every}, from the timestamps") if acf[p] > 0.3 else None


@register_task
class Forecast(Task):
    """Forecast the next ``horizon`` values from the last ``lookback`` values of one series.

    Chronological split: the first 70% of the series trains, the next 10% validates, the last 20% tests (a window's
    targets lie inside its split; its look-back may reach into the preceding one, which is observed history). With
    ``folds`` > 1 the split is a rolling origin (see :func:`_bounds`). The series is standardised with the training
    part's mean and standard deviation (never the later parts'); MSE and MAE are on that scale, RMSE and MAE also in
    the series' own units. With ``relative`` each window is seen from its last observed value (inputs and targets minus
    it, NLinear, Zeng et al. 2023): a trending series' test level, beyond anything the training part reached, is then
    no harder than the training levels; the unit is then the training part's root-mean-square one-step change. The
    baselines forecast from the absolute look-back and are scored in the same frame, so MSE stays comparable.
    Baselines: last value, seasonal naive (the value one period earlier) and a linear map from the look-back window
    to the horizon fitted by least squares on the training windows (DLinear-style, without decomposition).

    Example (lookback 3, horizon 1): series [1 2 3 4 5] -> windows x = [1 2 3] -> y = [4]; x = [2 3 4] -> y = [5].
    """

    name = "forecast"
    Params = ForecastParams
    target = "regression"
    metric = "mse"
    higher_is_better = False

    def make_splits(self) -> dict[str, Split]:
        p: ForecastParams = self.params
        series = read_csv_column(p.file, p.column) if p.file else load_series(p.dataset, p.length, p.data_seed)
        if p.fold >= p.folds:
            raise SpecError(f"task forecast: fold {p.fold} of {p.folds} (folds count from 0)")
        a, b = _bounds(len(series), p.folds, p.fold)
        if p.folds > 1:  # the series after this fold's test block is not used
            series = series[: b + int(len(series) * 0.2) // p.folds]
        n = len(series)
        L, H = p.lookback, p.horizon
        if a - L - H < 10 or (b - a) < H or (n - b) < H:
            raise SpecError(f"task forecast: the series ({n} steps) is too short for lookback {L} + horizon {H}")
        self.mean, self.std = float(series[:a].mean()), float(series[:a].std() or 1.0)
        if p.relative:  # the frame's unit: the training part's root-mean-square step, so a fresh model's loss is ~1
            self.std = float(np.sqrt((np.diff(series[:a]) ** 2).mean()) or 1.0)
        z = torch.tensor((series - self.mean) / self.std, dtype=torch.float32)
        self.series = z

        self.starts: dict[str, torch.Tensor] = {}
        self.offsets: dict[str, torch.Tensor] = {}  # what each window's frame subtracted (zeros unless relative)

        def windows(name: str, lo: int, hi: int, cap: int) -> Split:
            # targets z[t : t + H] within [lo, hi); look-back z[t - L : t]
            starts = torch.arange(max(lo, L), hi - H + 1)
            if len(starts) > cap:
                starts = starts[torch.linspace(0, len(starts) - 1, cap).round().long()]
            self.starts[name] = starts
            x = z[starts[:, None] + torch.arange(-L, 0)][..., None]  # (N, L, 1)
            y = z[starts[:, None] + torch.arange(H)]  # (N, H)
            offset = x[:, -1] if p.relative else torch.zeros(len(x), 1)  # (N, 1)
            self.offsets[name] = offset
            return Split(x - offset[:, :, None], y - offset)

        return {"train": windows("train", 0, a, p.n_train), "val": windows("val", a, b, p.n_val),
                "test": windows("test", b, n, p.n_test)}

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": None, "input_dim": 1, "head": "regression", "output_dim": self.params.horizon}

    def summarise(self, total: float, count: int, correct: int, abs_err: float) -> dict[str, float]:
        """MSE and MAE on the standardised scale, and RMSE / MAE in the series' own units."""
        out = super().summarise(total, count, correct, abs_err)
        return {**out, "rmse_units": math.sqrt(out["mse"]) * self.std, "mae_units": out["mae"] * self.std}

    def baseline_predictions(self, split: str) -> dict[str, torch.Tensor]:
        """Each baseline's forecasts (N, H) for a split, in the split's frame (see ``relative``); each forecasts from
        the absolute look-back, so a baseline is the same forecast whatever the frame."""
        p: ForecastParams = self.params
        offset = self.offsets[split]  # (N, 1)
        x = self.splits[split].x[..., 0] + offset  # (N, L) absolute
        H = p.horizon
        period = p.period or (1 if p.file else PERIODS[p.dataset])
        preds = {"last value": x[:, -1:].expand(-1, H)}
        # seasonal naive: the value whole periods before each target that is already observed at forecast time,
        # read from the series itself, so a period longer than the look-back works too
        h = torch.arange(H)
        back = period * ((h // period) + 1)  # smallest multiple of the period reaching into the past
        t = self.starts[split][:, None] + h  # (N, H) target times
        if int(self.starts[split].min()) - period >= 0:
            preds[f"seasonal naive (period {period})"] = self.series[t - back]
        train, train_offset = self.splits["train"], self.offsets["train"]
        X = torch.cat([train.x[..., 0] + train_offset, torch.ones(len(train), 1)], dim=1).double()
        ridge = 1e-3 * torch.eye(X.shape[1], dtype=torch.float64)
        W = torch.linalg.solve(X.T @ X + ridge, X.T @ (train.y + train_offset).double())  # (L + 1, H)
        preds["linear on the look-back"] = (torch.cat([x, torch.ones(len(x), 1)], 1).double() @ W).float()
        return {name: pred - offset for name, pred in preds.items()}

    def _scores(self, split: str) -> dict[str, dict[str, float]]:
        y = self.splits[split].y
        out = {}
        for name, pred in self.baseline_predictions(split).items():
            mse, mae = float(((pred - y) ** 2).mean()), float((pred - y).abs().mean())
            out[name] = {"mse": mse, "mae": mae, "rmse_units": math.sqrt(mse) * self.std, "mae_units": mae * self.std}
        return out

    def baseline(self, split: str = "test") -> dict[str, Any]:
        """Every baseline's MSE / MAE on ``split``; the headline is the one best on validation."""
        out = self._scores(split)
        val = self._scores("val")
        best = min(val, key=lambda k: val[k]["mse"])
        return {"name": best, **out[best], "all": out}
