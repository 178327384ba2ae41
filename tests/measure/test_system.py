"""The environment fingerprint."""

from __future__ import annotations

import torch

from seqarena.measure.system import fingerprint


def test_fingerprint_records_hardware_software_and_settings():
    fp = fingerprint("cpu", torch.bfloat16, seed=7)
    assert fp["device"] == "cpu" and fp["dtype"] == "bfloat16" and fp["seed"] == 7
    assert fp["threads"] == torch.get_num_threads() and fp["torch"] == torch.__version__
    assert fp["cores"] >= 1 and fp["cpu"]
    assert fp["gpu"] is None
    if fp["git_commit"] is not None:  # running from a checkout
        assert len(fp["git_commit"]) == 40 and isinstance(fp["git_dirty"], bool)
