"""Sequence classification on the user's own labelled sequences: a table (CSV or Parquet) or an NPZ.

Three layouts, read by :func:`read_sequences`:

- **wide**: one sequence per row, ``column`` holding space-separated tokens or numbers, ``label`` the class;
- **long**: one time step per row, ``sequence_id``, ``t`` and one or more numeric value columns, ``label`` the class
  (the same in every row of a sequence);
- **NPZ**: ``X`` (N, T) or (N, T, F) and ``y`` (N,), optionally ``lengths`` (N,) for padded rows.

Sequences of different lengths are **left-padded** to the longest, so a causal model's last position is always a real
step, and **masked**: token inputs pad with a reserved id (0), numeric inputs carry an extra 0/1 mask channel. Nothing
is truncated. The split is stratified by class with the data seed (70/15/15); the vocabulary and the numeric scaler
come from the training split alone.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from seqarena.errors import SpecError
from seqarena.tasks.base import Split, Task, TaskParams, register_task

#: Longest sequence accepted: every model here trains on (N, T) at once, and a longer one is almost always a layout
#: mistake (a whole series in one row).
MAX_LEN = 8192
PAD = 0  # the reserved token id of padding
UNK = 1  # a token never seen in the training split


def _fail(path: str, what: str) -> SpecError:
    return SpecError(f"data file {Path(path).name!r}: {what}")


def read_table(path: str):
    """The file as a pandas DataFrame (CSV or Parquet); every read error one line."""
    import pandas as pd

    p = Path(path)
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            try:
                return pd.read_parquet(p)
            except ImportError:
                raise _fail(path, "reading Parquet needs pyarrow (pip install pyarrow)") from None
        return pd.read_csv(p, sep=None if p.suffix.lower() == ".tsv" else ",", engine="python" if
                           p.suffix.lower() == ".tsv" else "c")
    except FileNotFoundError:
        raise SpecError(f"no data file {path!r}") from None
    except pd.errors.EmptyDataError:
        raise _fail(path, "the file is empty") from None
    except pd.errors.ParserError as e:  # ragged rows: "Expected 3 fields in line 5, saw 4"
        raise _fail(path, f"ragged rows: {str(e).strip().splitlines()[-1]}") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise _fail(path, f"cannot read it ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def _need(df, path: str, *columns: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise _fail(path, f"no column {missing[0]!r}; it has: {', '.join(map(repr, map(str, df.columns)))}")


def _finite(values: np.ndarray, path: str, where: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise _fail(path, f"{where} holds NaN or infinity ({int(bad.sum())} values); fill or drop them first")


def read_sequences(path: str, column: str | None, label: str) -> tuple[list[np.ndarray], list[Any], bool]:
    """(sequences, labels, tokens?): each sequence (T,) of strings for tokens, or (T, F) float64 for numbers."""
    if Path(path).suffix.lower() == ".npz":
        return _read_npz(path)
    df = read_table(path)
    if df.empty:
        raise _fail(path, "no rows below the header")
    _need(df, path, label)
    if df[label].isna().any():
        raise _fail(path, f"column {label!r} has {int(df[label].isna().sum())} empty labels")
    if column is None and "sequence_id" in df.columns:
        return _read_long(df, path, label)
    if column is None:
        raise _fail(path, "name the sequence column (--column NAME), or give a long table with columns "
                          "sequence_id, t, value...")
    _need(df, path, column)
    cells = df[column]
    if cells.isna().any():
        raise _fail(path, f"column {column!r} has {int(cells.isna().sum())} empty sequences")
    parts = [str(c).split() for c in cells]
    try:
        numbers = [np.asarray(p, dtype=np.float64)[:, None] for p in parts]
    except ValueError:
        return [np.asarray(p) for p in parts], list(df[label]), True
    for i, s in enumerate(numbers):
        _finite(s, path, f"row {i + 1} of column {column!r}")
    return numbers, list(df[label]), False


def _read_long(df, path: str, label: str) -> tuple[list[np.ndarray], list[Any], bool]:
    _need(df, path, "t")
    values = [c for c in df.columns if c not in ("sequence_id", "t", label)]
    if not values:
        raise _fail(path, "a long table needs value columns beside sequence_id, t and the label")
    try:
        x = df[values].to_numpy(dtype=np.float64)
    except ValueError:
        raise _fail(path, f"value columns {', '.join(values)} must be numbers") from None
    _finite(x, path, f"value columns {', '.join(values)}")
    seqs, labels = [], []
    for sid, group in df.assign(_row=range(len(df))).sort_values(["sequence_id", "t"]).groupby("sequence_id",
                                                                                              sort=True):
        if group[label].nunique() != 1:
            raise _fail(path, f"sequence {sid!r} has more than one label")
        seqs.append(x[group["_row"].to_numpy()])
        labels.append(group[label].iloc[0])
    return seqs, labels, False


def _read_npz(path: str) -> tuple[list[np.ndarray], list[Any], bool]:
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise SpecError(f"no data file {path!r}") from None
    except (OSError, ValueError) as e:
        raise _fail(path, f"not a readable NPZ ({str(e).splitlines()[0]})") from None
    if "X" not in data or "y" not in data:
        raise _fail(path, f"an NPZ needs arrays X and y; it has: {', '.join(data.files) or 'none'}")
    X, y = data["X"], data["y"]
    if X.ndim not in (2, 3) or y.ndim != 1 or len(X) != len(y):
        raise _fail(path, f"X must be (N, T) or (N, T, F) and y (N,): got X {X.shape}, y {y.shape}")
    lengths = data["lengths"] if "lengths" in data else np.full(len(X), X.shape[1])
    if lengths.shape != (len(X),) or (lengths < 1).any() or (lengths > X.shape[1]).any():
        raise _fail(path, f"lengths must be (N,) with values in 1..{X.shape[1]}")
    tokens = np.issubdtype(X.dtype, np.integer)
    if not tokens:
        _finite(np.concatenate([X[i, : lengths[i]].reshape(-1) for i in range(len(X))]) if len(X) else X, path, "X")
    seqs = [X[i, : lengths[i]] for i in range(len(X))]
    if tokens:
        return [s.astype(str) for s in seqs], list(y), True
    return [s.reshape(len(s), -1).astype(np.float64) for s in seqs], list(y), False


def stratified(labels: np.ndarray, seed: int, fractions: tuple[float, float] = (0.7, 0.15)
               ) -> dict[str, np.ndarray]:
    """Indices of train / val / test, each class split 70/15/15 after a seeded shuffle (every class with 3+
    examples reaches every split)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = max(1, round(len(idx) * fractions[1])) if len(idx) >= 3 else 0
        n_test = n_val
        n_train = len(idx) - n_val - n_test
        out["train"] += idx[:n_train].tolist()
        out["val"] += idx[n_train : n_train + n_val].tolist()
        out["test"] += idx[n_train + n_val :].tolist()
    return {k: np.sort(np.asarray(v, dtype=np.int64)) for k, v in out.items()}


