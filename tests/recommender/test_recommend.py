"""The recommender on synthetic stores: the answer follows the measurements, and bad profiles are one-line errors."""

from __future__ import annotations

import math
import re

import pytest

import seqarena
from seqarena.errors import SpecError
from seqarena.recommender import Obs, Profile, estimate, recommend
from seqarena.store import Store
from tests.synthetic_store import add_recommender_row as _add
from tests.synthetic_store import build_recommender_store as build_store
from tests.synthetic_store import transformer_latency

LATENCY_CRITICAL = {"seq_len": 50, "train_sequences": 5_000, "latency_budget_ms": 5, "batch": 1}
LONG_CAPPED = {"seq_len": 20_000, "train_sequences": 5_000, "memory_cap_mb": 512, "cap_scope": "both"}
CANDIDATES = ("lstm", "transformer")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "synthetic.db"
    build_store(path)
    return path


def _cited(lines: list[str]) -> set[int]:
    return {int(x) for x in re.findall(r"#(\d+)", " ".join(lines))}


def test_the_two_profiles_get_different_answers_and_say_why(store_path):
    short = recommend(LATENCY_CRITICAL, store_path, probe=False, candidates=CANDIDATES)
    long = recommend(LONG_CAPPED, store_path, probe=False, candidates=CANDIDATES)
    assert short.top == "transformer" and long.top == "lstm"
    assert short.priority == "latency" and long.priority == "training"
    for rec in (short, long):
        assert 3 <= len(rec.lines) <= 5
        cited = _cited(rec.lines)
        assert cited and cited <= set(rec.rows_used)
    # n=50 lies between the measured 32 and 64: interpolated, exact for the synthetic curve up to the round spread
    top = short.ranking[0]
    assert "interpolated between n=32 and n=64" in top.latency.how
    assert top.latency.low <= transformer_latency(50) <= top.latency.high
    assert top.fits_latency == "yes" and "5 ms budget" in short.lines[0]
    # n=20,000: the transformer's training step failed the 512 MB cap there; the LSTM's measured peak fits
    by_model = {r.model: r for r in long.ranking}
    assert by_model["transformer"].fits_memory == "no" and by_model["lstm"].fits_memory == "yes"
    failed_row = max(long.rows_used)  # the failure was stored last
    assert f"#{failed_row}" in " ".join(long.lines) and "512 MB cap" in " ".join(long.lines)
    assert any("prior, not a measurement" in line for line in long.lines)


def test_swapped_timings_flip_the_latency_critical_answer(tmp_path):
    path = tmp_path / "swapped.db"
    build_store(path, swap=True)
    rec = recommend(LATENCY_CRITICAL, path, probe=False, candidates=CANDIDATES)
    assert rec.top == "lstm"
    assert rec.ranking[0].latency.value == pytest.approx(transformer_latency(50), rel=0.05)


def test_an_hf_model_in_the_answer_carries_its_note(tmp_path):
    pytest.importorskip("transformers")
    from seqarena.models.hf_families import hf_note

    path = tmp_path / "hf.db"
    build_store(path, attn="hf:gpt2")
    rec = recommend(LATENCY_CRITICAL, path, probe=False, candidates=("lstm", "hf:gpt2"))
    assert rec.top == "hf:gpt2"  # the same timings as the transformer's: the same answer
    assert f"hf:gpt2: {hf_note('hf:gpt2')}" in " ".join(rec.lines) and "learned positions" in hf_note("hf:gpt2")
    assert "lstm:" not in " ".join(rec.lines)  # our own models carry no such note


def test_extrapolation_is_stated_and_widened(store_path):
    rec = recommend({"seq_len": 16_384, "train_sequences": 50_000, "latency_budget_ms": 10_000}, store_path,
                    probe=False, candidates=CANDIDATES)
    for r in rec.ranking:
        assert r.latency.extrapolated and "extrapolated from n<=4,096" in r.latency.how
        assert r.latency.low < r.latency.value < r.latency.high
    assert "extrapolated" in " ".join(rec.lines)
    assert "transformers win with plenty of data" in " ".join(rec.lines)


