import pytest

from seqarena.errors import SpecError
from seqarena.run import expand, parse_models

SMALL = {"params": 50_000, "vocab_size": 32}


def test_parse_models_keeps_field_lists_together():
    assert parse_models("lstm, transformer:positions=alibi,n_heads=2,gru") == [
        "lstm", "transformer:positions=alibi,n_heads=2", "gru"]
    with pytest.raises(SpecError):
        parse_models(" , ")


def test_forward_latency_runs_batch_one_and_b_with_models_shuffled_within_each_point():
    trials = expand("forward_latency", ["lstm,gru,transformer"], seq_lens=[256, 64], batch=8, seed=3, **SMALL)
    points = [(t.seq_len, t.batch) for t in trials]
    assert points == [(64, 1)] * 3 + [(64, 8)] * 3 + [(256, 1)] * 3 + [(256, 8)] * 3
    orders = [tuple(t.model for t in trials[i : i + 3]) for i in range(0, 12, 3)]
    assert all(sorted(o) == ["gru", "lstm", "transformer"] for o in orders)
    assert len(set(orders)) > 1  # shuffled per point, not one fixed order
    again = expand("forward_latency", ["lstm,gru,transformer"], seq_lens=[256, 64], batch=8, seed=3, **SMALL)
    assert [t.spec_hash() for t in again] == [t.spec_hash() for t in trials]  # deterministic: resume works


def test_generation_expands_every_mode_and_memory_both_kinds():
    gen = expand("generation", ["lstm,transformer"], tokens=32, **SMALL)
    assert sorted((t.model, t.mode) for t in gen) == [("lstm", "state"), ("transformer", "cache"),
                                                       ("transformer", "recompute")]
    mem = expand("memory", ["lstm"], seq_lens=[64, 128], **SMALL)
    assert [(t.seq_len, t.kind) for t in mem] == [(64, "train"), (64, "infer"), (128, "train"), (128, "infer")]
    assert not any(t.risky for t in mem)  # uncapped memory trials share the worker (baseline after malloc_trim)
    capped = expand("memory", ["lstm"], seq_lens=[64], memory_cap_mb=100, **SMALL)
    assert all(t.risky for t in capped)
    assert [t.batch for t in expand("throughput", ["lstm"], seq_lens=[64], **SMALL)] == [1, 2, 4, 8, 16, 32, 64]


def test_bad_sweeps_fail_before_any_trial_runs():
    for kwargs, match in [
        ({"models": ["nope"]}, "unknown model"),
        ({"models": ["lstm:colour=red"]}, "unknown spec field"),
        ({"models": ["lstm"], "seq_lens": [0]}, ">= 1"),
        ({"models": ["lstm"], "scenario": "speed"}, "unknown scenario"),
        ({"models": ["lstm"], "params": 10}, "budget|params"),
    ]:
        args = {"scenario": "forward_latency", **SMALL, **kwargs}
        with pytest.raises(SpecError, match=match):
            expand(args.pop("scenario"), args.pop("models"), **args)


def test_rounds_interleave_contenders_and_params_sweep_width():
    trials = expand("train_step", ["lstm,gru"], seq_lens=[32], batch=2, params=[20_000, 50_000], rounds=3,
                    vocab_size=32)
    assert len(trials) == 2 * 3 * 2  # budgets x rounds x models
    # round by round (rounds lie apart in time and in worker processes), every point inside each round
    assert [t.round for t in trials] == [0] * 4 + [1] * 4 + [2] * 4
    assert [t.params for t in trials[:4]] == [20_000] * 2 + [50_000] * 2
    assert len({t.spec_hash() for t in trials}) == 12


def test_settings_a_scenario_does_not_use_do_not_change_its_identity():
    plain = expand("forward_latency", ["lstm"], seq_lens=[32], **SMALL)
    with_tokens = expand("forward_latency", ["lstm"], seq_lens=[32], tokens=99, prompt_len=3, sample_every=4,
                         **SMALL)
    assert [t.spec_hash() for t in plain] == [t.spec_hash() for t in with_tokens]
    gen = expand("generation", ["lstm"], tokens=32, **SMALL)
    assert gen[0].spec_hash() != expand("generation", ["lstm"], tokens=33, **SMALL)[0].spec_hash()


def test_the_sweep_defaults_cover_every_bench_scenario_with_the_clis_values():
    """The run layer holds the bench defaults (run/defaults.py, as on main): the values the CLI has had."""
    from seqarena import cli
    from seqarena.run.defaults import DEFAULT_ROUNDS, DEFAULT_SEQ_LENS

    assert set(DEFAULT_SEQ_LENS) == {"forward_latency", "throughput", "train_step", "memory", "generation",
                                     "gradients"}
    for scenario in DEFAULT_SEQ_LENS:  # every scenario expand() knows
        assert expand(scenario, ["lstm"], seq_lens=DEFAULT_SEQ_LENS[scenario] or (256,), **SMALL)
    clis = getattr(cli, "DEFAULT_SEQ_LENS", DEFAULT_SEQ_LENS)  # until the CLI imports ours, the values must agree
    assert {s: tuple(int(n) for n in lens.split(",") if n) if isinstance(lens, str) else tuple(lens)
            for s, lens in clis.items()} == DEFAULT_SEQ_LENS
    assert set(DEFAULT_ROUNDS) == set(DEFAULT_SEQ_LENS)
    once = {"memory", "gradients"}  # a peak is exact and the probe seeded: one round; timings interleave over two
    assert {DEFAULT_ROUNDS[s] for s in once} == {1}
    assert {DEFAULT_ROUNDS[s] for s in DEFAULT_ROUNDS if s not in once} == {2}
