"""The shared store's schema, versioned, with forward migrations run on first use.

Everything lives in the PostgreSQL schema ``renderer`` (a database may hold other
things). ``renderer.schema_version`` lists the migrations applied. A runner that
opens the store applies the ones it lacks, in order, in one transaction under a
transaction-level advisory lock: two runners on a new database at once apply each
migration once, and the second finds the work done. A store migrated by a newer
renderer (a version this one does not know) is refused, never touched.

To add a table (account budgets, rate windows...): append ``(N + 1, "SQL")`` to
``MIGRATIONS``; never edit one that has shipped.
"""

from __future__ import annotations

from renderer.errors import StateError
from renderer.execute import pgconn
from renderer.execute.account import SCHEMA as ACCOUNT_SCHEMA

# pg_advisory_xact_lock key of a migration: a constant ("rndr" "schm")
MIGRATION_LOCK = 0x726E6472_7363686D

V1 = """
CREATE TABLE renderer.campaigns (
    id          bigserial PRIMARY KEY,
    identity    text NOT NULL UNIQUE,     -- identity.campaign_identity: its name and path in the repository
    name        text NOT NULL,
    created_at  text NOT NULL
);
CREATE TABLE renderer.meta (
    campaign_id bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    key         text NOT NULL,
    value       text NOT NULL,
    PRIMARY KEY (campaign_id, key)
);
CREATE TABLE renderer.holders (         -- who holds a campaign's run lock: written under it
    campaign_id bigint PRIMARY KEY REFERENCES renderer.campaigns ON DELETE CASCADE,
    pid         integer NOT NULL,
    hostname    text NOT NULL,
    acquired_at text NOT NULL,
    backend_pid integer NOT NULL          -- the server process of the connection that holds the lock
);
CREATE TABLE renderer.runs (            -- one row per run that took the lock
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    pid         integer NOT NULL,
    hostname    text NOT NULL,
    started_at  text NOT NULL,
    ended_at    text
);
CREATE TABLE renderer.submissions (
    id              bigserial PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    instance_id     text NOT NULL,
    endpoint        text NOT NULL,
    provider        text NOT NULL,
    input_sha256    text NOT NULL,
    generation      bigint NOT NULL,
    idempotency_key text NOT NULL,
    state           text NOT NULL,
    body            text NOT NULL,        -- the exact JSON sent
    estimate_min    double precision,     -- NULL: price unknown
    estimate_max    double precision,
    attempts        integer NOT NULL DEFAULT 0,
    request_id      text,
    session_id      text,
    http_status     integer,
    credits_charged double precision,
    result_url      text,
    result_urls     text,                 -- JSON list
    thumbnail_url   text,
    duration        double precision,
    response        text,                 -- JSON: the final status payload
    error           text,
    created_at      text NOT NULL,
    sent_at         text,
    submitted_at    text,
    finished_at     text,
    updated_at      text NOT NULL,
    UNIQUE (campaign_id, instance_id, input_sha256, generation)
);
CREATE INDEX submissions_request ON renderer.submissions (campaign_id, request_id);
CREATE TABLE renderer.uploads (
    campaign_id bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    path        text NOT NULL,
    file_sha256 text NOT NULL,
    storage_key text NOT NULL,
    response    text,
    uploaded_at text NOT NULL,
    PRIMARY KEY (campaign_id, path, file_sha256)
);
CREATE TABLE renderer.verdicts (
    campaign_id bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    instance_id text NOT NULL,
    status      text NOT NULL,
    reason      text,
    at          text NOT NULL,
    PRIMARY KEY (campaign_id, instance_id)
);
CREATE TABLE renderer.events (
    seq           bigserial PRIMARY KEY,
    campaign_id   bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    at            text NOT NULL,
    submission_id bigint,
    instance_id   text,
    kind          text NOT NULL,
    detail        text
);
CREATE INDEX events_campaign ON renderer.events (campaign_id, kind, seq);
-- A transition is one statement (one transaction); the trigger keeps the audit trail in it.
CREATE FUNCTION renderer.submission_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO renderer.events (campaign_id, at, submission_id, instance_id, kind, detail)
        VALUES (NEW.campaign_id, NEW.created_at, NEW.id, NEW.instance_id, 'intent', NEW.endpoint);
    ELSIF OLD.state IS DISTINCT FROM NEW.state OR OLD.attempts IS DISTINCT FROM NEW.attempts THEN
        INSERT INTO renderer.events (campaign_id, at, submission_id, instance_id, kind, detail)
        VALUES (NEW.campaign_id, NEW.updated_at, NEW.id, NEW.instance_id,
                CASE WHEN OLD.attempts IS DISTINCT FROM NEW.attempts THEN 'attempt ' || NEW.attempts
                     ELSE NEW.state END,
                COALESCE(NEW.error, NEW.request_id));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER submissions_events AFTER INSERT OR UPDATE ON renderer.submissions
    FOR EACH ROW EXECUTE FUNCTION renderer.submission_event();
"""

