"""Models that misbehave on purpose, loaded by import path inside spawned workers (tests.run.bad_models:Misbehave)."""

from __future__ import annotations

import time
from typing import Literal

import torch
from torch import nn

from seqarena.models import ModelSpec, SequenceModel


class MisbehaveSpec(ModelSpec):
    behaviour: Literal["ok", "raise", "sleep", "hog", "hog_sleep", "nan"] = "ok"
    hog_mb: int = 400


class Misbehave(SequenceModel):
    """A position-wise linear model that raises, hangs, hogs memory or returns NaN when told to."""

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
        if b in ("hog", "hog_sleep"):
            hog = torch.ones(self.spec.hog_mb * 2**18)  # hog_mb MB of float32, touched
            h = h + hog[:1].sum() * 0
            if b == "hog_sleep":  # holds it: only the driver's polling can stop this before the timeout
                time.sleep(120)
        out = self.proj(h)
        if b == "nan":
            out = out * float("nan")
        return out, None
