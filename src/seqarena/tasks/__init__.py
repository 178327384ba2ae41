"""Tasks: synthetic long-range probes, ListOps, character-level language modelling, forecasting, speech digits."""

from seqarena.tasks import listops as _listops  # noqa: F401  (registers "listops")
from seqarena.tasks import sequences as _sequences  # noqa: F401  (registers "sequences": the user's labelled data)
from seqarena.tasks import speech as _speech  # noqa: F401  (registers "speech")
from seqarena.tasks import synthetic as _synthetic  # noqa: F401  (registers copy, adding, selective_copy, mqar, order)
from seqarena.tasks import text as _text  # noqa: F401  (registers "char_lm")
from seqarena.tasks import timeseries as _timeseries  # noqa: F401  (registers "forecast")
from seqarena.tasks.base import (
    IGNORE,
    Split,
    Task,
    TaskParams,
    available_tasks,
    catalogue,
    make_task,
    register_task,
    task_class,
)

__all__ = ["IGNORE", "Split", "Task", "TaskParams", "available_tasks", "catalogue", "make_task", "register_task",
           "task_class"]
