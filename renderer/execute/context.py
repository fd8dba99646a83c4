"""What the parts of one run share: the plan, the journal, the clients, the budget, the control.

The ``Scheduler`` builds one ``RunContext`` and hands it to each part it is made of
(``gating``, ``runner``, ``submitter``, ``settle``, ``collect``, ``tracker``); none of
them builds its own. A part that needs more of the run than this (another part) is
given it explicitly when it is made.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from renderer.execute.account import AccountGate
from renderer.execute.budget import Budget
from renderer.execute.client import ProviderClient
from renderer.execute.control import RunControl
from renderer.execute.poller import Poller
from renderer.execute.settings import ExecSettings
from renderer.execute.store import JournalStore
from renderer.manifest import Manifest
from renderer.plan.model import Plan


@dataclass(frozen=True, slots=True)
class RunOptions:
    detach: bool = False
    resubmit_unknown: bool = False
    rerun_cancelled: bool = False
    approved: Mapping[str, str] = field(default_factory=dict)  # the approvals file: instance id -> request id
    approve: tuple[str, ...] = ()  # run --approve: patterns of jobs approved as they stop (renderer.execute.approval)
    on_approve: Callable[[str, str], None] | None = None  # records what --approve let continue (instance, request id)


@dataclass(frozen=True, slots=True, eq=False)
class RunContext:
    plan: Plan
    journal: JournalStore
    clients: Mapping[str, ProviderClient]
    pollers: Mapping[str, Poller]
    settings: ExecSettings
    options: RunOptions
    budget: Budget
    control: RunControl
    previous: Manifest  # the manifest before this run (an empty one when there was none)
    folder: Path  # the campaign's folder: local input files are read from it
    rng: random.Random  # backoff jitter, upload retries
    clock: Callable[[], float]  # monotonic seconds
    account: AccountGate | None = None  # budget.account: the shared account budget (``renderer.execute.account``)
