"""Ask before paying: what a run against a paid API will send, and the question.

`renderer run` on a terminal shows what it is about to send (how many jobs, the credits
they may cost, the budget left) and asks, as ``terraform apply`` does. The command line
decides whether there is anyone to ask (a terminal on both ends, no ``--yes``) and hands
the run an ``Ask``; without one (CI, a pipe, ``--yes``) the run goes on as the reviewed
plan said. A rehearsal (``--sandbox``) costs nothing and never asks, nor does a run with
nothing left to send (it only polls what earlier runs sent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from renderer.errors import Declined
from renderer.money import BudgetCheck
from renderer.targets import describe
from renderer.text import credits as credits_text

Ask = Callable[[str], bool]  # shows the question, True when the answer is yes

QUESTION = "Send them? Only 'y' or 'yes' sends [y/N]: "


def preview(summary: BudgetCheck, targets: Mapping[str, str]) -> str:
    """What the run will send, in a few lines ending with the question."""
    cost = (credits_text(summary.new_min) if summary.new_min == summary.new_max
            else f"{credits_text(summary.new_min)}-{credits_text(summary.new_max)}")
    unknown = len(summary.unknown)
    unpriced = f" (and {unknown:,} with no known price)" if unknown else ""
    lines = [f"This run sends {summary.to_send:,} job(s) to {describe(targets)}, a paid API: they may cost "
             f"{cost} credits{unpriced}."]
    if summary.budget is not None:
        left = summary.budget - summary.spent
        lines.append(f"Budget: {credits_text(summary.budget)} credits; earlier runs spent {credits_text(summary.spent)}; "
                     f"{credits_text(left)} left, {credits_text(left - summary.new_max)} after this run at most.")
    else:
        lines.append("Budget: none set (budget.max_credits); earlier runs spent "
                     f"{credits_text(summary.spent)} credits.")
    return "\n".join(lines) + "\n" + QUESTION


def ask_before_paying(ask: Ask | None, summary: BudgetCheck, targets: Mapping[str, str], sandbox: bool) -> None:
    """Raise ``Declined`` unless the answer is yes; ask only with someone to ask and something to pay for."""
    if ask is None or sandbox or summary.to_send == 0:
        return
    if not ask(preview(summary, targets)):
        raise Declined("not run: the answer was not yes, and nothing was sent (`renderer run --yes` skips the "
                       "question; `renderer plan` shows the plan)")


def is_yes(answer: str) -> bool:
    return answer.strip().lower() in ("y", "yes")
