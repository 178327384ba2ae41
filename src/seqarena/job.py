"""The jobs behind the command line, as a Python API: the main job (claims -> recommendations -> report), the claims
suite, a benchmark sweep and one training run.

Each job validates everything it can before anything is measured (device, suite, store, output folder), holds the
store's writer lock while it measures, and reports as it goes through a :class:`Events` object (the default says
nothing; the CLI's draws a progress bar and prints tables). What a job returns is plain data the caller renders.

>>> from seqarena.job import run_job
>>> result = run_job("quick")                      # doctest: +SKIP
>>> result.report, [v.status for v in result.claims.verdicts]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena import claims, recommender, report, run
from seqarena.bench.duration import training_timeout_s
from seqarena.bench.spec import DTYPES, SCENARIOS, TrialSpec, check_device, make_trial
from seqarena.claims import Claim, ClaimsPlan, Suite, Verdict
from seqarena.errors import SpecError, TrainingFailed
from seqarena.essay import ATTN, RNN, STANDARD_PROFILES
from seqarena.models.autocast import check_autocast
from seqarena.models.compiled import check_compile
from seqarena.run import SweepSummary, TrialResult
from seqarena.run.defaults import DEFAULT_ROUNDS, DEFAULT_SEQ_LENS
from seqarena.store import DEFAULT_DB, Store, check_output_dir, load
from seqarena.tasks import Task, make_task

#: A suite by name, a dict of overrides on the quick suite, or a :class:`Suite`.
SuiteLike = str | dict[str, Any] | Suite


class Events:
    """What a job says as it goes. Every method does nothing here; subclass and override what you want to show."""

    def planned(self, suite: str, budget: list[dict[str, Any]]) -> None:
        """Before measuring claims: per claim, its trials, those still to measure and the estimated seconds."""

    def begin(self, what: str, total: int | None) -> None:
        """A sweep of ``total`` trials starts (None: unknown)."""

    def start(self, spec: TrialSpec) -> None:
        """A trial starts."""

    def done(self, spec: TrialSpec, result: TrialResult | None) -> None:
        """A trial finished (``result`` None: it was skipped)."""

    def progress(self, spec: TrialSpec, note: dict[str, float]) -> None:
        """A running training's progress, about once a second: ``step``, ``fraction`` of its budget, recent ``loss``,
        ``elapsed_s`` (and ``steps`` for a step budget)."""

    def end(self) -> None:
        """The sweep that :meth:`begin` announced is over (also after an error)."""

    def begin_phase(self, what: str, total: int | None) -> None:
        """One of several sweeps in a row starts (recommend --data: tuning, runs, cost): the last one ends first."""
        self.end()
        self.begin(what, total)

    def judged(self, result: ClaimsResult) -> None:
        """The claims' verdicts are in (the main job then recommends and writes the report)."""


@dataclasses.dataclass
class ClaimsResult:
    """The claims suite's outcome: the claims in order, a verdict for each, and what was measured."""

    suite: str
    claims: list[Claim]
    verdicts: list[Verdict]
    summary: SweepSummary
    budget: list[dict[str, Any]]
    db: Path


@dataclasses.dataclass
class ProfileAnswer:
    """The recommendation for one of the report's standard profiles (``top`` None: no candidate fits)."""

    title: str
    top: str | None
    lines: list[str]


@dataclasses.dataclass
class JobResult:
    """The main job's outcome: the verdicts, the two recommendations and the report's index file."""

    claims: ClaimsResult
    recommendations: list[ProfileAnswer]
    report: Path
    data: recommender.DataRecommendation | str | None = None  # the bundled series' recommend --data (str: why none)


def suite_with(suite: SuiteLike, *, compile: str | None = None, dtype: str = "float32",
               autocast: str | None = None, params: int | None = None) -> SuiteLike:
    """``suite`` with the command line's precision, compile settings and the timing and memory contenders' parameter
    budget (the defaults leave it as it is); a setting that cannot run here is a one-line :class:`SpecError`."""
    check_compile(compile)
    check_autocast(autocast, dtype)
    if dtype not in DTYPES:
        raise SpecError(f"unknown dtype {dtype!r}; choose from: {', '.join(DTYPES)}")
    update = {k: v for k, v in (("compile", compile), ("autocast", autocast)) if v is not None}
    update |= {"dtype": dtype} if dtype != "float32" else {}
    update |= {"params": params} if params is not None else {}
    return claims.resolve_suite(suite).model_copy(update=update) if update else suite


def plan_claims(suite: SuiteLike = "quick", only: Sequence[str] | None = None, *, device: str = "cpu",
                db: Path = DEFAULT_DB, rnn: str = RNN, attn: str = ATTN) -> tuple[ClaimsPlan, list[dict[str, Any]]]:
    """The job's one plan of the selected claims and its budget table (nothing is measured); bad input is a
    :class:`SpecError`."""
    check_device(device)
    plan = ClaimsPlan.build(suite, only, device=device, rnn=rnn, attn=attn)
    return plan, claims.budget_table(plan, db=db)


