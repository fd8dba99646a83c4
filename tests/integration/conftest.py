"""Fixtures of the integration tests: a fast sandbox and `run` (``helpers.runs``)."""

from helpers.runs import runner, sandbox  # noqa: F401  (fixtures)
