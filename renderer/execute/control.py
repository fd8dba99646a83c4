"""Run-level control: why submissions stop, when every wait ends, and the notes a run prints.

``RunControl`` is the one place that says a run, or one provider in it, sends nothing
more:

- ``stop`` (the journal failed, the output was closed), ``interrupt`` (first Ctrl-C)
  and ``time_out`` (the run timeout) stop every submission and end every wait at once
  (``halted``): turns in the rate limiter, pauses between retries (``pause``), polling.
  POSTs already on the wire get ``stop_grace`` seconds (``grace``), then ``abort``
  (second Ctrl-C: at once) cancels the run's scope; a POST cut so stays ``sending`` and
  the next run settles it.
- ``stop_provider``: one provider sends nothing more (a 402, a refused key, a server
  that throttles past the cap, a circuit ``Breaker`` that opened on answers ``observe``
  fed it); what it accepted is still polled, except when it throttles.
- ``blocked(provider)``: why a submission to ``provider`` may not be sent now, if so.
- ``slow``: per provider, its ``SlowStart`` (one submission in flight until it answers
  clearly); ``observe`` feeds it the same answers as the breaker.

``notes`` collects what the run says once it ends (``outcome.report``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import anyio

from renderer.campaign.durations import format_duration
from renderer.errors import StateError
from renderer.execute.breaker import Breaker
from renderer.execute.client import Answer, ProviderClient
from renderer.execute.poller import Poller
from renderer.execute.settings import ExecSettings
from renderer.execute.slowstart import SlowStart


class RunControl:
    def __init__(self, clients: Mapping[str, ProviderClient], pollers: Mapping[str, Poller],
                 settings: ExecSettings) -> None:
        self.clients = clients
        self.pollers = pollers
        self.settings = settings
        self.stop_reason: str | None = None
        self.stopped_providers: dict[str, str] = {}
        self.breaker = Breaker(settings.breaker_threshold)
        self.slow = {name: SlowStart() for name in clients}
        self.timed_out = False  # the run timeout passed
        self.notes: list[str] = []
        self.halted = anyio.Event()  # set by ``stop``: every wait of the run ends now
        self.halt_cause = ""  # a few words for what ended the run early ("interrupted")
        self.journal_error: StateError | None = None  # the first write the journal refused
        self.scope: anyio.CancelScope | None = None  # the run's, while it runs (``abort`` cancels it)
        for name, client in clients.items():
            client.on_throttle = functools.partial(self.throttled, name)

    # -- the whole run ----------------------------------------------------------------

    def stop(self, reason: str, cause: str = "the run stopped") -> None:
        """No new submissions from now on, and no more waiting: waits for a turn, between retries
        and for renders end at once. POSTs on the wire get ``stop_grace`` seconds to be answered."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.halt_cause = cause
            self.notes.append(reason)
        for c in self.clients.values():
            c.halt(cause)
        self.halted.set()

    def stop_polling(self, why: str) -> None:
        for p in self.pollers.values():
            p.stop(why)

    def interrupt(self) -> None:
        """First Ctrl-C: stop submitting, stop waiting for renders; finish within ``stop_grace``."""
        self.stop("interrupted: no further submissions; unfinished jobs stay pending and a later run resumes them",
                  "interrupted")
        self.stop_polling("interrupted")

    def abort(self) -> None:
        """Second Ctrl-C: stop at once. In-flight POSTs become `unknown` for the next run."""
        if self.scope is not None:
            self.scope.cancel()

    @property
    def aborted(self) -> bool:
        return self.scope is not None and self.scope.cancel_called

    def time_out(self, seconds: float) -> None:
        """The run timeout: no new submissions, stop waiting; unfinished jobs stay resumable."""
        self.timed_out = True
        self.stop(f"run timeout ({format_duration(seconds)}) reached: no further submissions; "
                  "unfinished jobs stay pending and a later run resumes them", f"run timeout ({format_duration(seconds)})")
        self.stop_polling(f"run timeout ({format_duration(seconds)}) reached; left pending: run again to keep waiting")

    def journal_failed(self, exc: StateError) -> None:
        """The journal refused a write (disk full...): no new submissions, no more waiting;
        answers in flight still land (kept in memory for the manifest). Raised after the run."""
        self.journal_error = self.journal_error or exc
        self.stop(f"stopped: {exc}")
        self.stop_polling("the journal cannot record results")

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the run stops meanwhile."""
        with anyio.move_on_after(seconds):
            await self.halted.wait()

    async def grace(self) -> None:
        """Once the run stops, what is still on the wire gets ``stop_grace`` seconds, then is cut
        (a POST cut so stays `sending`: the next run settles it, never pays it twice)."""
        await self.halted.wait()
        await anyio.sleep(self.settings.stop_grace)
        self.abort()

    # -- one provider -----------------------------------------------------------------

    def blocked(self, provider: str) -> str | None:
        """Why a submission to ``provider`` may not be sent now (None: it may)."""
        return self.stop_reason or self.stopped_providers.get(provider)

    def stop_provider(self, provider: str, why: str) -> None:
        """No further submissions to ``provider`` (a 402, a refused key); noted each time."""
        self.stopped_providers.setdefault(provider, f"{why}: no further {provider} submissions")
        self.notes.append(self.stopped_providers[provider])

    def throttled(self, provider: str, why: str) -> None:
        """The provider asked for a wait past the cap: nothing more is sent to it in this run."""
        if provider not in self.stopped_providers:
            self.stopped_providers[provider] = (f"{provider} is throttled ({why}): no further {provider} requests "
                                                "in this run; unsent jobs stay not_submitted and a later run sends them")
            self.notes.append(self.stopped_providers[provider])
        self.pollers[provider].stop(f"{provider} is throttled; left pending: run again later to collect it")

    def observe(self, provider: str, answer: Answer) -> None:
        """Feed the provider's circuit breaker (an open one stops its submissions) and its slow start."""
        if answer.kind == "ambiguous" and answer.payload is None:  # no JSON: a gateway, or nothing at all
            self.slow[provider].answered(False)
            why = self.breaker.failure(provider, answer.error or "no answer")
            if why is not None and provider not in self.stopped_providers:
                self.stopped_providers[provider] = why
                self.notes.append(why)
        elif answer.kind not in ("ambiguous", "retry", "skipped"):  # the API itself answered
            self.slow[provider].answered(True)
            self.breaker.success(provider)
