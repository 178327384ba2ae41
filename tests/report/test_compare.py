"""``seqarena compare``: matched by spec, ratios with round-level intervals, a regression gate tested on synthetic
stores (an injected slowdown, never live timings), verdict differences, machines labelled, bad input one line."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pytest

from seqarena.analysis.stats import welch_ratio
from seqarena.bench.spec import judged_as
from seqarena.claims.plan import plan, select, with_roles
from seqarena.errors import SpecError
from seqarena.report.compare import compare_stores
from tests.claims.test_injected_delay import CLAIMS, TINY_SUITE
from tests.conftest import run_cli
from tests.synthetic_store import ENV, build_claims_store


def _store(path, slowdown: float = 1.0):
    trials = [t for ts in plan(TINY_SUITE, with_roles(select(CLAIMS))).values() for t in ts]
    return build_claims_store(path, trials, slowdown={"lstm": slowdown})


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The claims' stores once per module: as the laws give them, and with the LSTM slowed 1.5x and 10x (the tests
    only read them)."""
    root = tmp_path_factory.mktemp("compare")
    return {k: _store(root / f"{k}.db", k) for k in (1.0, 1.5, 10.0)}


def test_identical_stores_pass_the_gate(tmp_path, stores):
    a, b = stores[1.0], shutil.copy(stores[1.0], tmp_path / "b.db")
    c = compare_stores(a, b, suite=TINY_SUITE)
    assert c.shared and c.only_a == c.only_b == 0 and c.same_machine
    assert all(s.ratio == pytest.approx(1.0) for s in c.shared)
    assert not c.regressions(1.10) and not c.verdicts
    result = run_cli("compare", str(a), str(b), "--fail-above", "1.10")
    assert result.returncode == 0, result.stderr
    assert "shared measurements" in result.stdout and "per scenario" in result.stdout


def test_an_injected_slowdown_trips_the_gate_on_the_slowed_model_only(stores):
    a, b = stores[1.0], stores[1.5]
    c = compare_stores(a, b, suite=TINY_SUITE)
    slow = c.regressions(1.10)
    assert slow and all(" lstm " in s.label for s in slow)
    assert all(s.ratio == pytest.approx(1.5, rel=0.02) for s in slow)
    assert all(s.ratio == pytest.approx(1.0) for s in c.shared if " lstm " not in s.label)
    result = run_cli("compare", str(a), str(b), "--fail-above", "1.10", "--json")
    assert result.returncode == 1 and "beyond their interval" in result.stderr
    assert set(json.loads(result.stdout)["regressions"]) == {s.label for s in slow}
    assert run_cli("compare", str(a), str(b), "--fail-above", "1.6").returncode == 0  # under the threshold


def test_claims_whose_verdicts_differ_are_named(stores):
    a, b = stores[1.0], stores[10.0]
    c = compare_stores(a, b, suite=TINY_SUITE)
    assert {d["id"] for d in c.verdicts} == set(CLAIMS)
    assert all(d["a"].status == "supported" and d["b"].status == "refuted" for d in c.verdicts)


def test_a_store_from_another_machine_is_labelled_and_still_judged(tmp_path, stores):
    a = stores[1.0]
    other = {"cpu": "Other CPU 9000", "cores": str(ENV["cores"]), "gpu": None, "torch": ENV["torch"]}
    with judged_as(other):  # B as that machine made it: its trials identified by that machine
        b = _store(tmp_path / "b.db", slowdown=10.0)
    with sqlite3.connect(b) as con:
        con.execute("UPDATE trials SET env = json_set(env, '$.cpu', 'Other CPU 9000')")
    c = compare_stores(a, b, suite=TINY_SUITE)
    assert not c.same_machine and "Other CPU 9000" in c.machine_b
    assert {d["id"] for d in c.verdicts} == set(CLAIMS)  # B judged as measured on its own machine
    assert "different machines" in run_cli("compare", str(a), str(b)).stdout


def test_one_round_gives_no_interval_and_never_trips():
    ratio, ci = welch_ratio([1.0], [2.0, 2.1])
    assert ratio == pytest.approx(2.05, rel=0.01) and ci is None
    ratio, ci = welch_ratio([1.0, 1.1, 0.9], [1.5, 1.6, 1.4])
    assert ci[0] < ratio < ci[1] and ci[0] > 1.1


def test_bad_input_is_one_line(tmp_path, stores):
    a = stores[1.0]
    empty = build_claims_store(tmp_path / "empty.db", [])
    with pytest.raises(SpecError, match="share no measurement"):
        compare_stores(a, empty)
    for args in ([str(a), str(empty)], [str(a), str(tmp_path / "none.db")], [str(a), str(a), "--fail-above", "-1"]):
        result = run_cli("compare", *args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_report_compare_adds_the_section_and_its_figure(tmp_path, stores):
    a, b = stores[1.0], stores[1.5]
    result = run_cli("report", "--db", str(a), "--compare", str(b), "--out", str(tmp_path / "rep"))
    assert result.returncode == 0, result.stderr
    md = (tmp_path / "rep" / "report.md").read_text()
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "## Compared with another store" in md and "figures/compare.png" in md
    assert 'id="compare"' in html and 'id="compare-figure"' in html
    assert (tmp_path / "rep" / "figures" / "compare.png").read_bytes().startswith(b"\x89PNG")
    assert re.search(r"\| 1\.5 \[1\.[45]\d*, 1\.5\d*\]", md)  # the slowed model's ratio and interval, in the table
    assert run_cli("report", "--db", str(a), "--compare", str(tmp_path / "none.db")).returncode == 2
