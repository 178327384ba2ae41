"""recommend --data's input side: every format read as the right task, every malformed input one line naming the
problem, splits without leakage (the scaler and vocabulary from the training part only)."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import torch

from seqarena.errors import SpecError
from seqarena.recommender.user_data import read_data
from seqarena.tasks import make_task
from seqarena.tasks.timeseries import _bounds, infer_period
from tests.conftest import run_cli


def _series(path, n=600, scale_after=None, period=12, seed=0):
    t = np.arange(n)
    y = 5 + np.sin(2 * np.pi * t / period) + np.random.default_rng(seed).normal(0, 0.1, n)
    if scale_after is not None:
        y[scale_after:] *= 100.0
    pd.DataFrame({"time": pd.date_range("2024-01-01", periods=n, freq="h"), "load": y}).to_csv(path, index=False)
    return y


def _wide(path, tokens=True, n=60, classes=2):
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seq", "label"])
        for i in range(n):
            c = i % classes
            length = int(rng.integers(3, 9))
            cells = (rng.choice(["a", "b"] if c else ["c", "d"], length) if tokens
                     else np.round(rng.normal(c, 1, length), 3).astype(str))
            w.writerow([" ".join(cells), f"class{c}"])


def test_each_format_is_read_as_its_task(tmp_path):
    _series(tmp_path / "s.csv")
    (tmp_path / "t.txt").write_text("the quick brown fox jumps over the lazy dog. " * 60)
    _wide(tmp_path / "tok.csv")
    _wide(tmp_path / "num.csv", tokens=False)
    rows = [(i, t, float(i % 2) + t / 10, i % 2) for i in range(30) for t in range(2 + i % 4)]
    pd.DataFrame(rows, columns=["sequence_id", "t", "v", "label"]).to_csv(tmp_path / "long.csv", index=False)
    pd.DataFrame(rows, columns=["sequence_id", "t", "v", "label"]).to_parquet(tmp_path / "long.parquet")
    X = np.random.default_rng(0).normal(size=(40, 6, 2)).astype(np.float32)
    np.savez(tmp_path / "x.npz", X=X, y=np.arange(40) % 2, lengths=np.full(40, 6) - np.arange(40) % 3)

    s = read_data(tmp_path / "s.csv")  # the only numeric column is the series
    assert (s.kind, s.task, s.params["column"], s.params["period"]) == ("forecast", "forecast", "load", 12)
    assert s.model_fields == {"vocab_size": None, "input_dim": 1, "head": "regression", "output_dim": 1}
    assert s.seq_len == s.params["lookback"] == 24 and s.folds == 3 and len(s.baselines) == 3
    assert "rolling origin, 3 folds" in s.split and "season 12 (inferred" in s.split
    lm = read_data(tmp_path / "t.txt")
    assert (lm.kind, lm.task, lm.model_fields["head"], lm.metric) == ("lm", "char_lm", "lm", "bits_per_char")
    tok = read_data(tmp_path / "tok.csv", column="seq")
    assert tok.kind == "classify" and tok.model_fields["vocab_size"] == 4 + 2  # a-d, padding, unseen
    num = read_data(tmp_path / "num.csv", column="seq")
    assert num.model_fields["input_dim"] == 2 and num.model_fields["vocab_size"] is None  # value + mask channel
    for name in ("long.csv", "long.parquet"):
        lg = read_data(tmp_path / name)
        assert lg.kind == "classify" and lg.describe["sizes"]["train"] + lg.describe["sizes"]["val"] + \
            lg.describe["sizes"]["test"] == 30
        assert lg.describe["max_len"] == 5 and lg.describe["padded"]
    npz = read_data(tmp_path / "x.npz")
    assert npz.model_fields["input_dim"] == 3 and npz.describe["classes"] == 2 and npz.describe["padded"]


def test_variable_lengths_are_left_padded_and_masked_not_truncated(tmp_path):
    _wide(tmp_path / "num.csv", tokens=False)
    task = make_task("sequences", file=str(tmp_path / "num.csv"), column="seq")
    x = task.x_all  # (N, T, 1 + mask)
    for i, length in enumerate(task.lengths):
        mask = x[i, :, -1]
        assert mask.sum() == length and bool(mask[-length:].all())  # every real step kept, at the end
        assert not x[i, : task.T - length].any()  # padding: zeros, mask 0


BAD = [
    ("empty.csv", "", {}, "empty"),
    ("nan.csv", "seq,label\n1 2 nan,a\n3 4,b\n", {"column": "seq"}, "NaN or infinity"),
    ("inf.csv", "seq,label\n1 2 inf,a\n3 4,b\n", {"column": "seq"}, "NaN or infinity"),
    ("ragged.csv", "seq,label\n1 2,a\n3 4,b,extra\n", {"column": "seq"}, "ragged rows"),
    ("one.csv", "seq,label\n" + "1 2,a\n" * 20, {"column": "seq"}, "a single class"),
    ("nocol.csv", "seq,label\n1 2,a\n", {"column": "values"}, "no column 'values'"),
    ("nolabel.csv", "seq,y\n1 2,a\n", {"column": "seq", "label": "target"}, "no column 'target'"),
    ("short.csv", "v\n" + "1\n" * 40, {"task": "forecast", "lookback": 48}, "too short for lookback 48"),
    ("series_nan.csv", "v\n1\n2\nnan\n", {"task": "forecast"}, "'nan' is not a finite number"),
    ("binary.txt", b"\x00\x01\x02" * 500, {}, "looks binary"),
    ("latin1.txt", "caf\xe9 ".encode("latin-1") * 400, {}, "not UTF-8"),
]


@pytest.mark.parametrize(("name", "content", "kw", "needle"), BAD, ids=[b[0] for b in BAD])
def test_malformed_input_is_one_line_naming_the_problem(tmp_path, name, content, kw, needle):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SpecError) as e:
        read_data(path, **kw)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_malformed_data_on_the_command_line_is_exit_2_and_measures_nothing(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("seq,label\n" + "1 2,a\n" * 20)
    db = tmp_path / "r.db"
    r = run_cli("recommend", "--data", str(path), "--column", "seq", "--db", str(db))
    assert r.returncode == 2 and r.stderr.startswith("seqarena: error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "single class" in r.stderr and not db.exists()
    r = run_cli("recommend", "--db", str(db))  # neither a workload nor data
    assert r.returncode == 2 and "--data PATH" in r.stderr


def test_the_series_scaler_never_sees_the_later_parts(tmp_path):
    """A series whose test part is 100x larger: each fold's scaler is fitted on that fold's training part, so its
    mean and s.d. are those of the small values, and the test windows come out large on that scale."""
    y = _series(tmp_path / "s.csv", n=1000, scale_after=900)
    for fold in range(3):
        task = make_task("forecast", file=str(tmp_path / "s.csv"), column="load", lookback=24, folds=3, fold=fold)
        a, _ = _bounds(1000, 3, fold)
        assert task.mean == pytest.approx(y[:a].mean()) and task.std == pytest.approx(y[:a].std())
        assert task.mean < 10  # never pulled up by the 100x part
    assert float(task.splits["test"].y.abs().max()) > 100  # the last fold's test windows are in the large part


def test_the_relative_frame_scores_the_baselines_as_the_absolute_one_and_brings_a_trend_into_range(tmp_path):
    """NLinear's frame: each window minus its last value, in units of the training part's one-step change. A baseline
    is the same forecast in either frame (its error in the series' units is unchanged); a trending series' test
    windows, far beyond the training levels in the absolute frame, are ordinary in the relative one."""
    t = np.arange(1000)
    y = 0.05 * t + np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 0.1, 1000)
    pd.DataFrame({"load": y}).to_csv(tmp_path / "trend.csv", index=False)
    frames = {rel: make_task("forecast", file=str(tmp_path / "trend.csv"), column="load", lookback=24, period=12,
                             folds=3, fold=2, relative=rel) for rel in (False, True)}
    absolute, relative = (frames[r].baseline("test")["all"] for r in (False, True))
    for name in absolute:
        assert relative[name]["rmse_units"] == pytest.approx(absolute[name]["rmse_units"], rel=2e-3)  # float32 windows
    a, _ = _bounds(1000, 3, 2)
    assert frames[True].std == pytest.approx(np.sqrt((np.diff(y[:a]) ** 2).mean()))  # the training part's only
    assert float(frames[False].splits["test"].y.mean()) > 1.5  # beyond every training level (standardised)
    rel_test, rel_train = frames[True].splits["test"], frames[True].splits["train"]
    assert float(rel_test.y.abs().mean()) < 2 * float(rel_train.y.abs().mean())
    assert torch.all(rel_test.x[:, -1] == 0)  # each window seen from its last value


def test_rolling_origins_move_the_test_block_forward_and_one_fold_is_the_old_split():
    assert _bounds(1000, 1, 0) == (700, 800)
    ends = [_bounds(1000, 3, f) for f in range(3)]
    assert ends == [(702, 802), (768, 868), (834, 934)]  # test blocks of 66 ending at 868, 934, 1000; validation 100


def test_classification_vocabulary_and_scaler_come_from_the_training_split(tmp_path):
    _wide(tmp_path / "tok.csv")
    task = make_task("sequences", file=str(tmp_path / "tok.csv"), column="seq")
    train_tokens = {t for i in task.index["train"] for t in (task.x_all[i][task.x_all[i] > 0]).tolist()}
    assert train_tokens <= set(task.vocab.values())
    # stratified: every class in every split, in proportion
    for split in ("train", "val", "test"):
        counts = torch.bincount(task.splits[split].y)
        assert len(counts) == 2 and abs(int(counts[0]) - int(counts[1])) <= 1


def test_the_season_is_inferred_from_the_autocorrelation():
    t = np.arange(2000)
    rng = np.random.default_rng(0)
    assert infer_period(np.sin(2 * np.pi * t / 24) + 0.001 * t + rng.normal(0, 0.2, 2000)) == 24
    assert infer_period(np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.2, 2000)) == 7
    assert infer_period(rng.normal(size=2000)) == 1  # noise: no season


def test_the_season_comes_from_the_timestamps_when_they_show_one(tmp_path):
    """Hourly stamps and a daily cycle: 24 from the calendar, said so; stamps with no calendar season in the series
    fall back to the autocorrelation."""
    _series(tmp_path / "daily.csv", n=1200, period=24)
    d = read_data(tmp_path / "daily.csv")
    assert d.params["period"] == 24 and "daily: 24 steps of 1 h, from the timestamps" in d.split
    _series(tmp_path / "odd.csv", n=1200, period=10)  # a 10-hour cycle: no calendar season
    o = read_data(tmp_path / "odd.csv")
    assert o.params["period"] == 10 and "autocorrelation" in o.split


def test_the_lm_baselines_include_the_context_free_codes(tmp_path):
    (tmp_path / "t.txt").write_text("abcab cabca bcabc " * 200)
    base = read_data(tmp_path / "t.txt").baselines[0]
    assert base["bits_per_char"] < base["unigram_bits"] <= base["uniform_bits"]
