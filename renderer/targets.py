"""Where a job ran: its *target*, per provider, and the manifest as one target sees it.

A target is ``sandbox`` (``run --sandbox``: the local stand-in, whatever port it had)
or the base URL the provider was reached at, normalised: scheme and host in lower
case, no default port, no user info, query or fragment, no trailing slash. It never
holds a key: keys travel in headers only, and user info (``https://user:key@host``)
is dropped here.

Every manifest entry records its target, and the journal is keyed by the run's
targets (``renderer.execute.identity.journal_key``). A job is reused, adopted or polled
only on the target it ran against: ``seen_from`` gives plan and run the manifest with
the entries of other targets set aside (``Manifest.elsewhere``), so the reuse rule,
adoption and the budget's "already sent" never see them, and the plan can say why
such a job runs again.

An entry written before targets were recorded (no ``target``) is read as run against
its provider's default base URL, unless the manifest shows it came from a rehearsal:
when any such entry holds a loopback URL (the sandbox's result files), they all are
read as ``sandbox``. The safe way round: a real manifest never holds loopback URLs,
and a rehearsal's manifest always does once one job completed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from renderer import providers
from renderer.vocabulary import JobStatus

if TYPE_CHECKING:
    from renderer.campaign.campaign import Campaign
    from renderer.manifest import Manifest, ManifestEntry

SANDBOX = "sandbox"
Targets = Mapping[str, str]  # provider name -> target


def normalise(url: str) -> str:
    """A base URL as a target: ``HTTPS://Api.Example.com:443/v1/`` -> ``https://api.example.com/v1``."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # not a URL we can take apart: keep what cannot carry a key
        return text.split("@")[-1].split("?")[0].split("#")[0].rstrip("/")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host += f":{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def of_provider(name: str, env: Mapping[str, str], sandbox: bool) -> str:
    """Where a run reaches one provider: ``sandbox``, or its base URL from the environment (or default)."""
    if sandbox:
        return SANDBOX
    module = providers.get(name)
    return normalise(env.get(module.ENV_BASE_URL, "").strip() or module.DEFAULT_BASE_URL)


def for_names(names: Iterable[str], env: Mapping[str, str], sandbox: bool) -> dict[str, str]:
    return {name: of_provider(name, env, sandbox) for name in sorted(set(names))}


def for_campaign(campaign: Campaign, env: Mapping[str, str], sandbox: bool) -> dict[str, str]:
    """The target of every provider the campaign's jobs use (all of them, whatever is selected)."""
    return for_names((job.route.provider for job in campaign.jobs.values()), env, sandbox)


def key(targets: Targets) -> str:
    """The targets as one text, for keying a journal: ``sandbox``, or ``name=url`` lines."""
    if targets and all(t == SANDBOX for t in targets.values()):
        return SANDBOX
    return "\n".join(f"{name}={t}" for name, t in sorted(targets.items()))


def shown(target: str) -> str:
    """A target in a sentence: "the sandbox", or the URL."""
    return "the sandbox" if target == SANDBOX else target


def describe(targets: Targets) -> str:
    """The run's targets in a sentence: "the sandbox", a base URL, or "NAME at URL, NAME at URL"."""
    values = set(targets.values())
    if len(values) <= 1:
        return shown(next(iter(values), SANDBOX))
    return ", ".join(f"{name} at {shown(t)}" for name, t in sorted(targets.items()))


def is_loopback_url(url: object) -> bool:
    """An http(s) URL on this machine (127.0.0.0/8, ::1, localhost): where the sandbox serves."""
    if not isinstance(url, str):
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _urls(entry: ManifestEntry) -> list[object]:
    return [entry.result_url, *entry.result_urls, entry.thumbnail_url]


def recorded(manifest: Manifest) -> dict[str, str]:
    """Each entry's target: the one it records, or the reading of an older entry (module docstring)."""
    legacy = [e for e in manifest.jobs.values() if not e.target]
    rehearsal = any(is_loopback_url(u) for e in legacy for u in _urls(e))
    out: dict[str, str] = {}
    for iid, e in manifest.jobs.items():
        if e.target:
            out[iid] = e.target
        elif rehearsal:
            out[iid] = SANDBOX
        else:
            provider = _provider(e.endpoint)
            if provider is not None:
                out[iid] = normalise(providers.get(provider).DEFAULT_BASE_URL)
    return out


def _provider(endpoint: str | None) -> str | None:
    route = providers.route(endpoint) if endpoint else None
    return route.provider if route is not None else None


def seen_from(manifest: Manifest | None, targets: Targets) -> Manifest | None:
    """The manifest as a run against ``targets`` sees it: entries of another target go to
    ``elsewhere`` (with their target), the rest stay in ``jobs``. ``spent`` keeps counting them all."""
    if manifest is None:
        return None
    from renderer.manifest import Manifest

    where = recorded(manifest)
    here: dict[str, ManifestEntry] = {}
    away: dict[str, ManifestEntry] = {}
    for iid, e in manifest.jobs.items():
        provider = _provider(e.endpoint)
        target = where.get(iid)
        if provider is None or target is None or target == targets.get(provider):
            here[iid] = e
        else:
            away[iid] = replace(e, target=target)
    if not away:
        return manifest
    return Manifest(manifest.campaign, manifest.campaign_sha256, manifest.renderer_version, here,
                    _spent(manifest, where, rehearsal=key(targets) == SANDBOX), elsewhere=away,
                    families=manifest.families)


def _spent(manifest: Manifest, where: Mapping[str, str], rehearsal: bool) -> float:
    """What the campaign's budget counts as spent, seen from a real target or from the sandbox.

    The sandbox's credits are not money: a real run does not count what only the sandbox
    charged (a manifest of a rehearsal, as older versions wrote it beside the campaign)."""
    if rehearsal:
        return manifest.charged_in_all()
    real = [e for iid, e in manifest.jobs.items() if where.get(iid) != SANDBOX]
    if not real:
        return 0
    if manifest.spent is not None:
        return manifest.spent
    return sum(e.credits_charged or 0.0 for e in real)


def why_elsewhere(entry: ManifestEntry, here: str | None) -> str:
    """Why a job the manifest holds runs again: where it ran, and where this run goes."""
    where = shown(entry.target or "?")
    done = f"rendered against {where}" if entry.status == JobStatus.COMPLETED else f"{entry.status or 'sent'} against {where}"
    return done + (f"; this plan runs against {shown(here)}" if here else "")