def test_estimate_exact_on_power_laws():
    obs = [Obs(n, n**2, n**2, n**2, i) for i, n in enumerate((10, 100, 1000, 10_000))]
    mid = estimate(obs, 300)
    assert mid.value == pytest.approx(300**2) and (mid.low, mid.high) == (100**2, 1000**2)
    far = estimate(obs, 40_000)  # a perfect fit: the slope's interval has zero width
    assert far.value == pytest.approx(40_000**2) and far.extrapolated
    assert far.low == pytest.approx(far.value) and far.high == pytest.approx(far.value)
    one = estimate([Obs(100, 5.0, 5.0, 5.0, 7)], 50)  # one length: an upper bound below it, nothing above
    assert one.value is None and (one.low, one.high) == (0.0, 5.0) and one.within(6) == "yes"
    assert math.isinf(estimate([Obs(100, 5.0, 5.0, 5.0, 7)], 200).high)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"seq_len": 0, "train_sequences": 10}, "seq_len: must be >= 1"),
        ({"seq_len": 10, "train_sequences": 10, "memory_cap_mb": -1}, "memory_cap_mb: must be > 0"),
        ({"seq_len": 10, "train_sequences": 10, "device": "tpu"}, "unknown device 'tpu'"),
        ({"seq_len": 10, "train_sequences": 10, "colour": "red"}, "colour"),
        ({"train_sequences": 10}, "seq_len"),
        ({"seq_len": 10, "train_sequences": 10, "memory_cap_mb": 2, "cap_scope": "both"},
         "below the 15.3 MB that training"),
        ({"seq_len": 10, "train_sequences": 10, "cap_scope": "everything"}, "cap_scope"),
    ],
)
def test_malformed_or_impossible_profiles_are_one_line_errors(store_path, fields, needle):
    with pytest.raises(SpecError) as e:
        recommend(fields, store_path, probe=False, candidates=CANDIDATES)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_budget_no_model_meets_is_reported_as_impossible(store_path):
    with pytest.raises(SpecError, match=r"no candidate fits this profile.*best is transformer.*over the 0.1 ms"):
        recommend({**LATENCY_CRITICAL, "latency_budget_ms": 0.1}, store_path, probe=False, candidates=CANDIDATES)


def test_without_probe_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(SpecError, match="no results store"):
        recommend(LATENCY_CRITICAL, tmp_path / "missing.db", probe=False)
    Store(tmp_path / "empty.db").close()
    with pytest.raises(SpecError, match=r"no forward latency measurements near n=50.*drop --no-probe"):
        recommend(LATENCY_CRITICAL, tmp_path / "empty.db", probe=False)


def test_measured_quality_replaces_the_prior(tmp_path):
    path = tmp_path / "q.db"
    build_store(path)
    with Store(path) as store:
        for model, acc in (("lstm", 0.40), ("transformer", 0.90)):
            _add(store, metrics={"params": 200_000, "metric": "accuracy", "val_metric": acc,
                                 "task": {"task": "copy", "params": {"distance": 20}, "sizes": {"train": 4096},
                                          "higher_is_better": True}},
                 scenario="train", model=model, task="copy", task_params={"distance": 20}, steps=100, batch=32,
                 params=200_000)
    rec = recommend({**LONG_CAPPED, "memory_cap_mb": None}, path, probe=False, candidates=CANDIDATES)
    evidence = " ".join(rec.lines)
    assert "data (measured): copy with 4,096 training sequences: transformer val accuracy 0.900" in evidence
    assert {r.model for r in rec.ranking if r.favoured} == {"transformer"}


def test_python_api_takes_a_profile_a_dict_or_keywords(store_path):
    from seqarena.job import recommend as dispatch  # recommend(data=PATH) or recommend(profile): one name

    assert seqarena.recommend is dispatch and seqarena.Profile is Profile
    a = seqarena.recommend(Profile(**LATENCY_CRITICAL), store_path, probe=False, candidates=CANDIDATES)
    b = seqarena.recommend(db=store_path, probe=False, candidates=CANDIDATES, **LATENCY_CRITICAL)
    assert a.top == b.top == "transformer" and a.lines == b.lines
    assert list(a.table()["model"]) == ["transformer", "lstm"]


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from seqarena.cli import main

    with pytest.raises(SystemExit) as e:
        main(["recommend", *args])
    captured = capsys.readouterr()
    return e.value.code, captured.out, captured.err


