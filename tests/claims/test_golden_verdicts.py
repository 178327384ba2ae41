"""Golden verdicts: every claim of the quick suite judged from the fixed synthetic store (tests/report/fixture_store)
must give the same status, effect, interval, caveats and evidence as recorded in ``tests/data/golden_verdicts.json``.
Written before the architecture refactor (issue 13) so that moving code cannot move a verdict unnoticed.

The store's numbers are seeded by each trial's spec hash, which includes the machine identity: the test pins the
identity, the fingerprint's CPU name and the timing threads so the file is the same on every machine. Floats are
compared at 6 significant digits. After a change that is *meant* to move verdicts, regenerate the file and say why
in the commit:

    SEQARENA_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/claims/test_golden_verdicts.py
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from seqarena.bench import spec as spec_module
from seqarena.claims import ClaimsPlan, judge_claims
from seqarena.claims import plan as plan_module
from tests.report import fixture_store

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden_verdicts.json"
MACHINE = {"cpu": "golden CPU", "cores": "2", "gpu": None, "torch": "golden torch"}


def _canon(value: Any) -> Any:
    """JSON-stable: floats at 6 significant digits, non-finite floats as text, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else float(f"{value:.6g}")
    return value


def _verdicts(tmp_path, monkeypatch) -> list[dict[str, Any]]:
    monkeypatch.setattr(spec_module, "machine_identity", lambda device: dict(MACHINE))
    monkeypatch.setattr(plan_module, "timing_threads", lambda cores=None: 1)  # half of the pinned 2 cores, anywhere
    monkeypatch.setitem(fixture_store.ENV, "cpu", MACHINE["cpu"])
    db = fixture_store.build_fixture_store(tmp_path / "golden.db")
    return [_canon(v.to_dict()) for v in judge_claims(ClaimsPlan.build("quick"), db=db)]


def test_the_verdicts_from_the_fixed_store_are_the_golden_ones(tmp_path, monkeypatch):
    got = _verdicts(tmp_path, monkeypatch)
    if os.environ.get("SEQARENA_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert [v["claim"] for v in got] == [v["claim"] for v in want]
    for g, w in zip(got, want):
        assert g == w, f"claim {w['claim']} moved"
    assert {v["status"] for v in want} >= {"supported", "refuted"}  # the golden file decides things, both ways
