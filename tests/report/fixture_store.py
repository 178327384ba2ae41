"""The report tests' synthetic store, by its old name: the factory is :mod:`tests.synthetic_store` (its laws are in
:mod:`tests.synthetic_laws`). Kept so that ``tests/claims/test_golden_verdicts.py``, which pins the golden verdicts,
runs unchanged: ``ENV`` here is the factory's own dict, so pinning its CPU name pins the factory's."""

from tests.synthetic_store import ENV, add_trials, build_fixture_store

__all__ = ["ENV", "add_trials", "build_fixture_store"]
