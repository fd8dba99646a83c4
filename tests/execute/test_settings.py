"""Provider settings from the campaign and the environment; tuning from RENDERER_EXEC_SETTINGS."""

from __future__ import annotations

import pytest

from renderer.errors import ConfigError
from renderer.execute.settings import settings_from_env
from renderer.execute.settings import DEFAULT_CONCURRENCY, ExecSettings, provider_settings

ENV = {"SAMSAR_API_KEY": "k1", "ENHANCECRAFT_API_KEY": "k2"}


@pytest.mark.parametrize("tier,rpm", [(None, 50), ("pro", 50), ("business", 200), ("enterprise", 10000)])
def test_enhancecraft_tiers_set_the_rate(tier, rpm) -> None:
    conf = {"enhancecraft": {"tier": tier}} if tier else {}
    assert provider_settings(conf, "enhancecraft", ENV).requests_per_minute == rpm


def test_overrides_and_defaults() -> None:
    s = provider_settings({"samsar": {"concurrency": 3, "requests_per_minute": 120, "idempotent_keys": True}}, "samsar", ENV)
    assert (s.concurrency, s.requests_per_minute, s.idempotent_keys) == (3, 120, True)
    d = provider_settings({}, "samsar", ENV)
    assert (d.concurrency, d.requests_per_minute, d.idempotent_keys) == (DEFAULT_CONCURRENCY, None, False)
    assert d.base_url == "https://api.samsar.one/v1"
    assert provider_settings({}, "enhancecraft", ENV).base_url == "https://api.enhancecraft.com"


def test_base_url_and_key_come_from_env_only() -> None:
    s = provider_settings({}, "samsar", {**ENV, "SAMSAR_BASE_URL": "http://127.0.0.1:9/v1/"})
    assert s.base_url == "http://127.0.0.1:9/v1" and s.api_key == "k1"
    with pytest.raises(ConfigError, match="ENHANCECRAFT_API_KEY"):
        provider_settings({}, "enhancecraft", {"SAMSAR_API_KEY": "k"})
    with pytest.raises(ConfigError, match="SAMSAR_BASE_URL"):
        provider_settings({}, "samsar", {**ENV, "SAMSAR_BASE_URL": "ftp://x"})


def test_sandbox_needs_no_key_and_honours_keys() -> None:
    s = provider_settings({"samsar": {"idempotent_keys": False}}, "samsar", {}, sandbox_url="http://127.0.0.1:1/v1")
    assert s.idempotent_keys is True and s.api_key and s.base_url == "http://127.0.0.1:1/v1"


def test_exec_settings_from_env_json() -> None:
    xs = settings_from_env({"RENDERER_EXEC_SETTINGS": '{"poll": {"initial": 0.1}, "seed": 3}'})
    assert xs.poll.initial == 0.1 and xs.seed == 3 and xs.poll.factor == ExecSettings().poll.factor
    with pytest.raises(ConfigError):
        settings_from_env({"RENDERER_EXEC_SETTINGS": '{"nope": 1}'})
    with pytest.raises(ConfigError):
        settings_from_env({"RENDERER_EXEC_SETTINGS": "not json"})


def test_sandbox_mode_polls_often() -> None:
    xs = ExecSettings().for_sandbox()
    assert xs.poll.initial <= xs.sandbox_render_seconds / 2
    assert xs.poll.max_interval <= 1.0
