"""Where a download may connect: public http(s) hosts only, never this machine or a private network.

A result URL is data from an API's answer, so fetching it must not let that API read
this machine or its network (SSRF). ``Policy`` says what is refused and why:

- a scheme other than ``http``/``https`` (``file://``, ``s3://``...: fsspec is for the
  *outputs folder* the user configured, never for reading a URL an API gave);
- an address that is loopback, link-local, private (RFC 1918, unique local), shared
  (100.64/10), multicast, reserved, unspecified, or otherwise not global; an IPv6
  address that embeds such an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) counts
  as the address it embeds.

``GuardedBackend`` is httpcore's network backend with the check built in: for every
connection (each redirect hop is a new request, so it passes here too) it resolves the
host name once, refuses if any address is internal, and connects to an address it
checked. A name that resolves to a public address for a check and to ``127.0.0.1`` for
the connection (DNS rebinding) cannot pass: there is no second resolution.

Exceptions are explicit: ``RENDERER_DOWNLOAD_ALLOW_HOSTS`` lists trusted host names,
addresses and networks (``media.corp.example,10.20.0.0/16``), and under ``--sandbox``
the sandbox's own origin (scheme, host and port) is allowed. Proxies from the
environment are not used for downloads: a proxy would connect where we cannot check.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Union
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from renderer.errors import ConfigError

ALLOW_ENV = "RENDERER_DOWNLOAD_ALLOW_HOSTS"
IP = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Net = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Resolver = Callable[[str, int], Awaitable[list[str]]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_KINDS = (("is_loopback", "a loopback address"), ("is_unspecified", "the unspecified address"),
          ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
          ("is_private", "a private address"), ("is_reserved", "a reserved address"))


class Refused(Exception):
    """A download this policy does not allow; the text says why (it is the ``download_error``)."""


def internal(ip: IP) -> str | None:
    """Why ``ip`` is not a public address (None: it is one)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded(ip)
        if inner is not None:
            why = internal(inner)
            return f"{why} ({inner} inside an IPv6 address)" if why else None
        if ip.is_site_local:
            return "a site-local address"
    for attr, text in _KINDS:
        if getattr(ip, attr):
            return text
    return None if ip.is_global else "not a public address"


def _embedded(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _ip(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    """What downloads may reach. The default refuses everything internal and allows nothing extra."""

    hosts: frozenset[str] = frozenset()  # trusted host names, lower case
    nets: tuple[Net, ...] = ()  # trusted addresses and networks
    origins: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # (host, port): the sandbox's

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Policy:
        """The policy ``RENDERER_DOWNLOAD_ALLOW_HOSTS`` asks for; a bad entry is a ConfigError naming it."""
        hosts: set[str] = set()
        nets: list[Net] = []
        for entry in (e.strip() for e in env.get(ALLOW_ENV, "").split(",")):
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not name or any(c in name for c in "/:@ *?#"):
                raise ConfigError(f"{ALLOW_ENV}: {entry!r} is neither a host name nor an address or network "
                                  "(write e.g. media.corp.example,10.20.0.0/16)")
            hosts.add(name)
        return cls(frozenset(hosts), tuple(nets))

    def with_origins(self, urls: Iterable[str]) -> Policy:
        """Also allow the origins of ``urls`` (the sandbox's base URLs under ``--sandbox``)."""
        extra = {o for o in (_origin(u) for u in urls) if o is not None}
        return replace(self, origins=self.origins | frozenset(extra))

    def trusted(self, host: str, port: int) -> bool:
        host = host.lower().rstrip(".")
        return host in self.hosts or (host, port) in self.origins

    def _address(self, ip: IP) -> str | None:
        if any(ip in net for net in self.nets):
            return None
        return internal(ip)

    def url_refusal(self, url: str) -> str | None:
        """Why ``url`` may not be fetched, from the URL alone (the connection is checked again)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            return f"not a valid URL ({exc})"
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            return (f"only http(s) result URLs are fetched, not {scheme}://" if scheme
                    else "only http(s) result URLs are fetched")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return "the URL names no host"
        port = port or (443 if scheme == "https" else 80)
        if self.trusted(host, port):
            return None
        if host == "localhost" or host.endswith(".localhost"):
            return f"{host} is this machine"
        ip = _ip(host)
        why = self._address(ip) if ip is not None else None
        return f"{host} is {why}" if why else None

    def addresses_refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        for text in addresses:
            ip = _ip(text)
            why = "not an IP address" if ip is None else self._address(ip)
            if why:
                return f"{host} is {why}" if text == host else f"{host} resolves to {text}, {why}"
        return None


def _origin(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (host.lower(), port) if host else None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, resolving once and connecting only to addresses ``policy`` allows."""

    def __init__(self, policy: Policy, resolve: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolve = resolve
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.AsyncNetworkStream:
        if self.policy.trusted(host, port):
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            with anyio.fail_after(timeout):
                addresses = [host] if _ip(host) is not None else await self.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout:g} s") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        why = self.policy.addresses_refusal(host, addresses) if addresses else f"{host} resolves to nothing"
        if why:
            raise Refused(why)
        error: Exception | None = None
        for address in addresses:  # every one was checked: connect to those, by address
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise Refused("a Unix socket is this machine")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a ``GuardedBackend``, without proxies from the environment.

    httpx takes no network backend of its own, so the connection pool it builds is
    replaced by one over ours (``_pool`` is what ``handle_async_request`` and
    ``aclose`` use; tests/results/test_download_safety.py fails if that changes).
    """

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        super().__init__(trust_env=False, limits=limits)
        context: ssl.SSLContext = httpx.create_ssl_context()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )
