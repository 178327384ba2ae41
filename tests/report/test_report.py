"""The report: built from a synthetic store through `seqarena report`, its numbers cross-checked against the store
(computed here independently, straight from SQLite), and its HTML checked to be self-contained."""

from __future__ import annotations

import itertools
import json
import math
import re
import sqlite3
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqarena.analysis.sequential import Schedule
from seqarena.analysis.stats import round_interval
from seqarena.claims import SUITES, select
from seqarena.cli import main
from seqarena.essay import BANDS
from seqarena.report import FIGURE_IDS, FIGURES
from seqarena.report.content import ReportContent, normalize_recommendations
from seqarena.report.data import ReportData, label_contenders
from seqarena.report.figure_data import quality_series
from seqarena.report.figures import render_all
from seqarena.report.html import render_html
from seqarena.report.markdown import render_markdown
from seqarena.report.performance import performance
from seqarena.report.plotting import is_placeholder
from seqarena.report.tables import Table, claim_rows, failures_table, settings_table, trials_table
from seqarena.report.verdicts import CHECKS_NOTE, RULE_NOTE, verdict_record

MB = 2**20


# -- reading the store directly (no seqarena code between the test and the data) ----------------------------------

def store_rows(db: Path, scenario: str) -> list[dict]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT model, seq_len, batch, spec, metrics FROM trials WHERE scenario = ? AND status = 'ok'",
                        (scenario,)).fetchall()
    conn.close()
    return [{"model": m, "n": n, "batch": b, "spec": json.loads(s), "metrics": json.loads(x)}
            for m, n, b, s, x in rows]


def plain(rows: list[dict]) -> list[dict]:
    """The essay's contenders as the performance table compares them: no options, no chunking / TBPTT."""
    return [r for r in rows if r["model"] in ("lstm", "transformer") and not r["spec"].get("options")
            and r["spec"].get("chunk") is None and r["spec"].get("tbptt") is None]


def per_n(rows: list[dict], metric: str, **match) -> dict[str, dict[int, float]]:
    """model -> n -> median over rounds of ``metric``."""
    values: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        if all(r["spec"].get(k) == v for k, v in match.items()):
            values.setdefault(r["model"], {}).setdefault(r["n"], []).append(r["metrics"][metric])
    return {m: {n: float(np.median(v)) for n, v in by_n.items()} for m, by_n in values.items()}


