"""Co-timing: the contenders of one comparison timed call-block by call-block in turn, in one process, so that the
machine's drift hits them alike.

Why: on this 2-core VM the speed of a fixed workload drifts by 10-15% between 0.1-0.6 s windows (block medians of an
LSTM forward, quiet machine). Two trials timed one after the other, each in its own window, carry that drift into
their ratio: the per-round s.d. of log(LSTM / transformer latency) at n = 128 was 0.10-0.13 timed in turn (0.1, 0.3
and 0.6 s windows alike: longer windows do not average it out), 0.014-0.020 timed in alternating blocks. Each
round's ratio is what a claim's interval rests on, so co-timing is what makes its verdict the same from run to run.

How: every trial of a group runs its scenario in a thread of its own (grad mode, inference mode and autocast are
per thread, so each callable runs in the thread that set them up). Set-up runs one thread at a time (memory peaks
are process-wide); a trial's :func:`seqarena.bench.scenarios.common.timing` hands its callable to the
:class:`CoTimer` and waits; once every trial is waiting, the co-timer warms each up, then runs turns: in each turn,
in a freshly shuffled order, every contender runs calls for ``min_seconds / turns`` (at least one call): each then
has ``repeats`` calls and ``min_seconds`` of timed work or more (see :meth:`CoTimer._turns`). Then each trial
finishes, one at a time. Per-call samples stay per trial: a trial's record is the same as when it is timed alone,
plus ``cotimed`` (the group's size).
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

_local = threading.local()

#: The most turns of a group: 10 turns of 10 ms slices (quick suite) took the per-round s.d. of log(LSTM /
#: transformer latency) at n = 512 from 0.058 (3 turns) to 0.019 (8 rounds each, one process per round).
MAX_TURNS = 10


def current() -> CoTimer | None:
    """The co-timer this thread's trial belongs to (None: the trial is timed alone)."""
    return getattr(_local, "cotimer", None)


class _Slot:
    """One contender: its callable, its settings, and the handshake with the co-timer's thread."""

    def __init__(self) -> None:
        self.fn: Callable[[], object] | None = None
        self.settings: dict[str, Any] = {}
        self.samples: list[float] = []
        self.parked = threading.Event()  # the trial is waiting in timing(), or has finished
        self.go = threading.Event()  # the co-timer asks for a block of calls (or releases the trial)
        self.block: int = 0  # calls to run now; 0: warm-up done / released
        self.budget: float = 0.0  # seconds of calls to run now (at least ``block`` calls)
        self.done = threading.Event()  # the block is done
        self.warming = False  # the block is warm-up: its calls are not samples
        self.last = 0.0  # the duration of its last call
        self.released = False
        self.error: BaseException | None = None


class CoTimer:
    """Times the callables that ``n`` trial threads hand it, in interleaved turns (see the module's docstring).
    ``clock(fn) -> seconds`` times one call (perf_counter on CPU, CUDA events on a GPU)."""

    def __init__(self, n: int, seed: int = 0) -> None:
        self.slots = [_Slot() for _ in range(n)]
        self.rng = random.Random(seed)
        self.order: list[int] = []  # the contenders' turns, in the order they ran (tests read it)

    @contextlib.contextmanager
    def member(self, i: int) -> Iterator[None]:
        """Run the block (a trial's scenario) as contender ``i``: its timing() call joins the group."""
        _local.cotimer, _local.slot = self, i
        try:
            yield
        finally:
            _local.cotimer = None
            self.slots[i].released = True
            self.slots[i].parked.set()  # a trial that failed before timing() no longer holds the group up

    def time(self, fn: Callable[[], object], clock: Callable[[Callable[[], object]], float], *, warmup: int,
             repeats: int, min_seconds: float) -> list[float]:
        """Called in a trial's thread by timing(): hand ``fn`` over, serve the co-timer's blocks in this thread
        until it releases the trial, and return this contender's per-call samples."""
        slot = self.slots[_local.slot]
        slot.fn, slot.settings = fn, {"warmup": warmup, "repeats": repeats, "min_seconds": min_seconds}
        slot.parked.set()
        while True:
            slot.go.wait()
            slot.go.clear()
            if slot.released:
                if slot.error is not None:
                    raise slot.error
                return slot.samples
            try:
                calls, spent = 0, 0.0
                while calls < slot.block or spent < slot.budget:
                    t = clock(fn)
                    calls += 1
                    spent += t
                    slot.last = t
                    if not slot.warming:
                        slot.samples.append(t)
            except BaseException as e:  # the trial's own thread re-raises it when released
                slot.error = e
            slot.done.set()

    def wait_parked(self, i: int) -> None:
        """Block until contender ``i`` waits in timing() or has finished (ok or failed)."""
        self.slots[i].parked.wait()

    def _serve(self, i: int, calls: int, seconds: float, warming: bool) -> None:
        slot = self.slots[i]
        slot.block, slot.budget, slot.warming = calls, seconds, warming
        slot.done.clear()
        slot.go.set()
        slot.done.wait()
        self.order.append(i)

    def run(self) -> None:
        """Time every contender waiting in timing(), in turns (the co-timer's thread; the trials' threads run the
        calls). A contender whose call raises drops out; the others go on."""
        live = [i for i, s in enumerate(self.slots) if s.fn is not None and not s.released]
        for i in live:
            self._serve(i, self.slots[i].settings["warmup"], 0.0, warming=True)
        live = [i for i in live if self.slots[i].error is None]
        if live:
            turns = self._turns(live)
            for _ in range(turns):
                order = list(live)
                self.rng.shuffle(order)
                for i in order:
                    s = self.slots[i]
                    if s.error is None:
                        self._serve(i, 1, s.settings["min_seconds"] / turns, warming=False)
            for i in live:  # rare: a contender short of its minimum seconds (calls faster than the clock's grain)
                s = self.slots[i]
                while s.error is None and sum(s.samples) < s.settings["min_seconds"]:
                    self._serve(i, 1, s.settings["min_seconds"] - sum(s.samples), warming=False)

    def _turns(self, live: list[int]) -> int:
        """As many turns as fit the minimum seconds at the slowest contender's warm call (up to :data:`MAX_TURNS`),
        and at least the trials' ``repeats``: interleaving finer costs nothing when calls are short, and a slow call
        is never repeated more often than the trial alone would."""
        slowest = max(self.slots[i].last for i in live)
        fit = int(min(self.slots[i].settings["min_seconds"] for i in live) / slowest) if slowest > 0 else MAX_TURNS
        return max(max(self.slots[i].settings["repeats"] for i in live), min(MAX_TURNS, fit), 1)

    def release(self, i: int) -> None:
        """Let contender ``i``'s trial finish: timing() returns its samples (or raises what its calls raised)."""
        slot = self.slots[i]
        if slot.fn is not None and not slot.released:
            slot.released = True
            slot.go.set()
