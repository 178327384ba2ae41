"""The scenarios' names, without torch: the command line's help lists them before anything heavy loads."""

from __future__ import annotations

from typing import Literal, get_args

#: A trial's scenario.
Scenario = Literal["train_step", "forward_latency", "throughput", "generation", "memory", "train", "gradients"]
#: The valid values of :data:`Scenario`, in that order.
SCENARIOS: tuple[str, ...] = get_args(Scenario)
