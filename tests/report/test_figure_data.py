"""What the figures plot, checked on small frames without drawing (and without importing matplotlib)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from seqarena.report.figure_data import (
    decode_per_position,
    failed_points,
    memory_panels,
    mfu_bars,
    quality_series,
    with_diverged,
)

MB = 2**20


def _memory_rows() -> pd.DataFrame:
    rows = []
    for model in ("lstm", "transformer"):
        for n in (256, 1024):
            for kind in ("train", "infer"):
                rows.append({"model": model, "seq_len": n, "batch": 1, "spec.kind": kind, "spec.memory_cap_mb": 512.0,
                             "peak_bytes": (2 if kind == "train" else 1) * n * MB // 64})
    return pd.DataFrame(rows)


def test_memory_panels_split_training_from_inference_and_put_failures_on_their_cap():
    failed = pd.DataFrame([{"model": "transformer", "seq_len": 16384, "batch": 1, "spec.kind": "infer",
                            "spec.memory_cap_mb": 512.0},
                           {"model": "transformer", "seq_len": 32768, "batch": 1, "spec.kind": "infer",
                            "spec.memory_cap_mb": None}])
    panels = memory_panels(_memory_rows(), failed)
    assert [p.name for p in panels] == ["training (fwd + bwd + AdamW)", "inference (forward)"]
    assert [p.caps for p in panels] == [[512.0], [512.0]]
    assert all(p.source == "memory scenario" for p in panels)
    assert not failed_points(panels[0])  # the failures were inference trials
    (label, (n, y)), = failed_points(panels[1]).items()
    assert label == "transformer" and list(n) == [16384, 32768]
    assert list(y) == [512.0, 1024 / 64]  # no cap: drawn at the top of the data (16 MB)


def test_memory_panels_fall_back_to_the_forward_peaks_at_the_smallest_batch():
    forward = pd.DataFrame([{"model": "lstm", "seq_len": 64, "batch": b, "peak_bytes": b * MB} for b in (1, 8)])
    (panel,) = memory_panels(pd.DataFrame(), forward=forward)
    assert panel.source == "forward_latency trials" and list(panel.rows["batch"]) == [1] and panel.caps == []


def test_decode_per_position_is_the_median_over_rounds_sorted_by_position():
    gen = pd.DataFrame([{"model": "lstm", "batch": 1, "mode": "state",
                         "decode_ms_by_position": {"512": 1.0 + r, "64": 2.0 + r}} for r in range(3)]
                       + [{"model": "lstm", "batch": 1, "mode": "recompute", "decode_ms_by_position": {}}])
    lines = decode_per_position(gen)
    assert list(lines) == [("lstm", "state")]  # a mode without positions draws no line
    assert list(lines[("lstm", "state")].index) == [64, 512]
    assert list(lines[("lstm", "state")]) == [3.0, 2.0]
    assert decode_per_position(pd.DataFrame()) == {}


def test_mfu_bars_compare_at_the_point_both_essay_contenders_share():
    def row(model, scenario, n, mfu):
        return {"model": model, "scenario": scenario, "seq_len": n, "batch": 4, "mfu": mfu}

    ts = pd.DataFrame([row("lstm", "train_step", 256, 0.02), row("transformer", "train_step", 256, 0.30),
                       row("gru", "train_step", 1024, 0.05)])
    fl = pd.DataFrame([row("lstm", "forward_latency", 256, 0.01)])
    bars = mfu_bars(ts, fl)
    assert bars.n == 256 and bars.labels == ["lstm", "transformer"]
    assert bars.percent["training step (batch 4)"] == [2.0, 30.0]
    lstm, transformer = bars.percent["inference forward (batch 4)"]
    assert lstm == 1.0 and math.isnan(transformer)
    assert mfu_bars(pd.DataFrame()) is None


def test_a_diverged_training_run_is_marked_where_it_would_have_been_plotted():
    ok = pd.DataFrame([{"model": "lstm", "status": "ok", "task.task": "copy", "task.params.distance": 8, "lr": lr,
                        "spec.lr": lr, "spec.tune_lr": False, "test_metric": 0.9, "metric": "accuracy",
                        "spec.seed": 0} for lr in (1e-3, 3e-3, 1e-2)])
    failed = pd.DataFrame([{"model": "lstm", "status": "failed", "failure": "diverged", "spec.task": "copy",
                            "spec.task_params.distance": 8, "spec.lr": 0.1, "spec.tune_lr": False, "spec.seed": 0,
                            "reason": "diverged: loss nan at step 4 (lr 0.1)"},
                           {"model": "lstm", "status": "failed", "failure": "raised", "spec.task": "copy",
                            "spec.task_params.distance": 8, "spec.lr": 0.3, "spec.tune_lr": False, "spec.seed": 0}])
    (series,) = quality_series(with_diverged(ok, failed), "lr", min_points=3)
    assert list(series.x) == [1e-3, 3e-3, 1e-2] and series.diverged == [0.1]  # a crash is not a divergence
    assert with_diverged(ok, pd.DataFrame()) is ok


def test_shaping_does_not_import_matplotlib():
    code = ("import sys, seqarena.report.figure_data, seqarena.report.performance, seqarena.report.tables; "
            "sys.exit('matplotlib' in sys.modules)")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
