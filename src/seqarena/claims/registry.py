"""Every claim, in the essay's order: ids like "13a" sort as 13 then a."""

from __future__ import annotations

import re

from seqarena.claims import (
    edge,
    generation,
    latency,
    memory,
    quality_data,
    quality_lm,
    quality_lr,
    quality_tasks,
    training,
)
from seqarena.claims.base import Claim


def _order(claim: Claim) -> tuple[int, str]:
    number = re.match(r"\d+", claim.id)
    return int(number.group()) if number else 0, claim.id


CLAIMS: list[Claim] = sorted([*latency.CLAIMS, *generation.CLAIMS, *training.CLAIMS, *memory.CLAIMS, *edge.CLAIMS,
                              *quality_tasks.CLAIMS, *quality_lr.CLAIMS, *quality_data.CLAIMS, *quality_lm.CLAIMS],
                             key=_order)


def claim_by_id(claim_id: str) -> Claim:
    """The claim with this id; KeyError when there is none."""
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(claim_id)
