"""Shared fixtures: seeded, small, fp32, CPU."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os

import pytest
import torch

from seqarena.measure.memory import freeze_imports
from seqarena.models import available, get_class
from seqarena.models.checks import SMALL, VOCAB, small_model  # noqa: F401 (the tests' shared helpers)

# the in-process scenarios take memory baselines, each after a gc.collect() that would walk torch's ~1M objects
freeze_imports()


def model_cases() -> list:
    """Every registered model with its default spec, plus each of its declared test variants."""
    cases = []
    for name in available():
        cls = get_class(name)
        for fields in ({}, *cls.test_variants):
            label = name + "".join(f"-{k}={v}" for k, v in fields.items())
            cases.append(pytest.param(name, fields, id=label))
    return cases


@pytest.fixture(scope="session")
def _session_runner():
    from seqarena.run import Runner

    runner = Runner()
    yield runner
    runner.close()


@pytest.fixture
def one_worker(_session_runner, monkeypatch):
    """Every sweep of the test runs on one Runner shared by the tests that ask for it, so their trials reuse one worker
    instead of spawning one per sweep (a spawn plus ``import torch`` costs seconds here); a failure still replaces it.
    Its sweeps run one trial at a time (``SEQARENA_SERIAL``: the executor's second lane would need a second worker).
    The worker's life cycle itself is tested in tests/run/test_sweep.py, which does not use this. Not for tests whose
    workers must see an environment the test sets (a reused worker was started before)."""
    from seqarena.run import executors

    class SharedRunner:
        def __init__(self, timeout_s: float | None = 600.0, beside: int = 0, spare_on=None) -> None:
            _session_runner.timeout_s = timeout_s

        def __enter__(self):
            return _session_runner

        def __exit__(self, *exc) -> None:
            pass

    monkeypatch.setattr(executors, "Runner", SharedRunner)
    monkeypatch.setenv("SEQARENA_SERIAL", "1")  # one shared worker cannot serve two lanes at once
    return _session_runner


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(1234)
    yield


def pytest_configure(config) -> None:
    """Trials that tests run are never flagged for the machine's load, in-process or in the CLI processes they start
    (``SEQARENA_IGNORE_LOAD`` is inherited): a test must not pass or fail with the load of a neighbour (a timing trial
    flagged under load is re-measured on the next run, which would change what a resume test counts). Set here, for
    the whole session, so module- and session-scoped fixtures that measure are covered too. The load is still
    sampled and stored."""
    os.environ["SEQARENA_IGNORE_LOAD"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"  # the HF architectures are built from config classes: nothing is downloaded


@pytest.fixture(autouse=True)
def quiet_machine(request, monkeypatch):
    """Tests of the load rule itself, marked ``real_load``, see the real rule."""
    if "real_load" in request.keywords:
        monkeypatch.delenv("SEQARENA_IGNORE_LOAD", raising=False)
    yield


@dataclasses.dataclass
class CliResult:
    """What ``seqarena ARGS`` did: the fields of ``subprocess.CompletedProcess`` that the tests read."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """``seqarena ARGS`` in this process: ``seqarena.cli.main(argv)`` with stdout and stderr captured and the exit
    code taken from its ``SystemExit``. The same code as the console entry point without a new interpreter and
    ``import torch`` (~4 s each on a 2-core machine); test_cli.py keeps one test of the real entry point."""
    from seqarena.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    code: object = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(list(args))
        except SystemExit as e:
            code = e.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): the interpreter prints it and exits 1
        stderr.write(f"{code}\n")
        code = 1
    return CliResult(code, stdout.getvalue(), stderr.getvalue())