def run_claims_job(suite: SuiteLike = "quick", only: Sequence[str] | None = None, *, device: str = "cpu",
                   db: Path = DEFAULT_DB, rnn: str = RNN, attn: str = ATTN, events: Events | None = None,
                   retry_failed: bool = False) -> ClaimsResult:
    """Measure (or resume) the selected claims on this machine and judge each one; ``retry_failed`` first drops
    the selected claims' failed rows, so those trials run again (a failure stays final otherwise)."""
    events = events or Events()
    plan, budget = plan_claims(suite, only, device=device, db=db, rnn=rnn, attn=attn)  # bad input fails here
    if retry_failed:
        with Store(db) as store:
            store.retry_failed(plan.hashes())
        budget = claims.budget_table(plan, db=db)
    events.planned(plan.suite.name, budget)  # "custom": overrides on the quick suite
    with Store(db):  # before measuring: ours, writable, with room, and no other run writing it (held throughout)
        events.begin("claims", sum(r["to_measure"] for r in budget) or None)
        try:
            verdicts, summary = claims.run_claims(plan, db=str(db), on_start=events.start, on_done=events.done)
        finally:
            events.end()
    result = ClaimsResult(plan.suite.name, list(plan.claims), verdicts, summary, budget, Path(db))
    events.judged(result)
    return result


def run_job(suite: SuiteLike = "quick", device: str = "cpu", db: Path = DEFAULT_DB,
            out: Path | None = None, events: Events | None = None, *, only: Sequence[str] | None = None,
            probe: bool = True, data_demo: bool = True) -> JobResult:
    """The main job: run (or resume) the claims suite, recommend for the essay's two standard profiles, and write
    the report (``out``, default ``report/`` beside the store). Returns what the caller shows.

    ``suite`` is a suite name or a dict of overrides on the quick suite; ``only`` selects claims (default all);
    ``probe=False`` recommends from the store alone (a profile it cannot answer gets no recommendation);
    ``data_demo`` also runs ``recommend --data`` on a bundled series (:data:`DATA_DEMO`): the report leads with it."""
    check_device(device)
    claims.resolve_suite(suite)
    # before anything is measured: the store opens, is ours, writable, with room, and no other run writes it (the
    # lock is held for the whole job); the report folder can be written
    with Store(db):
        check_output_dir(out or report.default_out_dir(db), "report folder")
        judged = run_claims_job(suite, only, device=device, db=db, events=events)
        answers = [_answer(title, {**fields, "device": device}, db, probe) for title, fields in STANDARD_PROFILES]
        mine = _data_demo(db, device, events or Events()) if data_demo else None
        # the verdicts judged once, in this job: the report shows them (it judges only the claims not selected)
        index = report.build_report(db, out, suite=suite, device=device, verdicts=judged.verdicts,
                                    recommendations=[(f"{a.title}: {a.top or 'none'}", a.lines) for a in answers])
    return JobResult(judged, answers, index, mine)


#: The main job's own ``recommend --data``: a real series carried by statsmodels (weekly Mauna Loa CO2, 2,284
#: steps), the essay's RNN against the baselines, 45 s in all (two candidates need >= 72 s, which the main job's
#: 8 minutes here do not leave: the claims and the two profiles take ~7). It shows the feature on data, not a verdict
#: on CO2: with ~5 s of training per run the linear baseline is hard to beat, and the answer says so when it is not.
DATA_DEMO = {"column": "co2", "candidates": ("lstm",), "budget_s": 45.0}


def _data_demo(db: Path, device: str, events: Events) -> recommender.DataRecommendation | str:
    """The data recommendation for the main job (the report leads with it), or why there is none."""
    if device != "cpu":
        return "recommend --data measures on the CPU; skipped on " + device
    from seqarena.tasks.timeseries import dataset_file

    try:
        return recommend_on_data(dataset_file("co2"), "forecast", db=db, on_phase=events.begin_phase,
                                 on_start=events.start, on_done=events.done, **DATA_DEMO)
    except SpecError as e:  # e.g. statsmodels missing: the job goes on without it, saying why
        return str(e)
    finally:
        events.end()


def recommend_on_data(data: Path | str, task: str | None = None, *, db: Path | str = DEFAULT_DB, page: bool = True,
                      **settings: Any) -> recommender.DataRecommendation:
    """:func:`seqarena.recommender.recommend_data`, then its page (``recommend.html`` beside the picked model) and
    the store's copy (the report leads with it)."""
    rec = recommender.recommend_data(data, task, db=db, **settings)
    if page:
        rec.page = str(report.write_data_page(rec.to_dict(), Path(rec.out_dir) / "recommend.html"))
    rec.remember(db)
    return rec


def recommend(profile: Any = None, db: Path | str = DEFAULT_DB, *, data: Path | str | None = None, **fields: Any
              ) -> Any:
    """``seqarena.recommend``: for a workload (``seq_len=..., train_sequences=...``: :func:`seqarena.recommender.
    recommend`) or, with ``data=PATH``, for the user's data (:func:`recommend_on_data`; ``task``, ``column``,
    ``budget_s`` ... as keywords)."""
    if data is not None:
        if profile is not None:
            raise SpecError("give a profile or data=PATH, not both")
        return recommend_on_data(data, db=db, **fields)
    return recommender.recommend(profile, db, **fields)


