"""The main job as an API (``seqarena.job.run_job``): a tiny suite measured end to end, its events in order, the
report written, and nothing left to measure for a second run."""

from __future__ import annotations

import json

from seqarena.job import ClaimsResult, Events, plan_claims, run_job

TINY = {"params": 50_000, "repeats": 3, "min_seconds": 0.0, "rounds": 1, "max_rounds": 1, "short": (16,)}


class Recorder(Events):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def planned(self, suite, budget) -> None:
        self.calls.append(f"planned {suite} {sum(r['to_measure'] for r in budget)}")

    def begin(self, what, total) -> None:
        self.calls.append(f"begin {what} {total}")

    def done(self, spec, result) -> None:
        self.calls.append("done")

    def end(self) -> None:
        self.calls.append("end")

    def judged(self, result: ClaimsResult) -> None:
        self.calls.append(f"judged {[v.status for v in result.verdicts]}")


def test_the_main_job_measures_judges_recommends_and_writes_the_report(tmp_path, one_worker):
    db, out = tmp_path / "r.db", tmp_path / "report"
    events = Recorder()
    result = run_job(TINY, "cpu", db, out, events, only=["10"], probe=False, data_demo=False)

    (verdict,) = result.claims.verdicts
    assert [c.id for c in result.claims.claims] == ["10"] and verdict.status in ("supported", "refuted",
                                                                                  "inconclusive")
    measured = result.claims.summary.ok
    assert measured > 0 and result.claims.summary.failed == 0
    assert events.calls[0] == f"planned custom {measured}" and events.calls[1] == f"begin claims {measured}"
    assert events.calls.count("done") == measured and events.calls[-2:] == ["end", f"judged ['{verdict.status}']"]
    # without a probe the store holds no 1M-parameter rows for the profiles: each says so instead of a pick
    assert len(result.recommendations) == 2
    assert all(a.top is None and len(a.lines) == 1 and a.lines[0] for a in result.recommendations)
    assert result.report == out / "index.html" and result.report.exists() and (out / "report.md").exists()
    # the report judges again from the store: the same verdict resting on the same trials, with its check flag
    records = json.loads((out / "claims.json").read_text())
    ten = next(r for r in records if r["id"] == "10")
    assert ten["status"] == verdict.status and ten["check"] is False and ten["reason"] == verdict.reason
    assert ten["provenance"]["trial_ids"] == verdict.provenance["trial_ids"] and len(verdict.provenance["trial_ids"])
    assert all(isinstance(r["check"], bool) and "provenance" in r for r in records)

    # a second run resumes: everything this claim needs is in the store
    _, budget = plan_claims(TINY, ["10"], db=db)
    assert [r["to_measure"] for r in budget] == [0]


def test_the_main_job_runs_recommend_data_on_the_bundled_series_before_the_report(tmp_path, monkeypatch):
    """The wiring only (recommend --data itself is tested in tests/recommender/test_on_data.py): the bundled CO2
    file, the demo's settings, and before the report is built (so the report can lead with it)."""
    import seqarena.job as job

    order = []
    from types import SimpleNamespace

    monkeypatch.setattr(job, "run_claims_job", lambda *a, **k: order.append("claims") or SimpleNamespace(verdicts=[]))
    monkeypatch.setattr(job, "_answer", lambda *a, **k: order.append("profile") or job.ProfileAnswer("p", None, []))
    monkeypatch.setattr(job.report, "build_report", lambda *a, **k: order.append("report") or tmp_path / "i.html")

    def fake(data, task, **settings):
        order.append(("data", data.name, task, settings["budget_s"], settings["column"]))
        return "sentinel"

    monkeypatch.setattr(job, "recommend_on_data", fake)
    result = run_job("quick", "cpu", tmp_path / "r.db", tmp_path / "report", probe=False)
    assert order == ["claims", "profile", "profile", ("data", "co2.csv", "forecast", 45.0, "co2"), "report"]
    assert result.data == "sentinel"
