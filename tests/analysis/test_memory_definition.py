"""One definition of a trial's memory for the report and the recommender (issue 30 item 5: the recommender said
"20 MB" where the report's table said "1.641 MB" for the same trials)."""

from __future__ import annotations

import math

import pandas as pd

from seqarena.analysis.summary import MEMORY_DEFINITION, memory_bytes, memory_of
from seqarena.report.performance import MEASURES

MB = 2**20


def test_the_report_and_the_recommender_read_the_same_number_for_a_trial():
    metrics = {"peak_bytes": 1.6 * MB, "peak_with_weights_bytes": 20 * MB, "trial_peak_bytes": 25 * MB}
    assert memory_of(metrics) == 20 * MB  # the recommender (recommender/observe.py)
    frame = pd.DataFrame([metrics, {"trial_peak_bytes": 7 * MB}, {"peak_bytes": 1.0 * MB}])
    got = memory_bytes(frame).tolist()
    assert got[:2] == [20 * MB, 7 * MB] and math.isnan(got[2])  # weights included, or unknown: never peak_bytes
    assert memory_of({"trial_peak_bytes": 7 * MB}) == 7 * MB and memory_of({"peak_bytes": MB}) is None
    assert "weights included" in MEMORY_DEFINITION


def test_the_reports_memory_measure_uses_it_and_says_so():
    rows = pd.DataFrame({"scenario": ["memory"], "spec.kind": ["infer"], "model": ["lstm"], "seq_len": [64],
                         "batch": [1], "status": ["ok"], "peak_bytes": [1.6 * MB],
                         "peak_with_weights_bytes": [20 * MB]})
    measure = next(m for m in MEASURES if m.key == "memory_infer")

    class Frames:  # what the selection reads of ReportData: a frame per scenario
        def get(self, scenario):
            return rows if scenario == "memory" else pd.DataFrame()

    selected, where = measure.select(Frames())
    assert MEMORY_DEFINITION in where
    assert selected[measure.metric].tolist() == [20 * MB]
