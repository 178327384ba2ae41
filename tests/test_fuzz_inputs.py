"""Fuzzing the command line's inputs: any input is either accepted or one clear line on stderr with exit code 2.

Each test generates a few hundred inputs for one surface (model specs, numbers, recommendation profiles, suites, data
files) and runs ``seqarena.cli.main`` in-process. Everything that would measure or train is replaced by a stub that
records the call and raises :class:`Measured`: reaching a stub means every check before measuring passed (the input
was accepted), and no trial ever runs. The examples are derandomized, so every run checks the same inputs.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from unittest import mock

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqarena.cli import main
from seqarena.models import available, get_class

FUZZ = settings(max_examples=200, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))

#: Where the CLI reaches measuring or training (called through their modules, so patched there).
MEASURING = ("seqarena.run.run_sweep", "seqarena.run.sweep.run_sweep", "seqarena.claims.run_claims",
             "seqarena.recommender.recommend", "seqarena.demo.demo_model")


class Measured(Exception):
    """Raised by the stubs: the input passed validation and would now be measured."""


def invoke(argv: list[str]) -> tuple[object, str, list[str]]:
    """Run the CLI in-process: (exit code, or "measured" when a stub was reached; stderr; stubs reached)."""
    reached: list[str] = []

    def stub(target: str):
        def measure(*args, **kwargs):
            reached.append(target)
            raise Measured(target)
        return measure

    threads = torch.get_num_threads()  # the demo sets torch's threads before measuring: keep this process's
    err = io.StringIO()
    with contextlib.ExitStack() as stack:
        for target in MEASURING:
            stack.enter_context(mock.patch(target, stub(target)))
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            main(argv)
            code: object = 0
        except SystemExit as e:
            code = e.code
        except Measured:
            code = "measured"
        finally:
            torch.set_num_threads(threads)
    return code, err.getvalue(), reached


def accepted_or_one_line(argv: list[str]) -> None:
    """The property: accepted (exit 0 or a stub reached), or exit 2 with exactly one non-empty error line."""
    code, err, reached = invoke(argv)
    if code in ("measured", 0):
        return
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"{argv}: exit {code!r}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("seqarena: error: "), f"{argv}: stderr {err!r}"
    assert "Traceback" not in err and not reached, f"{argv}: {err!r} {reached}"


# -- strategies -----------------------------------------------------------------------------------------------------

FIELDS = sorted({f for name in available() for f in get_class(name).Spec.model_fields} | {"heads", "vocab", "colour"})
VALUES = ["1", "0", "-1", "2", "3", "8", "64", "100", "100000", "99999999999999999999", "1.5", "nan", "inf",
          "-inf", "1e400", "true", "false", "none", "rope", "alibi", "sinusoidal", "spiral", "lm", "regression", "",
          " ", "lstm", "lstm+transformer", "é"]
NAMES = [*available(), "lstmm", "Transformer", "", "os:path", "seqarena.models:SpecError", "seqarena.models:LSTM",
         "no.such.module:X", "seqarena.models.base:SequenceModel", ":", "a:b:c"]

junk = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
field_item = st.tuples(st.sampled_from(FIELDS) | junk, st.sampled_from(VALUES) | junk).map(lambda kv: "=".join(kv))
model_spec = st.one_of(
    st.tuples(st.sampled_from(NAMES), st.lists(field_item, max_size=4)).map(
        lambda t: t[0] + (":" + ",".join(t[1]) if t[1] else "")),
    junk,
    st.sampled_from(["transformer:n_heads=3,d_model=64", "transformer:positions=alibi,d_ff=256",
                     "lstm,gru", "lstm,,gru", "lstm:d_model=16", "transformer:layers=100000000",
                     "transformer:d_model=100000000000", "lstm:vocab_size=99999999999999999999"]),
)

NUMBERS = ["0", "-1", "1", "2", "3", "7", "64", "1e3", "1e12", "200k", "1.5M", "3b", "nan", "inf", "-inf", "1e400",
           "10parsecs", "60s", "2m", "1h", "0s", "-5s", "nans", "infs", "1e400s", "500steps", "0steps", "1e400steps",
           "", " ", "1_000", "0x10", "1,2", "1,,2", "a,b", "100000000000", "99999999999999999999999", "1e-3", "0.5",
           "-0.0", "1/2"]
number = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(-10, 10**15).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.integers(-2, 10**12).map(str), min_size=1, max_size=3).map(",".join),
)


def _db(tmp_path: Path) -> list[str]:
    return ["--db", str(tmp_path / "fuzz.db")]


BENCH = ["bench", "forward_latency", "-m", "lstm", "--params", "20000", "--vocab-size", "32", "--seq-lens", "8"]
#: (command prefix, the options it takes numbers for); sizes a task materialises are fuzzed separately with bounds
NUMBER_OPTIONS = [
    (BENCH, ["--seq-lens", "--batch", "--params", "--layers", "--vocab-size", "--sample-every", "--rounds", "--threads",
             "--repeats", "--min-seconds", "--timeout", "--memory-cap-mb", "--seed"]),
    (["bench", "throughput", "-m", "lstm", "--params", "20000", "--seq-lens", "8"], ["--batches"]),
    (["bench", "generation", "-m", "lstm", "--params", "20000"], ["--tokens", "--prompt-len"]),
    (["train", "-m", "lstm", "--task", "copy", "--set", "n_train=32", "--set", "distance=4", "--params", "20000"],
     ["--budget", "--params", "--layers", "--batch", "--lr", "--target", "--eval-every", "--tbptt", "--threads",
      "--seed"]),
    (["recommend", "--seq-len", "50", "--train-sequences", "100", "-m", "lstm"],
     ["--seq-len", "--train-sequences", "--latency-budget-ms", "--memory-cap-mb", "--batch", "--params"]),
    (["demo", "-m", "lstm", "--params", "20000"], ["--params", "--layers", "--vocab-size", "--batch", "--seq-len",
                                                   "--tokens", "--repeats", "--threads", "--seed"]),
]
number_case = st.sampled_from(NUMBER_OPTIONS).flatmap(
    lambda c: st.tuples(st.just(c[0]), st.sampled_from(c[1]), number))


# -- the surfaces ---------------------------------------------------------------------------------------------------

@FUZZ
@given(spec=model_spec, command=st.sampled_from(["bench", "demo"]))
def test_model_specs(spec, command, tmp_path):
    if command == "bench":
        accepted_or_one_line([*BENCH, "-m", spec, *_db(tmp_path)])
    else:
        accepted_or_one_line(["demo", "-m", spec, "--params", "20000"])


@FUZZ
@given(case=number_case)
def test_numbers(case, tmp_path):
    prefix, option, value = case
    accepted_or_one_line([*prefix, option, value, *([] if prefix[0] == "demo" else _db(tmp_path))])


@FUZZ
@given(
    seq_len=number, train=number, latency=st.none() | number, cap=st.none() | number,
    scope=st.none() | st.sampled_from(["inference", "both", "everything", ""]),
    device=st.none() | st.sampled_from(["cpu", "cuda", "cuda:0", "cpu:0", "tpu", "meta", "mps", "", "cuda:-1"]),
    streaming=st.booleans(), params=st.none() | number,
    models=st.none() | st.sampled_from(["lstm,gru,transformer", "", ",", "lstmm", "transformer:n_heads=3,d_model=64",
                                        "lstm:colour=red", "os:path"]),
)
def test_recommendation_profiles(seq_len, train, latency, cap, scope, device, streaming, params, models, tmp_path):
    argv = ["recommend", "--seq-len", seq_len, "--train-sequences", train, *_db(tmp_path)]
    for option, value in (("--latency-budget-ms", latency), ("--memory-cap-mb", cap), ("--cap-scope", scope),
                          ("--device", device), ("--params", params), ("--models", models)):
        if value is not None:
            argv += [option, value]
    accepted_or_one_line(argv + (["--streaming"] if streaming else []))


SUITES = ["quick", "full", "", "Quick", "fast", "quick,full", "none"]
ONLY = ["", ",", "10", "13", "13a", "10,13", "99", "10,,13", " ", "1,2a,26", "x", "13z", "-1"]


@FUZZ
@given(
    command=st.sampled_from(["claims", "report", "run"]),
    suite=st.sampled_from(SUITES) | junk,
    only=st.none() | st.sampled_from(ONLY) | junk,
    roles=st.none() | st.tuples(st.sampled_from(["lstm", "gru", "lstmm", "", "transformer:positions=spiral"]),
                                st.sampled_from(["transformer", "lstm", "nope", "os:path"])),
    device=st.none() | st.sampled_from(["cpu", "cuda", "tpu"]),
    plan=st.booleans(),
)
def test_suites(command, suite, only, roles, device, plan, tmp_path):
    argv = [command, "--suite", suite, *_db(tmp_path), *(["--device", device] if device else [])]
    if command == "claims":
        argv += [*(["--only", only] if only is not None else []), *(["--plan"] if plan else [])]
        if roles is not None:
            argv += ["--rnn", roles[0], "--attn", roles[1]]
    accepted_or_one_line(argv)


CSV_CELLS = ["1", "2.5", "-3", "0", "nan", "NaN", "inf", "-inf", "", " ", "abc", "1e400", "1,5", '"4"', "1 2"]
csv_text = st.one_of(
    st.just(""),
    st.sampled_from(["load\n", "load", "x,load\n", "\n\n", "load\n1\n", "other\n1\n2\n"]),
    st.tuples(st.sampled_from(["load", "x,load", "load,x", "LOAD", "x"]),
              st.lists(st.sampled_from(CSV_CELLS) | st.floats().map(repr), min_size=0, max_size=5),
              st.integers(0, 300)).map(lambda t: t[0] + "\n" + "\n".join(
                  ",".join([t[1][i % len(t[1])]] * (t[0].count(",") + 1)) if t[1] else str(i) for i in range(t[2]))),
)
csv_bytes = st.one_of(csv_text.map(str.encode), st.binary(max_size=64),
                      st.sampled_from([b"\xff\xfe\x00\x01" * 50, b"load\n" + b"1\n" * 200 + b"\xff\n"]))
text_bytes = st.one_of(
    st.sampled_from([b"", b"abc", b" \n\t", b"\x00" * 2000, b"abc" * 400 + b"\xff" + b"abc" * 400,
                     b"To be, or not to be. " * 80, "ünïcödé ✓ ".encode() * 150]),
    st.binary(max_size=64),
    st.tuples(st.text(min_size=1, max_size=20), st.integers(1, 200)).map(lambda t: (t[0] * t[1]).encode()),
    st.tuples(st.binary(min_size=1, max_size=4), st.integers(0, 2000)).map(lambda t: b"x" * t[1] + t[0] + b"y" * 500),
)


@FUZZ
@given(kind=st.sampled_from(["csv", "text"]), csv=csv_bytes, text=text_bytes,
       column=st.none() | st.sampled_from(["load", "x", "", "nope"]), missing=st.integers(0, 9))
def test_data_files(kind, csv, text, column, missing, tmp_path):
    path = tmp_path / ("data.csv" if kind == "csv" else "data.txt")
    path.write_bytes(csv if kind == "csv" else text)
    file = str(tmp_path / "missing") if missing == 0 else str(path)  # sometimes a file that does not exist
    train = ["train", "-m", "lstm", "--params", "20000", "--budget", "10steps", *_db(tmp_path), "--file", file]
    if kind == "csv":
        argv = [*train, "--task", "forecast", "--lookback", "4", *(["--column", column] if column is not None else [])]
    else:
        argv = [*train, "--task", "char_lm", "--length", "16", "--set", "n_val=4", "--set", "n_test=4"]
    accepted_or_one_line(argv)


# -- the inputs found by hand and by the fuzzing above, with the message each must give -------------------------------

TRAIN = ["train", "-m", "lstm", "--task", "copy", "--params", "20000"]


def _files(tmp_path: Path) -> dict[str, str]:
    """Small bad data files: name -> path."""
    contents = {"empty.csv": b"", "header.csv": b"load\n", "inf.csv": b"load\n" + b"1\n" * 50 + b"inf\n",
                "text.csv": b"load\n1\n2\nabc\n", "nan.csv": b"load\n1\nnan\n", "bin.txt": b"abc" * 400 + b"\xff\xfe",
                "nul.txt": b"abc" * 400 + b"\x00", "short.txt": b"abc", "empty.txt": b""}
    paths = {}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        paths[name] = str(tmp_path / name)
    (tmp_path / "broken_model_module.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "syntax_model_module.py").write_text("def f(:\n")
    return paths


CASES = [
    ([*TRAIN, "--lr", "nan"], "--lr must be a finite number, got nan"),
    ([*TRAIN, "--lr", "inf"], "--lr must be a finite number, got inf"),
    ([*TRAIN, "--target", "nan"], "--target must be a finite number, got nan"),
    ([*BENCH, "--min-seconds", "nan"], "--min-seconds must be a finite number"),
    ([*BENCH, "--timeout", "inf"], "--timeout must be a finite number"),
    ([*BENCH, "--memory-cap-mb", "1e400"], "--memory-cap-mb must be a finite number, got inf"),
    (["recommend", "--seq-len", "9", "--train-sequences", "9", "--latency-budget-ms", "nan"],
     "--latency-budget-ms must be a finite number"),
    ([*BENCH, "--params", "nan"], "--params must be a finite number"),
    ([*TRAIN, "--budget", "1e400steps"], "--budget steps must be a finite number"),
    ([*TRAIN, "--budget", "infs"], "--budget must look like"),
    ([*BENCH, "-m", "transformer:n_heads=3,d_model=64"], "d_model=64 must be a multiple of 6 for n_heads=3"),
    (["train", "-m", "transformer:n_heads=3,d_model=64", "--task", "copy"], "d_model=64 must be a multiple of 6"),
    ([*BENCH, "--layers", "100000000"], "100,000,000 layers of 'lstm' need at least"),
    ([*BENCH, "-m", "transformer:d_model=100000000000"], "Storage size calculation overflowed"),
    ([*BENCH, "--seed", "-1"], "seed: must be between 0 and 2**63 - 1"),
    (["claims", "--only", ""], "--only needs at least one claim id"),
    ([*BENCH, "--threads", "100000"], "more than the"),
    ([*TRAIN, "--threads", "100000"], "more than the"),
    (["demo", "-m", "lstm", "--threads", "100000"], "more than the"),
    ([*BENCH, "--seq-lens", "100000000000"], "needs at least"),
    ([*BENCH, "--params", "1e12"], "needs at least"),
    ([*TRAIN, "--params", "1e12"], "needs at least"),
    (["recommend", "--seq-len", "100000000000", "--train-sequences", "9"], "needs at least"),
    (["train", "-m", "lstm", "--task", "forecast", "--file", "/nonexistent.csv"], "No such file or directory"),
    (["train", "-m", "lstm", "--task", "forecast", "--file", "{empty.csv}", "--column", "load"], "the file is empty"),
    (["train", "-m", "lstm", "--task", "forecast", "--file", "{header.csv}", "--column", "load"], "no rows below"),
    (["train", "-m", "lstm", "--task", "forecast", "--file", "{inf.csv}", "--column", "load"],
     "line 52, column 'load': 'inf' is not a finite number"),
    (["train", "-m", "lstm", "--task", "forecast", "--file", "{text.csv}", "--column", "load"],
     "line 4, column 'load': 'abc' is not a finite number"),
    (["train", "-m", "lstm", "--task", "forecast", "--file", "{nan.csv}", "--column", "load"], "line 3"),
    (["train", "-m", "lstm", "--task", "char_lm", "--file", "{bin.txt}"], "not UTF-8 text: byte 0xff at offset 1200"),
    (["train", "-m", "lstm", "--task", "char_lm", "--file", "{nul.txt}"], "a NUL byte at offset 1200"),
    (["train", "-m", "lstm", "--task", "char_lm", "--file", "{short.txt}"], "too short for language modelling"),
    (["train", "-m", "lstm", "--task", "char_lm", "--file", "{empty.txt}"], "is empty"),
    ([*BENCH, "-m", "broken_model_module:X"], "module 'broken_model_module' raised RuntimeError: boom at import"),
    ([*BENCH, "-m", "syntax_model_module:X"], "module 'syntax_model_module' raised SyntaxError"),
    (["bench", "generation", "-m", "transformer:causal=false"], "transformer:causal=False is not causal: it cannot "
                                                                 "generate"),
    (["bench", "generation", "-m", "linformer"], "linformer is not causal"),
]


def test_each_known_bad_input_names_its_problem(tmp_path, monkeypatch):
    files = _files(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # the import-path model modules
    for argv, needle in CASES:
        argv = [files[a.strip("{}")] if a.startswith("{") else a for a in argv]
        code, err, reached = invoke([*argv, *([] if argv[0] == "demo" else _db(tmp_path))])
        assert code == 2 and not reached, (argv, code, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("seqarena: error: ") and needle in lines[0], (argv, err)
