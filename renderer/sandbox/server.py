"""Serving the sandbox: blocking for `renderer sandbox`, or in a background thread for tests and runs.

The in-process variants bind the socket first (port 0: the OS picks a free one), so
the URL is known before the server starts and early connections simply queue. The
server runs on its own event loop in a thread, which works the same from sync code
or any anyio backend, and keeps a busy test from starving it. Leaving the context stops it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Iterator

import anyio
import uvicorn
from starlette.types import ASGIApp

from renderer.errors import ConfigError
from renderer.sandbox.app import SandboxApp, build_app
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.state import SandboxState

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Sandbox:
    """A running sandbox: where it listens and what it has seen."""

    host: str
    port: int
    app: SandboxApp

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Each mounted provider's base URL on this sandbox, by provider name."""
        return {name: self.base_url + path for name, path in self.app.base_paths.items()}

    def announce(self) -> str:
        """Where to point each provider: ``<its ENV_BASE_URL>=http://...`` for every mounted one."""
        urls = self.base_urls
        return " ".join(f"{p.ENV_BASE_URL}={urls[p.NAME]}" for p in self.app.providers)

    @property
    def state(self) -> SandboxState:
        return self.app.state

    @property
    def config(self) -> SandboxConfig:
        return self.app.config


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then; without
    # it every answer waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn, stoppable from another thread without waiting for its next 0.1 s tick."""

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            try:
                await asyncio.wait_for(self._wake.wait(), 0.1)
            except asyncio.TimeoutError:
                pass

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own shutdown sleeps a fixed 0.1 s and polls at 0.1 s; tests start and
        # stop many sandboxes, so poll finely instead. Same steps otherwise.
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + (self.config.timeout_graceful_shutdown or 0)
        while (self.server_state.connections or self.server_state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        for task in list(self.server_state.tasks):
            task.cancel(msg="sandbox stopped")
        for server in self.servers:
            await server.wait_closed()

    def stop_soon(self) -> None:
        self.should_exit = True
        loop = getattr(self, "_loop", None)
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)


def _uvicorn(app: ASGIApp, *, quiet: bool) -> _Server:
    config = uvicorn.Config(
        app,
        http="h11",  # the dropped-connection faults rely on h11's transport handling
        loop="asyncio",
        lifespan="off",
        access_log=False,  # an access log is one place a key could leak; keep none
        proxy_headers=False,
        log_level="warning",
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=30,
    )
    return _Server(config)


class _Thread:
    """uvicorn on its own loop in a daemon thread, serving any ASGI app."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.sock = _bind(host, port)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.server = _uvicorn(app, quiet=True)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="renderer-sandbox", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self.sock]))
        except BaseException as exc:  # surfaced by start()
            self.error = exc

    def start(self) -> None:
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            time.sleep(0.001)  # startup only; requests would queue on the socket anyway
        if not self.server.started:
            self.sock.close()
            raise ConfigError(f"sandbox failed to start: {self.error}")

    def stop(self) -> None:
        self.server.stop_soon()
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def serving(app: ASGIApp, host: str = LOOPBACK, port: int = 0) -> Iterator[tuple[str, int]]:
    """Serve any ASGI app as the sandbox is served (used by the benchmark's baseline)."""
    runner = _Thread(app, host, port)
    runner.start()
    try:
        yield runner.host, runner.port
    finally:
        runner.stop()


@contextmanager
def running_sandbox_sync(config: SandboxConfig | None = None, host: str = LOOPBACK, port: int = 0) -> Iterator[Sandbox]:
    """``with running_sandbox_sync(cfg) as sb:`` for sync code (tests, `renderer run --sandbox`)."""
    app = build_app(config)
    try:
        with serving(app, host, port) as (bound, port_):
            yield Sandbox(bound, port_, app)
    finally:
        app.state.close()


@asynccontextmanager
async def running_sandbox(config: SandboxConfig | None = None, host: str = LOOPBACK, port: int = 0) -> AsyncIterator[Sandbox]:
    """``async with running_sandbox(cfg) as sb:`` under any anyio backend."""
    app = build_app(config)
    runner = _Thread(app, host, port)
    await anyio.to_thread.run_sync(runner.start)
    try:
        yield Sandbox(runner.host, runner.port, app)
    finally:
        with anyio.CancelScope(shield=True):  # stop even when the caller is being cancelled
            await anyio.to_thread.run_sync(runner.stop)
        app.state.close()


def serve(config: SandboxConfig | None = None, host: str = LOOPBACK, port: int = 0) -> None:
    """Serve until interrupted (Ctrl-C). Prints one line: where it listens."""
    config = config or SandboxConfig()
    sock = _bind(host, port)
    app = build_app(config)
    sandbox = Sandbox(host, sock.getsockname()[1], app)
    keys = "any non-empty bearer key" if config.api_key is None else "the configured key only"
    if config.state_dir is not None:
        keys += f"; state kept in {config.state_dir}"
    print(f"renderer sandbox: {sandbox.announce()} ({keys}; state at {sandbox.base_url}/_sandbox/state; Ctrl-C stops)",
          flush=True)
    try:
        _uvicorn(app, quiet=False).run(sockets=[sock])
    finally:
        sock.close()
        app.state.close()


def sandbox_command(host: str, port: int, config: SandboxConfig) -> int:
    """`renderer sandbox [--host H] [--port N] ...`: serve until interrupted; exit code 0."""
    try:
        serve(config, host, port)
    except KeyboardInterrupt:
        pass
    return 0
