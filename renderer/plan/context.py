"""What templates see besides their campaign's data: the `needs` namespace of an instance,
and the outputs of an upstream instance that has not run yet.

Its own module so that the template compiler (``templates.py``) and the Jinja side
(``jinja_env.py``, which words what is missing from them) both read it, neither
importing the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer.plan.bounds import Namespace
from renderer.vocabulary import OUTPUT_FIELDS, Pending


class Needs(Namespace):
    """The `needs` namespace of one instance: upstream job name -> its outputs."""

    __slots__ = ("jobs",)

    def __init__(self, outputs: Mapping[str, Any], jobs: frozenset[str] = frozenset()) -> None:
        super().__init__(outputs)
        self.jobs = jobs  # every job of the campaign, to tell a missing `needs:` from a typo

    def missing(self, name: object) -> str:
        listed = ", ".join(self) or "none"
        if name in self.jobs:
            return f"needs.{name}: this job does not wait for {name!r}; add `needs: [{name}]` to it (it needs: {listed})"
        return f"needs.{name}: there is no job {name!r} (this job needs: {listed})"


class PendingOutputs:
    """``needs.<job>`` before that upstream instance has run: each output a ``Pending``,
    made when a template reads it (a chained plan of 100,000 instances made 900,000 of
    them ahead, and read one or two per instance)."""

    __slots__ = ("_instance",)

    def __init__(self, instance: str) -> None:
        self._instance = instance

    def __getattr__(self, name: str) -> Any:  # what is not an attribute: the outputs
        if name in OUTPUT_FIELDS:
            return Pending(self._instance, name)
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:  # needs.x['result_url'] works too
        if key in OUTPUT_FIELDS:
            return Pending(self._instance, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return f"<outputs of {self._instance}, pending>"
