"""Models that misbehave on purpose, loaded by import path inside spawned workers (tests.run.bad_models:Misbehave)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from seqarena.models import ModelSpec, SequenceModel


class MisbehaveSpec(ModelSpec):
    behaviour: Literal["ok", "raise", "sleep", "hog", "hog_sleep", "nan", "block", "constant", "exit"] = "ok"
    hog_mb: int = 400
    block_dir: str = ""  # "block": says it runs (a file named by its pid) and waits for a file "release" there


class Misbehave(SequenceModel):
    """A position-wise linear model that raises, exits its process, hangs, hogs memory, returns NaN, or ignores its
    input (``constant``: its logits are the same at every position, whatever the input: a model that never learns)
    when told to."""

    Spec = MisbehaveSpec

    def __init__(self, spec: MisbehaveSpec) -> None:
        super().__init__(spec)
        self.proj = nn.Linear(spec.d_model, spec.d_model)

    def mix(self, h, state):
        b = self.spec.behaviour
        if b == "raise":
            raise RuntimeError("boom")
        if b == "sleep":
            time.sleep(120)
        if b == "exit":  # the whole worker process dies (a crash in native code looks like this to the driver)
            os._exit(3)
        if b == "block":
            _block(Path(self.spec.block_dir))
        if b in ("hog", "hog_sleep"):
            hog = torch.ones(self.spec.hog_mb * 2**18)  # hog_mb MB of float32, touched
            h = h + hog[:1].sum() * 0
            if b == "hog_sleep":  # holds it: only the driver's polling can stop this before the timeout
                time.sleep(120)
        out = self.proj(h)
        if b == "constant":
            out = out * 0
        if b == "nan":
            out = out * float("nan")
        return out, None


def _ancestors(pid: int) -> list[int]:
    """pid, its parent, its parent's parent, ... (from /proc): which cluster node's raylet started this worker."""
    chain = [pid]
    while chain[-1] > 1 and len(chain) < 8:
        try:
            stat = Path(f"/proc/{chain[-1]}/stat").read_text()
        except OSError:
            break
        chain.append(int(stat.rsplit(")", 1)[1].split()[1]))
    return chain


def _block(where: Path) -> None:
    """Say "running" deterministically (a file naming this process and its ancestors), then wait for release."""
    (where / f"started-{os.getpid()}").write_text(" ".join(map(str, _ancestors(os.getpid()))))
    deadline = time.monotonic() + 120
    while not (where / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class NeverLearnsSpec(MisbehaveSpec):
    behaviour: Literal["ok", "raise", "sleep", "hog", "hog_sleep", "nan", "block", "constant"] = "constant"


class NeverLearns(Misbehave):
    """A contender whose logits ignore the input (``tests.run.bad_models:NeverLearns`` in a claim's role)."""

    Spec = NeverLearnsSpec


class DivergesSpec(MisbehaveSpec):
    behaviour: Literal["ok", "raise", "sleep", "hog", "hog_sleep", "nan", "block", "constant"] = "nan"


class Diverges(Misbehave):
    """A contender whose training loss is NaN from the first step (``tests.run.bad_models:Diverges``)."""

    Spec = DivergesSpec
