"""Fixtures of the hardening tests (helpers live in ``helpers.hardening``).

Network access is cut for every test here that does not ask for it
(``allow_network``): validate and plan must not need it. Every test runs from an
empty working directory that must stay empty.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Iterator

import pytest


class _NoNetwork(Exception):
    pass


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """validate and plan never touch the network; tests that run jobs opt out."""
    if request.node.get_closest_marker("allow_network"):
        yield
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise _NoNetwork(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


@pytest.fixture(autouse=True)
def quiet_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from an empty folder: a `.renderer/` or a stray file written to the working
    directory shows up, and nothing lands in the repository."""
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    yield cwd
    assert sorted(os.listdir(cwd)) == [], f"files written to the working directory: {os.listdir(cwd)}"


@pytest.fixture
def campaign(tmp_path: Path):
    """campaign(text, name='c.yaml') -> path of a campaign file written below tmp_path."""

    def write(text: str, name: str = "c.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return write


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_network: the test runs jobs against a loopback sandbox")