class SequencesParams(TaskParams):
    file: str = Field(..., description="CSV, TSV, Parquet or NPZ of labelled sequences")
    column: str | None = Field(None, description="the column of space-separated tokens or numbers (wide layout)")
    label: str = Field("label", description="the label column")


@register_task
class Sequences(Task):
    """Classify each of the user's sequences (see the module). Metric: accuracy. Baselines: the majority class, and a
    logistic regression on a bag of tokens (token inputs) or per-feature summary statistics (mean, s.d., min, max,
    last value, length), its L2 strength chosen on validation."""

    name = "sequences"
    Params = SequencesParams
    target = "class"
    metric = "accuracy"
    higher_is_better = True

    def make_splits(self) -> dict[str, Split]:
        p: SequencesParams = self.params
        seqs, raw_labels, self.tokens = read_sequences(p.file, p.column, p.label)
        if len(seqs) < 10:
            raise _fail(p.file, f"{len(seqs)} sequences; at least 10 are needed to train, validate and test")
        self.classes = sorted({str(v) for v in raw_labels})
        if len(self.classes) < 2:
            raise _fail(p.file, f"a single class ({self.classes[0]!r}): nothing to classify")
        index = {c: i for i, c in enumerate(self.classes)}
        y = np.asarray([index[str(v)] for v in raw_labels], dtype=np.int64)
        lengths = np.asarray([len(s) for s in seqs])
        if (lengths == 0).any():
            raise _fail(p.file, f"sequence {int(np.flatnonzero(lengths == 0)[0]) + 1} is empty")
        if lengths.max() > MAX_LEN:
            raise _fail(p.file, f"a sequence of {lengths.max():,} steps; at most {MAX_LEN:,} (one row per sequence?)")
        self.lengths, self.T = lengths, int(lengths.max())
        self.index = stratified(y, p.data_seed)
        train = self.index["train"]
        if self.tokens:
            vocab = sorted({t for i in train for t in seqs[i]})
            self.vocab = {t: i + 2 for i, t in enumerate(vocab)}  # 0 padding, 1 unseen in training
            x = torch.zeros(len(seqs), self.T, dtype=torch.long)
            for i, s in enumerate(seqs):
                x[i, self.T - len(s):] = torch.tensor([self.vocab.get(t, UNK) for t in s], dtype=torch.long)
        else:
            widths = {s.shape[1] for s in seqs}
            if len(widths) != 1:
                raise _fail(p.file, f"sequences have different numbers of features: {sorted(widths)}")
            steps = np.concatenate([seqs[i] for i in train])  # the scaler sees the training split only
            self.mean, self.std = steps.mean(0), np.where(steps.std(0) > 0, steps.std(0), 1.0)
            F_ = steps.shape[1]
            x = torch.zeros(len(seqs), self.T, F_ + 1)  # (N, T, F + mask)
            for i, s in enumerate(seqs):
                x[i, self.T - len(s):, :F_] = torch.tensor((s - self.mean) / self.std, dtype=torch.float32)
                x[i, self.T - len(s):, F_] = 1.0
        self.x_all, self.y_all = x, torch.from_numpy(y)
        return {k: Split(x[idx], self.y_all[idx]) for k, idx in self.index.items()}

    def model_fields(self) -> dict[str, Any]:
        out = {"head": "classify", "output_dim": len(self.classes)}
        if self.tokens:
            return {**out, "vocab_size": len(self.vocab) + 2}
        return {**out, "vocab_size": None, "input_dim": int(self.x_all.shape[-1])}

    def features(self, split: str) -> torch.Tensor:
        """The baseline's features per sequence: token counts normalised by length, or summary statistics."""
        x = self.splits[split].x
        if self.tokens:
            counts = F.one_hot(x, len(self.vocab) + 2).sum(1).float()[:, 1:]  # (N, V - 1): padding dropped
            return counts / counts.sum(1, keepdim=True).clamp_min(1)
        mask = x[..., -1:]  # (N, T, 1)
        v = x[..., :-1]
        n = mask.sum(1).clamp_min(1)  # (N, 1)
        mean = (v * mask).sum(1) / n
        sd = (((v - mean[:, None]) ** 2 * mask).sum(1) / n).sqrt()
        big = torch.finfo(v.dtype).max
        lo = torch.where(mask.bool(), v, big).amin(1)
        hi = torch.where(mask.bool(), v, -big).amax(1)
        return torch.cat([mean, sd, lo, hi, v[:, -1], n / self.T], dim=1)

    def baseline(self, split: str = "test") -> dict[str, Any]:
        """Majority class and the logistic regression (chosen on validation), each with its accuracy on ``split``."""
        ytr = self.splits["train"].y
        majority = int(torch.bincount(ytr, minlength=len(self.classes)).argmax())
        scores = {"majority class": {"accuracy": float((self.splits[split].y == majority).float().mean())}}
        name = "bag-of-tokens logistic regression" if self.tokens else "summary-statistics logistic regression"
        fit = _logistic(self.features("train"), ytr, self.features("val"), self.splits["val"].y, len(self.classes))
        pred = fit(self.features(split)).argmax(1)
        scores[name] = {"accuracy": float((pred == self.splits[split].y).float().mean())}
        val = {"majority class": float((self.splits["val"].y == majority).float().mean()),
               name: float((fit(self.features("val")).argmax(1) == self.splits["val"].y).float().mean())}
        best = max(val, key=lambda k: (val[k], k == "majority class"))  # a tie goes to the simpler
        return {"name": best, **scores[best], "all": scores}

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(classes=len(self.classes), tokens=self.tokens, max_len=self.T,
                   median_len=float(np.median(self.lengths)), padded=bool((self.lengths < self.T).any()))
        return out


def _logistic(x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor, classes: int):
    """A multinomial logistic regression (standardised features, L-BFGS), its L2 strength picked on validation."""
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-6)
    best, best_acc = None, -math.inf
    for l2 in (1e-4, 1e-2, 1.0):
        torch.manual_seed(0)
        lin = torch.nn.Linear(x.shape[1], classes).double()
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=200, line_search_fn="strong_wolfe")
        z = ((x - mu) / sd).double()

        def closure(lin=lin, opt=opt, z=z, l2=l2):
            opt.zero_grad()
            loss = F.cross_entropy(lin(z), y) + l2 * lin.weight.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        acc = float((lin(((xv - mu) / sd).double()).argmax(1) == yv).double().mean())
        if acc > best_acc:
            best, best_acc = lin, acc
    return lambda f: best(((f - mu) / sd).double()).detach()
