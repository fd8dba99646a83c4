"""Fixtures of the executor tests (helpers live in exec_helpers.py)."""

from exec_helpers import runner, sandbox  # noqa: F401  (fixtures)