def test_cli_prints_the_ranking_and_rejects_bad_input(store_path, capsys):
    code, out, err = _cli(capsys, "--seq-len", "50", "--train-sequences", "5000", "--latency-budget-ms", "5",
                          "-m", "lstm,transformer", "--no-probe", "--db", str(store_path))
    assert code == 0, err
    assert "top: transformer" in out and "interpolated between n=32 and n=64" in out
    assert "peak RSS above the process baseline, weights included" in " ".join(out.split())  # the peaks' definition
    for args, needle in ((["--seq-len", "0"], "seq_len: must be >= 1, got 0"),
                         (["--seq-len", "10", "--memory-cap-mb", "-5"], "memory_cap_mb: must be > 0"),
                         (["--seq-len", "10", "--device", "tpu"], "unknown device 'tpu'"),
                         (["--seq-len", "ten"], "Invalid value for '--seq-len'")):
        code, out, err = _cli(capsys, *args, "--train-sequences", "5000", "--no-probe", "--db", str(store_path))
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("seqarena: error: ") and needle in lines[0], err


def test_the_probe_measures_what_is_missing_once(tmp_path, one_worker):
    path = tmp_path / "probe.db"
    profile = {"seq_len": 8, "train_sequences": 100, "latency_budget_ms": 1_000, "params": 20_000}
    first = recommend(profile, path, candidates=("lstm",))
    assert first.probed is not None and first.probed.ok == 3 and first.probed.failed == 0  # n = 4, 8, 16
    assert first.top == "lstm" and first.ranking[0].latency.how.startswith("measured at n=8")
    with Store(path) as store:
        assert {r["sweep"] for r in store.rows()} == {"recommend-probe"} and store.count() == 3
    again = recommend(profile, path, candidates=("lstm",))
    assert again.probed is None and again.ranking[0].latency == first.ranking[0].latency


def test_far_extrapolation_gives_a_bound_not_a_number():
    obs = [Obs(n, float(n), float(n), float(n), i) for i, n in enumerate((25, 50, 100))]
    far = estimate(obs, 20_000)
    assert far.value is None and far.low == 100 and math.isinf(far.high)
    assert far.how == "200x beyond the measured n<=100: a lower bound only"


def test_a_failed_probe_trial_is_tried_again_and_named(tmp_path, one_worker):
    # issue 30 item 2: the failed rows stayed, every later probe skipped them and said "nothing ran"
    path = tmp_path / "probe.db"
    profile = {"seq_len": 8, "train_sequences": 100, "latency_budget_ms": 1_000, "params": 20_000}
    bad = ("tests.run.bad_models:Misbehave:behaviour=raise",)
    for attempt in range(2):
        with pytest.raises(SpecError) as e:
            recommend(profile, path, candidates=bad)
        assert "RuntimeError: boom" in str(e.value) and "nothing ran" not in str(e.value), (attempt, str(e.value))
    with Store(path) as store:
        assert store.count() == 3 and {r["status"] for r in store.rows()} == {"failed"}  # replaced, not piled up


def test_latency_is_read_at_the_deployment_threads(store_path):
    """--threads: rows timed at another thread count are another machine's speed, never borrowed; the default reads
    the claims' timing threads (what the stored suites measured)."""
    from seqarena.bench.spec import target_cores
    from seqarena.measure.system import timing_threads

    deploy = target_cores()
    if deploy == timing_threads(deploy):
        pytest.skip("one usable core: the deployment threads are the timing threads")
    with pytest.raises(SpecError, match="no forward latency measurements"):
        recommend({**LATENCY_CRITICAL, "threads": deploy}, store_path, probe=False, candidates=CANDIDATES)
    assert recommend(LATENCY_CRITICAL, store_path, probe=False, candidates=CANDIDATES).top == "transformer"
    with pytest.raises(SpecError, match="threads"):
        recommend({**LATENCY_CRITICAL, "threads": deploy + 64}, store_path, probe=False, candidates=CANDIDATES)
