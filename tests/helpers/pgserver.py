"""A real PostgreSQL server for the tests: started once per session in a temporary folder, stopped at the end.

- ``initdb``/``pg_ctl`` come from ``/usr/lib/postgresql/<version>/bin`` (the newest), else from PATH.
  Without them every PostgreSQL test skips and says how to install them (``.ci/run`` does).
- PostgreSQL refuses to run as root: as root, the server runs as the system user
  ``renderer-pg`` (made with ``useradd`` when absent).
- It listens on 127.0.0.1 on a free port, with password authentication: URLs carry a
  password, as a real one does, and no output may show it.
- Each test gets its own database, copied from a template that already holds the schema
  (``pg_url``), or an empty one (``pg_empty_url``); it is dropped after the test.
- ``fsync=off``: a throwaway server; what the tests prove is that a commit is visible
  to every other connection and survives the writer's death, not the disk's.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

SERVICE_USER = "renderer-pg"
ROLE = "renderer"
PASSWORD = "pg-Pass_7d41c9e2b8"  # no output, manifest or journal may ever show it
TEMPLATE = "renderer_template"
INSTALL = ("PostgreSQL is not installed: `apt-get install -y postgresql` (Debian/Ubuntu; .ci/run does it), "
           "or put initdb and pg_ctl on PATH")


def pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@dataclass
class PgServer:
    bin: Path
    root: Path  # the temporary folder: data/, the log, the socket
    port: int
    user: str | None  # the system user the server runs as (None: this one)
    _names: Any = itertools.count(1)

    def url(self, db: str = "postgres", password: str | None = PASSWORD) -> str:
        auth = f"{ROLE}:{password}" if password is not None else ROLE
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def label(self, db: str) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{db}"

    def admin(self, db: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(self.url(db), autocommit=True)

    def create_db(self, template: str = TEMPLATE) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_db(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _as(self.user, [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), *args])


def _as(user: str | None, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    if user is not None:
        entry = pwd.getpwnam(user)
        kw.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd="/")
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120, **kw)


def _service_user() -> str | None:
    """None when not root; else the unprivileged user to run the server as (made if absent)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"running as root, and no user {SERVICE_USER!r} to run PostgreSQL as: useradd said "
                        f"{done.stderr.strip()}")
    return SERVICE_USER


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(tmp_root: Path | None = None) -> PgServer:
    """initdb in a new temporary folder, then start the server on a free loopback port."""
    folder = pg_bin()
    if folder is None:
        pytest.skip(INSTALL)
    user = _service_user()
    root = Path(tempfile.mkdtemp(prefix="renderer-pg-", dir=tmp_root))
    (root / "pw").write_text(PASSWORD + "\n")
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(root / "pw", entry.pw_uid, entry.pw_gid)
    done = _as(user, [str(folder / "initdb"), "-D", str(root / "data"), "-U", ROLE, "--pwfile", str(root / "pw"),
                      "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                      "--no-sync"])
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
    for _ in range(5):  # a port found free may be taken before the server binds it: try another
        server = PgServer(folder, root, _free_port(), user)
        options = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
        done = server.pg_ctl("start", "-w", "-t", "60", "-l", str(root / "log"), "-o", options)
        if done.returncode == 0:
            return server
    log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
    raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}{log[-2000:]}")


def stop(server: PgServer) -> None:
    server.pg_ctl("stop", "-m", "immediate", "-w")
    shutil.rmtree(server.root, ignore_errors=True)


def make_template(server: PgServer) -> None:
    """The template every test's database is copied from: the store's schema, migrated once."""
    from renderer.execute import pgschema
    from renderer.execute.stateurl import parse_url

    with server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    from renderer.execute import pgconn

    url = parse_url(server.url(TEMPLATE))
    with contextlib.closing(pgconn.connect(url)) as conn:
        pgschema.migrate(conn, url.label)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start()
    try:
        make_template(server)
        yield server
    finally:
        stop(server)


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[str]:
    """A database of its own for one test, with the store's schema: its name."""
    name = pg_server.create_db()
    try:
        yield name
    finally:
        pg_server.drop_db(name)


@pytest.fixture
def pg_url(pg_server: PgServer, pg_db: str) -> str:
    return pg_server.url(pg_db)


@pytest.fixture
def pg_empty_url(pg_server: PgServer) -> Iterator[str]:
    """A database with nothing in it: the store's first use migrates it."""
    name = pg_server.create_db("template0")
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_db(name)
