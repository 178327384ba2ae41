"""The user's data as a task the harness can train on: which task a file is (forecast, lm, classify), its settings,
its split, and every problem with it as one line before anything is measured.

- forecast: a CSV / TSV / Parquet series (``column``; the only numeric column when unnamed), look-back and horizon,
  the season from ``period`` or inferred from the autocorrelation; a rolling-origin backtest of ``folds`` origins.
- lm: a UTF-8 text file, character level, contiguous 90/5/5 blocks.
- classify: a table of labelled sequences or an NPZ (see :mod:`seqarena.tasks.sequences`), stratified 70/15/15.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any, Literal

from seqarena.errors import SpecError

Kind = Literal["forecast", "lm", "classify"]
TASK_OF: dict[str, str] = {"forecast": "forecast", "lm": "char_lm", "classify": "sequences"}
TEXT_SUFFIXES = (".txt", ".text", ".md", ".rst")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
#: Rolling origins of a forecast backtest (each run of a candidate tests on one of them: seeds and folds together).
FOLDS = 3
#: Windows per validation / test split of a forecast (evenly thinned beyond): an evaluation stays well under a second.
EVAL_WINDOWS = 2048
LM_EVAL_SEQUENCES = 64


@dataclasses.dataclass
class UserData:
    """One data file read as a task: ``task`` and ``params`` build it (:func:`seqarena.tasks.make_task`); ``runs``
    is how many runs each candidate gets (seeds, and for a series the backtest's folds, one per run)."""

    path: str
    kind: Kind
    task: str
    params: dict[str, Any]
    seq_len: int
    folds: int
    describe: dict[str, Any]  # the task's description (sizes, baseline, metric ...) of the first fold
    split: str  # the split in words, printed
    model_fields: dict[str, Any]  # what the task makes the models take and give (features in, a head out)
    baselines: list[dict[str, Any]]  # per fold (one for text and tables): the baselines' test metrics, best on val
    metric: str
    higher_is_better: bool

    def baseline(self, run: int) -> dict[str, Any]:
        """The baselines of the fold ``run`` tests on."""
        return self.baselines[run % len(self.baselines)]

    def task_params(self, run: int) -> dict[str, Any]:
        """The task's settings for a candidate's ``run``-th run (a series: fold ``run`` of the backtest)."""
        return {**self.params, "fold": run % self.folds} if self.kind == "forecast" else dict(self.params)


def infer_kind(path: str, label: str | None) -> Kind:
    """forecast, lm or classify from the file: NPZ and tables with a label are classify, text is lm, other tables
    are a series; one line when it cannot tell."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return "classify"
    if suffix in TEXT_SUFFIXES:
        return "lm"
    if suffix in TABLE_SUFFIXES:
        if label:
            return "classify"
        if _has_column(p, "label") or _has_column(p, "sequence_id"):
            return "classify"
        return "forecast"
    raise SpecError(f"cannot tell what task {p.name!r} is from its name: give --task forecast, lm or classify")


def _has_column(p: Path, name: str) -> bool:
    """Whether the table's header names ``name`` (the header only: a large file is not read here)."""
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return name in pq.read_schema(p).names
        with p.open(encoding="utf-8") as f:
            sep = "\t" if p.suffix.lower() == ".tsv" else ","
            return name in [c.strip().strip('"') for c in f.readline().strip().split(sep)]
    except (OSError, UnicodeDecodeError, ImportError, ValueError):
        return False  # the reader says what is wrong with the file


def _series_column(path: str, column: str | None) -> tuple[str, str | None]:
    """(a CSV path the forecast task reads, the column): a Parquet file is written out as CSV once; without a column
    named, the only numeric one is taken."""
    import pandas as pd

    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq", ".tsv") or column is None:
        from seqarena.tasks.sequences import read_table

        df = read_table(path)
        if column is None:
            numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
            if len(numeric) != 1:
                raise SpecError(f"data file {p.name!r}: name the series with --column (numeric columns: "
                                f"{', '.join(map(str, numeric)) or 'none'})")
            column = str(numeric[0])
        if p.suffix.lower() in (".parquet", ".pq", ".tsv"):
            out = Path(tempfile.gettempdir()) / f"seqarena-{p.stem}-{abs(hash(p.resolve()))}.csv"
            df.to_csv(out, index=False)
            return str(out), column
    return str(p), column


def _calendar(csv_path: str, column: str, train_part) -> tuple[int, str] | None:
    """The season a timestamp column (the first non-numeric column that parses as dates) suggests, or None."""
    import pandas as pd

    from seqarena.tasks.sequences import read_table
    from seqarena.tasks.timeseries import calendar_period

    df = read_table(csv_path)
    for c in df.columns:
        if c != column and not pd.api.types.is_numeric_dtype(df[c]):
            found = calendar_period(df[c].iloc[: len(train_part)], train_part)
            if found:
                return found
    return None


def read_data(path: str | Path, task: Kind | None = None, *, column: str | None = None, label: str | None = None,
              lookback: int | None = None, horizon: int | None = None, period: int | None = None,
              seq_len: int | None = None, folds: int = FOLDS) -> UserData:
    """The user's file as a task, built once here so that every problem is a one-line SpecError before any trial."""
    from seqarena.tasks import make_task

    path = str(path)
    if not Path(path).exists():
        raise SpecError(f"no data file {path!r}")
    if Path(path).is_dir():
        raise SpecError(f"{path!r} is a directory; give a data file")
    kind = task or infer_kind(path, label)
    if kind not in TASK_OF:
        raise SpecError(f"unknown task {kind!r}; use forecast, lm or classify")
    if kind == "forecast":
        csv_path, column = _series_column(path, column)
        from seqarena.tasks.timeseries import infer_period, read_csv_column

        series = read_csv_column(csv_path, column)
        season = "given"
        if period is None:  # the training part's season (no peeking): the autocorrelation's, or the calendar's
            train_part = series[: int(len(series) * 0.7)]
            period, season = infer_period(train_part), "inferred from the training part's autocorrelation"
            found = _calendar(csv_path, column, train_part)
            if found and (period == 1 or found[0] % period or found[0] == period):  # a shorter cycle inside it wins
                period, season = found
        lookback = lookback or seq_len or min(max(2 * period, 24), 336)
        horizon = horizon or 1
        params = {"file": csv_path, "column": column, "lookback": lookback, "horizon": horizon, "period": period,
                  "relative": True, "folds": folds, "n_val": EVAL_WINDOWS, "n_test": EVAL_WINDOWS}
        built = [make_task("forecast", **{**params, "fold": f}) for f in range(folds)]
        t = built[0]
        sizes = [b.describe()["sizes"] for b in built]
        split = (f"rolling origin, {folds} folds (chronological; the scaler fitted on each fold's training part "
                 f"only): train {sizes[0]['train']:,}-{sizes[-1]['train']:,} windows, validation "
                 f"{sizes[0]['val']:,}, test {sizes[0]['test']:,} per fold; look-back {lookback}, horizon {horizon}, "
                 f"season {period} ({season}); each window seen from its last value (NLinear)")
        n, baselines = lookback, [b.baseline("test") for b in built]
    elif kind == "lm":
        length = seq_len or 128
        params = {"file": path, "length": length, "n_val": LM_EVAL_SEQUENCES, "n_test": LM_EVAL_SEQUENCES}
        t = make_task("char_lm", **params)
        s = t.streams
        split = (f"contiguous blocks of the text: train {len(s['train']):,} characters (90%), validation "
                 f"{len(s['val']):,} (5%), test {len(s['test']):,} (5%); {length}-character windows, vocabulary "
                 f"{len(t.chars)} (from the training block)")
        n, folds, baselines = length, 1, [t.baseline("test")]
    else:
        params = {"file": path, "label": label or "label", **({"column": column} if column else {})}
        t = make_task("sequences", **params)
        d = t.describe()
        split = (f"stratified by class (seed {t.params.data_seed}): train {d['sizes']['train']:,}, validation "
                 f"{d['sizes']['val']:,}, test {d['sizes']['test']:,} sequences; {d['classes']} classes, "
                 f"lengths up to {d['max_len']} (median {d['median_len']:g}"
                 + (", left-padded and masked" if d["padded"] else "") + ")")
        n, folds, baselines = seq_len or t.T, 1, [d["baseline"]]
    return UserData(path, kind, TASK_OF[kind], params, n, folds, t.describe(), split, t.model_fields(), baselines,
                    t.metric, t.higher_is_better)
