"""A provider's rate window shared through the PostgreSQL store: N runners together stay within it.

The server counts requests per account in fixed windows (``X-RateLimit-Limit`` requests
until ``X-RateLimit-Reset``); every runner alone learns the window from its answers
(``renderer.execute.limits.TokenBucket``) and would spend what remains as if it were
alone. With a shared store, one row per provider and base URL holds the window every
runner learned (``renderer.rate_windows``: its reset, its limit and the requests
counted in it), and each request takes its slot with one conditional write first::

    UPDATE rate_windows SET used = used + 1 WHERE reset_wall > now AND used + 1 <= lim

When the window is over (or none is known yet) exactly one runner sends the request that
learns the next one (``probe_at``: taken with one conditional write; another runner
may take over after ``PROBE_TIMEOUT`` if its answer never comes); the others wait
until its answer writes the new window (the server's count: limit - remaining).
Answers only ever raise the count of a window (``GREATEST``), so a late answer never
gives a slot back. A provider whose answers carry no window (its first answer says
none) is not shared: each runner keeps to its own pace. A store that fails here
leaves the runner on its own window (the bucket's).

The scope is the provider's name and base URL: never its key (no key is stored).
"""

from __future__ import annotations

from renderer.errors import StateError
from renderer.execute import pgconn, pgschema
from renderer.execute.stateurl import StateUrl

PROBE_TIMEOUT = 2.0  # seconds: a probe whose answer never came (or was never sent) lets another runner probe
RECHECK = 0.02  # seconds between looks at the store while another runner probes

GUARD = 0.1  # seconds before a reset when no slot of the window is taken: it would land in the next
_CLAIM = ("UPDATE renderer.rate_windows SET used = used + 1 WHERE scope = %s AND reset_wall > %s AND used + 1 <= lim"
          " RETURNING used")
_PROBE = ("INSERT INTO renderer.rate_windows (scope, reset_wall, lim, used, probe_at) VALUES (%s, 0, 1, 0, %s)"
          " ON CONFLICT (scope) DO UPDATE SET probe_at = excluded.probe_at"
          " WHERE renderer.rate_windows.reset_wall <= excluded.probe_at"
          " AND (renderer.rate_windows.probe_at IS NULL OR renderer.rate_windows.probe_at < renderer.rate_windows.reset_wall"
          " OR renderer.rate_windows.probe_at < excluded.probe_at - %s) RETURNING scope")
_WINDOW = "SELECT reset_wall, lim, used FROM renderer.rate_windows WHERE scope = %s"
_SEEN = ("INSERT INTO renderer.rate_windows AS w (scope, reset_wall, lim, used) VALUES (%s, %s, %s, %s)"
         " ON CONFLICT (scope) DO UPDATE SET"
         " used = CASE WHEN excluded.reset_wall > w.reset_wall THEN excluded.used"
         "             WHEN excluded.reset_wall = w.reset_wall THEN GREATEST(w.used, excluded.used) ELSE w.used END,"
         " lim = CASE WHEN excluded.reset_wall >= w.reset_wall THEN excluded.lim ELSE w.lim END,"
         " reset_wall = GREATEST(w.reset_wall, excluded.reset_wall)")


class SharedWindow:
    """One provider's window in the store, for one runner (``TokenBucket.shared``)."""

    def __init__(self, rates: "SharedRates", scope: str) -> None:
        self.rates, self.scope = rates, scope
        self.claims = 0  # slots this runner took
        self.probes = 0  # requests it sent to learn a window

    def claim(self, now: float) -> float | None:
        """0: a request may go now (its slot is taken); else seconds to wait before asking again;
        None: the store is out of reach (the runner keeps to its own window from then on)."""
        db = self.rates.conn
        try:
            with pgconn.translated(self.rates.url):
                if db.execute(_CLAIM, (self.scope, now + GUARD)).fetchone() is not None:
                    self.claims += 1
                    return 0.0
                row = db.execute(_WINDOW, (self.scope,)).fetchone()
                if row is not None and row["reset_wall"] > now:
                    return max(0.001, row["reset_wall"] - now)  # used up: until it resets
                if db.execute(_PROBE, (self.scope, now, PROBE_TIMEOUT)).fetchone() is not None:
                    self.probes += 1
                    return 0.0
        except StateError as exc:
            self.rates.lost = str(exc)
            return None
        return RECHECK  # another runner is learning the next window

    def seen(self, limit: float, remaining: float, reset: float) -> None:
        """An answer's window: the server counted ``limit - remaining`` requests in it."""
        if self.rates.lost is not None:
            return
        try:
            with pgconn.translated(self.rates.url):
                self.rates.conn.execute(_SEEN, (self.scope, reset, limit, max(0.0, limit - remaining)))
        except StateError as exc:
            self.rates.lost = str(exc)


    def no_window(self) -> None:
        """The probe's answer had no window (the provider publishes none): another runner may probe."""
        if self.rates.lost is not None:
            return
        try:
            with pgconn.translated(self.rates.url):
                self.rates.conn.execute("UPDATE renderer.rate_windows SET probe_at = NULL WHERE scope = %s"
                                        " AND reset_wall = 0", (self.scope,))
        except StateError as exc:
            self.rates.lost = str(exc)


class SharedRates:
    """The store's rate windows, on a connection of the run's own."""

    def __init__(self, url: StateUrl) -> None:
        self.url = url
        self.lost: str | None = None  # why the store stopped answering (each runner then keeps to its own window)
        self.conn = pgconn.connect(url, durable=False)  # a lost window costs at most a 429, never money
        try:
            with pgconn.translated(url, opening=True):
                pgschema.migrate(self.conn, url.label)
        except BaseException:
            self.conn.close()
            raise

    def window(self, provider: str, base_url: str) -> SharedWindow:
        return SharedWindow(self, f"{provider}={base_url}")

    def close(self) -> None:
        self.conn.close()


