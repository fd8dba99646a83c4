"""Fixtures of the results tests; the executor's helpers (fast settings, sandbox) are shared."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "execute"))

from exec_helpers import runner, sandbox  # noqa: F401  (fixtures)