# issue 20: the API's disagreeing charge figures, and what runs learned about each pricing family
V2 = """
ALTER TABLE renderer.submissions ADD COLUMN credits_reported text;  -- JSON {"header", "body"}
CREATE TABLE renderer.families (
    campaign_id   bigint NOT NULL REFERENCES renderer.campaigns ON DELETE CASCADE,
    family        text NOT NULL,
    factor        double precision NOT NULL,   -- held at estimate x factor
    charged_at    text,                        -- submission | completion | never
    probe_seconds double precision,
    updated_at    text NOT NULL,
    PRIMARY KEY (campaign_id, family)
);
"""

# issue 24: account budgets shared by every campaign that names one (renderer.execute.account)
V3 = ACCOUNT_SCHEMA.format(t="renderer.")

# issue 24: a provider's rate window shared by every runner (renderer.execute.ratewindow)
V4 = """
CREATE TABLE renderer.rate_windows (
    scope      text PRIMARY KEY,              -- provider=base URL (never a key)
    reset_wall double precision NOT NULL,     -- X-RateLimit-Reset of the window (epoch seconds)
    lim        double precision NOT NULL,     -- X-RateLimit-Limit
    used       double precision NOT NULL,     -- requests counted in it (taken by runners, or said by the server)
    probe_at   double precision               -- when a runner sent the request that learns the next window
);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, V1), (2, V2), (3, V3), (4, V4))

_VERSION_TABLE = """
CREATE SCHEMA IF NOT EXISTS renderer;
CREATE TABLE IF NOT EXISTS renderer.schema_version (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


def applied(conn: pgconn.Connection) -> int:
    """The newest migration the store holds (0: none, a new database)."""
    row = conn.execute("SELECT to_regclass('renderer.schema_version') IS NOT NULL AS present").fetchone()
    if row is None or not row["present"]:
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM renderer.schema_version").fetchone()
    return int(row["v"]) if row is not None else 0


def migrate(conn: pgconn.Connection, label: str, migrations: tuple[tuple[int, str], ...] = MIGRATIONS) -> int:
    """Bring the store up to ``migrations``; the version it is at. Raises StateError for a newer store."""
    latest = migrations[-1][0]
    current = applied(conn)
    if current < latest:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(_VERSION_TABLE)
            current = applied(conn)  # another runner may have done it while this one waited
            for version, sql in migrations:
                if version > current:
                    conn.execute(sql)
                    conn.execute("INSERT INTO renderer.schema_version (version) VALUES (%s)", (version,))
            current = max(current, latest)
    if current > latest:
        raise StateError(f"{label}: the store's schema is at version {current}, newer than this renderer knows "
                         f"({latest}): upgrade renderer on this runner (`pip install -U renderer`); nothing was changed")
    return current