def _answer(title: str, profile: dict[str, Any], db: Path, probe: bool) -> ProfileAnswer:
    try:
        rec = recommender.recommend(profile, db, probe=probe)
    except SpecError as e:  # e.g. no candidate fits: that is the answer for this profile, not a crash
        return ProfileAnswer(title, None, [str(e)])
    return ProfileAnswer(title, rec.top, rec.lines)


@dataclasses.dataclass
class BenchResult:
    """A benchmark sweep's rows (this sweep's trials only, ok and failed) and what the sweep did."""

    trials: list[TrialSpec]
    rows: pd.DataFrame
    summary: SweepSummary


def bench_job(scenario: str, models: Sequence[str], *, seq_lens: Sequence[int] | None = None,
              rounds: int | None = None, timeout_s: float = 600, db: Path = DEFAULT_DB, retry_failed: bool = False,
              events: Events | None = None, **sweep: Any) -> BenchResult:
    """A benchmark sweep of ``models`` (model strings) over ``scenario`` in isolated workers; each trial goes to the
    store as it finishes, so running the same sweep again resumes. ``sweep`` takes :func:`seqarena.run.expand`'s
    keywords (batch, params, device, dtype, ...); lengths and rounds default to the scenario's."""
    events = events or Events()
    if scenario == "train":
        raise SpecError("training runs through `seqarena train --model ... --task ...`, not bench")
    if scenario not in SCENARIOS:
        choices = ", ".join(s for s in SCENARIOS if s != "train")
        raise SpecError(f"unknown scenario {scenario!r}; choose from: {choices}")
    check_device(sweep.get("device", "cpu"))
    if sweep.get("sample_every", 0) < 0:
        raise SpecError(f"--sample-every must be >= 0, got {sweep['sample_every']}")
    if timeout_s <= 0:
        raise SpecError(f"--timeout must be > 0, got {timeout_s:g}")
    lens = list(seq_lens) if seq_lens is not None else list(DEFAULT_SEQ_LENS.get(scenario, ()))
    rounds = rounds if rounds is not None else DEFAULT_ROUNDS.get(scenario, 2)
    trials = run.expand(scenario, models, seq_lens=lens or [256], rounds=rounds, **sweep)
    hashes = [t.spec_hash() for t in trials]
    with Store(db) as store:
        if retry_failed:
            store.retry_failed(hashes)
        events.begin(scenario, len(trials))
        try:
            summary = run.run_sweep(trials, store, sweep=scenario, timeout_s=timeout_s, on_start=events.start,
                                    on_done=events.done)
        finally:
            events.end()
    rows = load(db, scenario=scenario, status=None, include_samples=True)
    return BenchResult(trials, rows[rows["spec_hash"].isin(hashes)], summary)


@dataclasses.dataclass
class TrainResult:
    """One training run: its trial, the stored metrics (curve, final metrics, baseline) and whether it was reused."""

    spec: TrialSpec
    metrics: dict[str, Any]
    reused: bool
    load: dict[str, Any] | None = None  # what other processes did meanwhile (seqarena.measure.load.LoadSample)


def prepare_task(task: str, **settings: Any) -> Task:
    """The task as the worker will build it: bad parameters or unreadable files are one line, before any worker."""
    return make_task(task, **settings)


def train_job(model: str, task: str, *, settings: dict[str, Any] | None = None, params: int = 200_000,
              layers: int = 2, db: Path = DEFAULT_DB, made: Task | None = None, events: Events | None = None,
              **trial: Any) -> TrainResult:
    """Train ``model`` on ``task`` (with task ``settings``) in an isolated worker and store the trial; ``trial``
    takes the training fields of a trial spec (budget_s, steps, lr, batch, device, seed, ...). A failed training is a
    :class:`TrainingFailed` carrying the stored reason."""
    events = events or Events()
    settings = settings or {}
    check_device(trial.get("device", "cpu"))  # before preparing data: "no CUDA here" is one line, not a dead worker
    made = made or prepare_task(task, **settings)
    # the model as the worker will build it (the task fixes vocabulary and head): a bad spec is one line here
    name, options = run.check_model(model, params, layers=layers, **made.model_fields())
    spec = make_trial(scenario="train", model=name, options=options, params=params, layers=layers, task=task,
                      task_params=settings, **trial)
    with Store(db) as store:
        events.begin(f"training {spec.label()}", 1)
        try:
            summary = run.run_sweep([spec], store, sweep="train", timeout_s=training_timeout_s(spec),
                                    on_progress=events.progress)
        finally:
            events.end()
    with Store(db, readonly=True) as store:
        row = next(store.rows(spec_hash=spec.spec_hash()))
    if row["status"] != "ok":
        raise TrainingFailed(f"training failed: {row['reason']}")
    return TrainResult(spec, row["metrics"], bool(summary.skipped), (row.get("env") or {}).get("load"))


