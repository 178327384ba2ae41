"""``seqarena.models.catalogue()`` and ``seqarena.tasks.catalogue()``: the listings as an API; ``seqarena list`` and
``seqarena tasks --json`` print exactly them."""

from __future__ import annotations

import json

from seqarena.models import available, catalogue
from seqarena.tasks import available_tasks
from seqarena.tasks import catalogue as task_catalogue
from tests.conftest import run_cli


def test_the_model_catalogue_lists_every_registered_model_and_the_hf_architectures():
    cat = catalogue()
    assert set(available()) <= set(cat)
    assert cat["lstm"]["family"] == "recurrent" and cat["transformer"]["family"] == "attention"
    assert "d_model" in cat["lstm"]["fields"] and cat["lstm"]["summary"]
    assert any(name.startswith("hf:") and "status" in info for name, info in cat.items())


def test_the_command_line_listings_are_the_catalogues():
    listed = json.loads(run_cli("list", "--json").stdout)
    assert set(listed) == set(catalogue())
    tasks = json.loads(run_cli("tasks", "--json").stdout)
    assert set(tasks) == set(available_tasks()) == set(task_catalogue())
    assert tasks["forecast"]["metric"] == "mse" and "relative" in tasks["forecast"]["params"]
