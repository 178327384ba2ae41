"""A report built alone from a store shows the recommendations made from it (issue 30 item 9: `seqarena report`
said "No recommendation was passed to this build")."""

from __future__ import annotations

from seqarena.report.build import build_report, stored_recommendations
from seqarena.store import Store


def test_the_store_keeps_the_newest_recommendation_per_profile_and_the_report_shows_it(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as store:
        assert store.recommendations() == []  # a store that never kept one
        store.add_recommendation("n=50: lstm", ["old line"], {"seq_len": 50}, [3, 1])
        store.add_recommendation("n=20,000: transformer", ["why b"], {"seq_len": 20000}, [])
        store.add_recommendation("n=50: gru", ["why a"], {"seq_len": 50}, [5, 2, 4])  # the same profile, newer
        kept = store.recommendations()
    assert [r["title"] for r in kept] == ["n=20,000: transformer", "n=50: gru"]
    assert kept[1]["trial_ids"] == [2, 4, 5] and kept[1]["profile"] == {"seq_len": 50}
    shown = stored_recommendations(db)
    assert shown[1][0] == "n=50: gru" and shown[1][1][0] == "why a"
    assert f"from the store {db}: trials #2-#5 (3)" in shown[1][1][-1]
    index = build_report(db, tmp_path / "report")
    md = (index.parent / "report.md").read_text()
    assert "n=50: gru" in md and "No recommendation was passed" not in md


def test_a_report_from_a_store_without_recommendations_says_so(tmp_path):
    db = tmp_path / "r.db"
    with Store(db):
        pass
    assert stored_recommendations(db) is None
