"""The forecast figure labels the data its rows were trained on (issue 30 item 12: a user's load.csv read
"sunspots, look-back 168", and the hint under it said --dataset sunspots)."""

from __future__ import annotations

import pandas as pd

from seqarena.report.quality_figures import forecast_command, series_label


def _rows(**params) -> pd.DataFrame:
    return pd.DataFrame([{"task.task": "forecast", **{f"task.params.{k}": v for k, v in params.items()}}])


def test_a_users_file_is_named_not_the_default_dataset():
    rows = _rows(dataset="sunspots", file="/data/load.csv", column="load", lookback=168)
    assert series_label(rows.iloc[0].to_dict()) == "load.csv [load]"
    cmd = forecast_command(rows)
    assert "--file /data/load.csv --column load" in cmd and "--lookback 168" in cmd and "sunspots" not in cmd


def test_a_bundled_dataset_keeps_its_name():
    rows = _rows(dataset="co2", lookback=24)
    assert series_label(rows.iloc[0].to_dict()) == "co2"
    assert "--dataset co2" in forecast_command(rows)
    assert forecast_command(pd.DataFrame()) is None  # no forecast rows: the figure's default command