def md_table(markdown: str, first_header: str) -> list[list[str]]:
    """The rows of the pipe table whose header starts with ``| first_header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header}"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def number(text: str) -> float:
    return float(text.replace(",", ""))


# -- the CLI and the files --------------------------------------------------------------------------------------

def test_cli_writes_the_report_and_prints_its_path(built):
    assert built.code == 0, built.stderr
    assert built.stdout.strip() == f"wrote {built.index}"
    for name in ("index.html", "report.md", "results.json", "results.csv", "claims.json"):
        assert (built.out / name).stat().st_size > 0, name
    pngs = sorted((built.out / "figures").glob("*.png"))
    assert [p.stem for p in pngs] == sorted(FIGURE_IDS)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    conn = sqlite3.connect(built.db)
    stored = conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    conn.close()
    assert len(pd.read_csv(built.out / "results.csv")) == stored
    assert len(json.loads((built.out / "results.json").read_text())) == stored


@pytest.mark.parametrize("args, message", [
    (["--db", "{tmp}/missing.db"], "no results store at"),
    (["--db", "{db}", "--suite", "huge"], "unknown suite 'huge'"),
    (["--db", "{db}", "--device", "tpu"], "unknown device 'tpu'"),
])
def test_cli_errors_are_one_line_and_exit_2(args, message, capsys, tmp_path, fixture_db):
    args = [a.format(tmp=tmp_path, db=fixture_db) for a in args]
    with pytest.raises(SystemExit) as exit_:
        main(["report", *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "report").exists()


def test_build_report_needs_a_store(tmp_path):
    from seqarena.report import build_report
    from seqarena.store import StoreError

    with pytest.raises(StoreError, match="no results store"):
        build_report(tmp_path / "missing.db", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- numbers in report.md against the store -----------------------------------------------------------------------

MEASURE_ROWS = {  # medians-table measure -> (scenario, metric, filter, scale)
    "training (tokens/s)": ("train_step", "tokens_per_s", {"batch": 8, "params": 1_000_000}, 1.0),
    "latency (ms)": ("forward_latency", "latency_s", {"batch": 1, "params": 1_000_000}, 1e3),
    "memory (training) (MB)": ("memory", "peak_with_weights_bytes", {"kind": "train", "batch": 1, "params": 1_000_000},
                               1 / MB),
    "memory (inference) (MB)": ("memory", "peak_with_weights_bytes", {"kind": "infer", "batch": 1, "params": 1_000_000},
                                1 / MB),
}


def test_performance_medians_match_the_store(built):
    rows = md_table(built.markdown, "length | measure")
    assert {r[1] for r in rows} == set(MEASURE_ROWS)
    assert {r[2] for r in rows} == {"lstm", "transformer"}
    assert len(rows) == len(BANDS) * len(MEASURE_ROWS) * 2  # the fixture fills every cell
    bands = {label: inside for _, label, inside in BANDS}
    for band, measure, model, shown, n_used in rows:
        scenario, metric, match, scale = MEASURE_ROWS[measure]
        medians = per_n(plain(store_rows(built.db, scenario)), metric, **match)[model]
        ns = [int(n) for n in n_used.split(", ")]
        assert all(bands[band](n) for n in ns), (band, ns)
        expected = float(np.median([medians[n] for n in ns])) * scale
        assert number(shown) == pytest.approx(expected, rel=1e-3), (band, measure, model)


def test_winners_are_the_better_medians(built):
    medians = {(b, m, c): number(v) for b, m, c, v, _ in md_table(built.markdown, "length | measure")}
    winners = md_table(built.markdown, "length | training")
    assert [w[0] for w in winners] == [label for _, label, _ in BANDS]
    for row in winners:
        band = row[0]
        for cell, measure in zip(row[1:5], MEASURE_ROWS):
            lstm, attn = medians[(band, measure, "lstm")], medians[(band, measure, "transformer")]
            higher = measure.startswith("training")
            best, other = ("lstm", "transformer") if (lstm > attn) == higher else ("transformer", "lstm")
            ratio = max(lstm, attn) / min(lstm, attn)
            if ratio < 1.05:
                assert cell.startswith("tie:"), (band, measure, cell)
            else:  # the table's medians are rounded to 4 digits: the factor agrees to about 1e-3
                m = re.fullmatch(r"(\S+) \(([\d.]+)× (\S+)\)", cell)
                assert m and (m[1], m[3]) == (best, other), (band, measure, cell)
                assert float(m[2]) == pytest.approx(ratio, rel=2e-3, abs=0.006), (band, measure, cell)
    # the fixture's laws: the LSTM is faster below n ~ 60, the transformer in the middle
    assert winners[0][2].startswith("lstm") and winners[1][2].startswith("transformer")


def test_latency_crossovers_bracket_a_change_of_winner(built):
    latency = per_n(plain(store_rows(built.db, "forward_latency")), "latency_s", batch=1)
    ns = sorted(set(latency["lstm"]) & set(latency["transformer"]))
    lstm_faster = {n: latency["lstm"][n] < latency["transformer"][n] for n in ns}
    expected = [(a, b) for a, b in itertools.pairwise(ns) if lstm_faster[a] != lstm_faster[b]]
    rows = [r for r in md_table(built.markdown, "measure | pair") if r[0] == "latency"]
    found = [tuple(number(x) for x in r[5].split("–")) for r in rows]
    assert found == expected and len(found) == 2  # n ~ 60 and n ~ 3,000 in the fixture
    for r, (a, b) in zip(rows, expected):
        assert a < number(r[2]) < b
        assert r[3] == ("lstm" if lstm_faster[a] else "transformer")


def test_claim_verdicts_in_the_markdown_match_the_store(built):
    rows = md_table(built.markdown, "id | claim") + md_table(built.markdown.split("## Checks of the implementation")[1],
                                                            "id | claim")
    claims = {r[0].split("]")[0].lstrip("["): r for r in rows}
    # claim 10, recomputed from the per-call samples in SQLite: per round, the geometric mean over n of the ratio of
    # medians; then the t-interval over rounds (the round is the unit of replication)
    samples: dict[tuple[str, int, int], list[float]] = {}
    for r in store_rows(built.db, "forward_latency"):
        if r["batch"] == 1 and r["spec"]["params"] == 1_000_000 and r["spec"]["repeats"] == SUITES["quick"].repeats:
            key = (r["model"], r["n"], r["spec"].get("round", 0))
            samples.setdefault(key, []).extend(r["metrics"]["time"]["samples"])
    rounds = sorted({k[2] for k in samples})

    def ratio(n: int, k: int) -> float:
        return float(np.median(samples[("lstm", n, k)]) / np.median(samples[("transformer", n, k)]))

    per_round = [math.exp(np.mean([math.log(ratio(n, k)) for n in (16, 32, 64)])) for k in rounds]
    # at the level of the look these rounds reach: 1 - 5% / (the looks the quick suite allows)
    quick = SUITES["quick"]
    effect, (lo, hi) = round_interval(per_round, confidence=Schedule.of(quick.rounds, quick.max_rounds)
                                      .confidence(len(rounds)))
    row = claims["10"]
    assert len(rounds) >= 2 and row[2] == "**supported**" and hi < 0.95  # beyond the zone, on the claim's side
    assert row[3] == f"{effect:.3g} [{lo:.3g}, {hi:.3g}]" and row[4] == "< 1 (zone 0.95-1.05)"
    assert row[5] == f"{1 - effect:+.3g}"
    # every judged claim: the markdown shows the verdict and effect written to claims.json
    verdicts = json.loads((built.out / "claims.json").read_text())
    assert {v["id"] for v in verdicts} == set(claims)
    for v in verdicts:
        row = claims[v["id"]]
        assert row[2] == f"**{v['status']}" + (" on this machine**" if v["local"] and v["status"] != "inconclusive"
                                               else "**")
        if v.get("effect") is not None:
            assert row[3].startswith(f"{v['effect']:.3g}"), v["id"]
    assert sum(v["status"] == "not judged" for v in verdicts) == 0  # no predicate raised on the fixture


def test_settings_are_shown_with_the_numbers(built):
    md = built.markdown
    settings = dict((r[0], r[1]) for r in md_table(md, "  | value"))
    assert settings["torch threads"] == "2" and settings["device"] == "cpu" and settings["GPU"] == "none"
    assert "1M (embeddings included)" in settings["parameter budget"]
    assert "1M params, float32, cpu, 2 threads, batch 1" in md  # the performance table's settings
    assert md.count("Measured under: ") == len(FIGURES)


# -- the HTML -----------------------------------------------------------------------------------------------------

def test_html_is_self_contained_with_stable_ids(built):
    html = built.html
    assert "<script" not in html.lower()
    srcs = re.findall(r'src="([^"]*)"', html)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    hrefs = re.findall(r'href="([^"]*)"', html)
    local = {"report.md", "results.json", "results.csv", "claims.json", "figures/", "data:,"}
    assert all(h.startswith("#") or h in local for h in hrefs), [h for h in hrefs if not h.startswith("#")]
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"
    for fid in FIGURE_IDS:
        assert re.search(rf'<img id="{fid}" src="data:image/png;base64,', html), fid
    assert 'class="fig missing"' not in html  # the fixture has data for every figure, and none failed to draw
    for target in {h[1:] for h in hrefs if h.startswith("#")}:
        assert target in ids, target
    evidence = [i for i in ids if i.startswith("evidence-") and not i.endswith("-table")]
    assert len(evidence) == len(json.loads((built.out / "claims.json").read_text()))
    assert 'style="background:#1e7e34;color:#ffffff">supported</span>' in html
    assert 'style="background:#c62828;color:#ffffff">refuted</span>' in html


def test_missing_data_gives_placeholders_not_errors(tmp_path):
    empty = ReportData(tmp_path / "none.db", {}, pd.DataFrame(), 0)
    for f in FIGURES:
        fig = f.draw(empty)
        assert is_placeholder(fig), f.id
        assert f"run `{f.command}`" in fig.texts[1].get_text()
    rendered = render_all(empty, lambda df: "")
    assert all(not f.has_data and f.error is None and f.png.startswith(b"\x89PNG") for f in rendered)
    perf = performance(empty)
    assert all(row[1:5] == ["— (no data)"] * 4 for row in perf.winners.rows)
    content = ReportContent(db=tmp_path / "none.db", suite="quick", device="cpu", generated="now", total_trials=0,
                            settings=settings_table(empty), trials=trials_table(empty), claims=[], figures=rendered,
                            performance=perf, failures=failures_table(empty),
                            recommendations=normalize_recommendations(None), files=[])
    html, md = render_html(content), render_markdown(content)
    assert html.count('class="fig missing"') == len(FIGURES) and "No recommendation was passed" in html
    assert "No data yet." in md


# -- pieces -------------------------------------------------------------------------------------------------------

def test_recommendations_are_rendered_whatever_their_shape():
    class Profile:
        def describe(self) -> str:
            return "n = 50"

    class Rec:  # the shape of seqarena.recommender.Recommendation
        def __init__(self) -> None:
            self.top, self.profile = "lstm", Profile()
            self.lines = ["fastest under the 10 ms budget", "fits the cap"]

    recs = normalize_recommendations([("n = 20,000: lstm", ["only it fits 512 MB"]),
                                      {"title": "batch 32", "lines": "transformer"}, Rec(), "just text"])
    assert [(r.title, r.lines) for r in recs] == [
        ("n = 20,000: lstm", ["only it fits 512 MB"]), ("batch 32", ["transformer"]),
        ("n = 50: lstm", ["fastest under the 10 ms budget", "fits the cap"]), ("just text", [])]
    empty = ReportData(Path("x.db"), {}, pd.DataFrame(), 0)
    content = ReportContent(db=Path("x.db"), suite="quick", device="cpu", generated="now", total_trials=0,
                            settings=Table("settings", "s", [], []), trials=Table("trials", "t", [], []), claims=[],
                            figures=[], performance=performance(empty), failures=Table("failures", "f", [], []),
                            recommendations=recs, files=[])
    html, md = render_html(content), render_markdown(content)
    assert "<h3>n = 20,000: lstm</h3>" in html and "<li>only it fits 512 MB</li>" in html
    assert "### n = 50: lstm" in md and "- fits the cap" in md


def _train_row(model: str, seed: int, n_train: int, acc: float, steps: int = 300) -> dict:
    return {"scenario": "train", "model": model, "status": "ok", "spec.seed": seed, "spec.steps": steps,
            "spec.params": 100_000, "task.task": "copy", "task.params.n_train": n_train, "task.params.distance": 16,
            "metric": "accuracy", "task.higher_is_better": True, "test_metric": acc, "baseline.accuracy": 0.125,
            "baseline.name": "memoryless"}


def test_quality_series_pool_seeds_and_keep_other_settings_apart():
    rows = [_train_row("lstm", s, n, acc) for n, accs in ((100, (0.3, 0.5, 0.4)), (1000, (0.8, 0.9, 0.7)))
            for s, acc in enumerate(accs)]
    rows += [_train_row("lstm", 0, n, 0.2, steps=50) for n in (100, 1000)]  # a different budget: its own line
    series = sorted(quality_series(pd.DataFrame(rows), "task.params.n_train"), key=lambda s: s.label)
    assert [s.label for s in series] == ["lstm · steps=300", "lstm · steps=50"]
    main = series[0]
    assert list(main.x) == [100, 1000] and list(main.median) == [0.4, 0.8]
    assert list(main.low) == [0.3, 0.7] and list(main.high) == [0.5, 0.9] and main.seeds == 3
    assert main.baseline == 0.125 and main.higher_is_better


def test_contenders_are_split_by_settings_and_tags():
    df = pd.DataFrame([
        {"model": "lstm", "spec.params": 1_000_000, "spec.chunk": None},
        {"model": "lstm", "spec.params": 5_000_000, "spec.chunk": None},
        {"model": "transformer", "spec.params": 1_000_000, "spec.chunk": 256.0, "spec.options.positions": "rope"},
    ])
    assert list(label_contenders(df)["contender"]) == [
        "lstm · 1M params", "lstm · 5M params", "transformer:positions=rope · 1M params · chunked prefill 256"]


def test_band_medians_use_lengths_common_to_all_contenders(tmp_path):
    rows = [{"scenario": "forward_latency", "model": m, "seq_len": n, "batch": 1, "status": "ok", "latency_s": v,
             "spec.params": 1_000_000}
            for m, pts in (("lstm", {16: 1e-3, 32: 2e-3, 64: 4e-3}), ("transformer", {32: 3e-3, 64: 5e-3}))
            for n, v in pts.items()]
    data = ReportData(tmp_path / "x.db", {"forward_latency": pd.DataFrame(rows)}, pd.DataFrame(), len(rows))
    short = performance(data).results["latency"][0]
    assert short.n_values == {"lstm": [32, 64], "transformer": [32, 64]}  # n = 16 only the LSTM has: left out
    assert short.values["lstm"] == pytest.approx(3.0) and short.values["transformer"] == pytest.approx(4.0)
    assert short.winner == "lstm" and not short.tie and short.advantage == pytest.approx(4 / 3)
    assert math.isnan(performance(data).results["latency"][2].advantage)  # long: no data


# -- what a verdict rests on: reason, zone, provenance, and the checks kept apart ---------------------------------

def _strict(text: str):
    """JSON that must not hold NaN / Infinity (``allow_nan=False`` on the writing side)."""
    def refuse(name: str):
        raise AssertionError(f"{name} in strict JSON")

    return json.loads(text, parse_constant=refuse)


def test_claims_json_carries_provenance_and_check_for_every_verdict(built):
    verdicts = _strict((built.out / "claims.json").read_text())
    expected_checks = {c.id for c in select() if c.check}
    assert expected_checks and {v["id"] for v in verdicts if v["check"] is True} == expected_checks
    conn = sqlite3.connect(built.db)
    stored = {i for (i,) in conn.execute("SELECT id FROM trials")}
    (commit,) = {c for (c,) in conn.execute("SELECT json_extract(env, '$.git_commit') FROM trials")}
    conn.close()
    for v in verdicts:
        assert isinstance(v["check"], bool) and isinstance(v["provenance"], dict), v["id"]
        assert set(v["provenance"]["trial_ids"]) <= stored, v["id"]
        assert v["zone"] is None or (len(v["zone"]) == 2 and v["zone"][0] < v["zone"][1]), v["id"]
        if v["status"] == "inconclusive":
            assert v["reason"], v["id"]  # an inconclusive verdict always says why
    ten = next(v for v in verdicts if v["id"] == "10")
    assert ten["provenance"]["commits"] == [commit] and ten["provenance"]["devices"] == ["cpu"]
    assert ten["zone"] == [0.95, 1.05] and len(ten["provenance"]["trial_ids"]) >= 12


def test_evidence_shows_reason_zone_and_provenance_and_checks_stand_apart(built):
    md, html = built.markdown, built.html
    verdicts = {v["id"]: v for v in _strict((built.out / "claims.json").read_text())}
    claims_part, rest = md.split("## Claims\n")[1].split("## Checks of the implementation\n")
    checks_part = rest.split("## Figures")[0]
    essay_ids = {r[0].split("]")[0].lstrip("[") for r in md_table(claims_part, "id | claim")}
    check_ids = {r[0].split("]")[0].lstrip("[") for r in md_table(checks_part, "id | claim")}
    assert check_ids == {i for i, v in verdicts.items() if v["check"]} and not essay_ids & check_ids
    assert CHECKS_NOTE in checks_part and RULE_NOTE in claims_part

    def block(cid: str) -> str:
        return md.split(f'<a id="evidence-{cid}"></a>')[1].split("<a id=")[0]

    ten = verdicts["10"]
    ids = ten["provenance"]["trial_ids"]
    assert (f"- provenance: commit {ten['provenance']['commits'][0][:10]}; torch {ten['provenance']['torch'][0]}; "
            f"device cpu; dtype float32; threads 2; {len(ids)} trials (ids {ids[0]} … {ids[-1]})") in block("10")
    assert "- equivalence zone: 0.95-1.05" in block("10") and "- threshold: < 1 (zone 0.95-1.05)" in block("10")
    inconclusive = [v for v in verdicts.values() if v["status"] == "inconclusive"]
    assert inconclusive
    for v in inconclusive:
        assert f"- why inconclusive: {v['reason']}" in block(v["id"]), v["id"]
    for cid in check_ids:
        assert f"### {cid}: " in block(cid) and "(implementation check)" in block(cid)
    # the HTML: a section of its own, linked from the navigation, and the rule's note as the essay's table's note
    assert '<section id="checks">' in html and '<a href="#checks">' in html
    assert html.index('<section id="claims">') < html.index('<section id="checks">') < html.index('id="figures"')
    assert escape(RULE_NOTE) in html and escape(CHECKS_NOTE) in html
    assert "<dt>why inconclusive</dt>" in html and "<dt>provenance</dt>" in html and "<dt>equivalence zone</dt>" in html


def test_claim_rows_and_json_survive_nan_inf_tuples_and_none():
    from seqarena.claims import Verdict

    claim = next(c for c in select(["10"]))
    v = Verdict("10", "inconclusive", math.nan, (0.5, math.inf), 1.0, "below", claim.effect_name,
                evidence=[{"n": 16, "ratio": math.nan}], reason="missing data: x", zone=(0.95, 1.05),
                provenance={"trial_ids": [], "commits": []})
    (row,) = claim_rows([claim], {"10": v}, {})
    assert row.effect == "no data" and row.margin == "—" and row.threshold == "< 1 (zone 0.95-1.05)"
    assert row.zone == "0.95-1.05" and row.reason == "missing data: x" and row.provenance == "no trials"
    record = verdict_record(claim, v)
    back = _strict(json.dumps(record, allow_nan=False))
    assert back["effect"] is None and back["ci"] == [0.5, None] and back["zone"] == [0.95, 1.05]
    assert back["evidence"] == [{"n": 16, "ratio": None}] and back["check"] is False and back["id"] == "10"
