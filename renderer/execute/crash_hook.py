"""A test hook, isolated: die by SIGKILL after the Nth journal commit.

The crash tests set ``RENDERER_TEST_KILL_AFTER=N`` in a child process's
environment to prove that a run killed at any commit loses nothing recorded and
never pays twice. Without the variable the hook is None and costs nothing.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping

KILL_ENV = "RENDERER_TEST_KILL_AFTER"


def kill_after_commit(env: Mapping[str, str]) -> Callable[[int], None] | None:
    raw = env.get(KILL_ENV)
    if not raw:
        return None
    n = int(raw)

    def after_commit(count: int) -> None:
        if count == n:
            os.kill(os.getpid(), signal.SIGKILL)

    return after_commit
