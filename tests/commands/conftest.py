"""Fixtures of the commands' tests: campaign files, a fast sandbox and `run` (``tests/helpers``)."""

from helpers.campaign_files import write  # noqa: F401  (fixtures)
from helpers.runs import runner, sandbox  # noqa: F401
