"""A third provider, written from docs/architecture.md alone (``toy_provider/``: one package, its
required parts, its rate tier and its stand-in), through validate, plan, run --sandbox, status
and results, with its rate tier enforced by the sandbox."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import toy_provider
from toy_provider.stand_in import SEEN

from renderer import providers
from renderer.campaign import schemas
from renderer.cli import main
from renderer.commands.run import RunRequest, run
from renderer.execute.settings import settings_from_env
from renderer.providers import defaults
from renderer.sandbox import ManualClock, SandboxConfig, running_sandbox_sync

CAMPAIGN = """\
version: 1
name: echoes
budget:
  max_credits: 20
jobs:
  shout:
    endpoint: toy/echo
    matrix:
      word: [hello, world]
    input:
      text: "{{ matrix.word }}"
      loud: true
  whisper:
    endpoint: toy/echo
    needs: [shout]
    matrix:
      word: [hello, world]
    input:
      text: "again-{{ matrix.word }}"
"""
FAST = json.dumps({"poll": {"initial": 0.01, "max_interval": 0.05}, "sandbox_render_seconds": 0.05,
                   "progress_interval": 0.5})


@pytest.fixture
def toy() -> Iterator[None]:
    providers.register(toy_provider)
    SEEN.update(submissions=[], reads=0, state=None)
    try:
        yield
    finally:
        providers.unregister("toy")


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err, env if env is not None else {})
    return code, out.getvalue(), err.getvalue()


def test_a_registered_provider_validates_plans_runs_and_reports(toy: None, tmp_path: Path) -> None:
    path = tmp_path / "echoes.yaml"
    path.write_text(CAMPAIGN, "utf-8")
    assert cli("validate", str(path)) == (0, "1 file(s) valid\n", "")

    code, out, err = cli("plan", "--json", str(path))
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["credits"] == {"min": 16, "max": 16}  # 2 loud x (3 + 2), 2 quiet x 3
    assert doc["requests"]["by_provider"]["toy"]["submissions"] == 4
    assert doc["requests"]["by_provider"]["toy"]["requests_per_minute"] == 600  # its published tier (pro)

    state = tmp_path / ".renderer"
    code, out, err = cli("run", "--sandbox", "--state-dir", str(state), str(path), env={"RENDERER_EXEC_SETTINGS": FAST})
    assert (code, err) == (0, ""), out
    manifest = json.loads(path.with_name("echoes.sandbox.manifest.json").read_text("utf-8"))
    assert manifest["counts"] == {"completed": 4}
    assert manifest["jobs"]["whisper[word=world]"]["result_url"] == "https://toy.example/again-world"
    assert sorted(b["text"] for b in SEEN["submissions"]) == ["again-hello", "again-world", "hello", "world"]
    # the sandbox mounted the plugin's stand-in behind its gateway: every request counted against its tier
    sandbox = SEEN["state"]
    limiter = sandbox.limiters["toy"]
    assert limiter.per_minute == 600
    seen = sum(n for label, n in sandbox.counters.requests.items() if label.startswith(("POST /toy/", "GET /toy/")))
    assert seen == len(SEEN["submissions"]) + SEEN["reads"] == sum(limiter.accepted_by_window.values())
    assert sandbox.counters.rate_limited == 0

    code, out, err = cli("status", "--sandbox", "--state-dir", str(state), str(path))  # the rehearsal's record
    assert code == 0 and "completed" in out, (out, err)
    code, out, err = cli("results", "--sandbox", "--json", str(path))
    assert code == 0, err
    rows = json.loads(out)["jobs"]
    assert {i: r["status"] for i, r in rows.items()} == dict.fromkeys(
        ["shout[word=hello]", "shout[word=world]", "whisper[word=hello]", "whisper[word=world]"], "completed")


def test_the_sandbox_answers_429_past_its_tier(toy: None) -> None:
    clock = ManualClock(1000.0)
    config = SandboxConfig(render_seconds=0, clock=clock, provider_settings={"toy": {"tier": "hobby"}})
    with running_sandbox_sync(config) as sb, httpx.Client(base_url=sb.base_urls["toy"]) as client:
        mine, theirs = {"Authorization": "Bearer k1"}, {"Authorization": "Bearer k2"}
        answers = [client.post("/echo", json={"text": f"t{i}"}, headers=mine) for i in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        # the gateway's headers on the plugin's own answers
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
        assert answers[0].headers["X-RateLimit-Limit"] == "3"
        over = client.post("/echo", json={"text": "t4"}, headers=mine)
        assert over.status_code == 429 and over.json() == {"error": "Rate limit exceeded: 3 requests per minute"}
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert client.post("/echo", json={"text": "other"}, headers=theirs).status_code == 200  # per key
        assert client.post("/echo", json={"text": "no key"}).status_code == 401  # the stand-in's own answer
        clock.advance(60)
        assert client.post("/echo", json={"text": "t5"}, headers=mine).status_code == 200  # a new window
        counters = sb.state.counters
        assert counters.rate_limited == 1
        assert counters.requests["POST /toy/echo"] == 7  # the refused one too
        assert len(SEEN["submissions"]) == 5  # neither the refused one nor the one without a key
        assert sb.state.snapshot()["rate_limits"]["toy"]["requests_per_minute"] == 3


def test_a_run_is_paced_by_the_tier_the_sandbox_enforces(toy: None, tmp_path: Path) -> None:
    path = tmp_path / "echoes.yaml"
    path.write_text(CAMPAIGN.replace("[hello, world]", "[a, b, c]").split("  whisper:")[0], "utf-8")
    # windows of one second (on the wall clock, as X-RateLimit-Reset counts), 3 requests each
    config = SandboxConfig(render_seconds=0.05, rate_limit_window=1.0, clock=time.time,
                           provider_settings={"toy": {"tier": "hobby"}})
    out = io.StringIO()
    code = run(RunRequest(str(path), sandbox=True, state_dir=str(tmp_path / ".renderer")), out, {}, sandbox_config=config,
               exec_settings=settings_from_env({"RENDERER_EXEC_SETTINGS": FAST}))
    assert code == 0, out.getvalue()
    sandbox = SEEN["state"]
    windows = sandbox.limiters["toy"].accepted_by_window
    requests = sum(n for label, n in sandbox.counters.requests.items() if "/toy/" in label)
    assert requests >= 6  # 3 submissions, 3 status reads at least
    assert sum(windows.values()) == requests - sandbox.counters.rate_limited
    assert max(windows.values()) <= 3 and len(windows) >= 2, sorted(windows.items())  # paced per the tier
    assert sandbox.counters.rate_limited <= 1  # the client learnt the window from the headers


def test_a_provider_needs_only_its_core(tmp_path: Path) -> None:
    core = {name: getattr(toy_provider, name) for name in providers.CORE}
    minimal = SimpleNamespace(**{**core, "NAME": "bare", "ROUTES": ()})
    full = providers.register(minimal)  # type: ignore[arg-type]
    try:
        assert full.source is minimal
        assert (full.BALANCE, full.CANCEL, full.UPLOADS, full.SANDBOX, full.RESPONSE_FIELDS) == (None,) * 5
        assert full.BATCH_READS == () and full.rate_tier({}, {}) is None
        assert full.auth_headers("k") == {"Authorization": "Bearer k"}
        assert full.credits_charged({"x-credits-charged": "5"}, {}) is None  # unreported unless it says how
        assert full.campaign_schema({}).settings == defaults.COMMON_SETTINGS
    finally:
        providers.unregister("bare")
    lacking = SimpleNamespace(**{k: v for k, v in core.items() if k != "parse_status"})
    with pytest.raises(ValueError, match="not a provider: it lacks parse_status"):
        providers.register(lacking)  # type: ignore[arg-type]


def test_its_input_schema_and_prices_are_the_campaigns(toy: None, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(CAMPAIGN.replace('text: "{{ matrix.word }}"', "text: 7"), "utf-8")
    code, _, err = cli("validate", str(path))
    assert code == 1 and f"{path}:11:13: shout[word=hello]: text must be a string, not 7" in err
    priced = tmp_path / "priced.yaml"
    priced.write_text(CAMPAIGN.replace("jobs:", "pricing:\n  toy:\n    per_request: 1\njobs:", 1), "utf-8")
    code, out, _ = cli("plan", "--json", str(priced))
    assert json.loads(out)["credits"] == {"min": 8, "max": 8}  # 2 x (1 + 2) + 2 x 1


def test_unregistering_forgets_it(tmp_path: Path) -> None:
    providers.register(toy_provider)
    providers.unregister("toy")
    assert "toy/echo" not in providers.ROUTES
    assert "toy/echo" not in schemas.load_schema(schemas.CAMPAIGN_SCHEMA)["$defs"]["job"]["properties"]["endpoint"]["enum"]
    with pytest.raises(ValueError, match="registered already"):
        providers.register(providers.get("samsar"))


def test_the_cli_registers_provider_modules_named_in_its_environment(tmp_path: Path) -> None:
    path = tmp_path / "echoes.yaml"
    path.write_text(CAMPAIGN, "utf-8")
    try:
        assert cli("validate", str(path), env={"RENDERER_PROVIDERS": "toy_provider"}) == (0, "1 file(s) valid\n", "")
        assert providers.get("toy").source is toy_provider
    finally:
        providers.unregister("toy")
    code, _, err = cli("validate", str(path))
    assert code == 1 and "unknown endpoint" in err  # without it, toy/echo is no endpoint


def test_a_module_that_is_not_a_provider_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "echoes.yaml"
    path.write_text(CAMPAIGN, "utf-8")
    code, _, err = cli("validate", str(path), env={"RENDERER_PROVIDERS": "json"})
    assert code == 1 and err.startswith("error: RENDERER_PROVIDERS: provider module 'json' could not be registered: "
                                        "not a provider: it lacks DEFAULT_BASE_URL, ENV_BASE_URL, ENV_KEY"), err
    code, _, err = cli("validate", str(path), env={"RENDERER_PROVIDERS": "no_such_module_here"})
    assert code == 1 and "provider module 'no_such_module_here' could not be registered" in err
    assert "json" not in providers.PROVIDERS


def test_run_sandbox_names_a_provider_without_a_stand_in(tmp_path: Path) -> None:
    core = {name: getattr(toy_provider, name) for name in providers.CORE}
    providers.register(SimpleNamespace(**core))  # type: ignore[arg-type]  # toy's core, no SANDBOX
    SEEN.update(submissions=[], reads=0, state=None)
    try:
        path = tmp_path / "echoes.yaml"
        path.write_text(CAMPAIGN, "utf-8")
        code, out, err = cli("run", "--sandbox", "--state-dir", str(tmp_path / "s"), str(path))
        assert code == 1 and "--sandbox: Toy has no stand-in in the sandbox" in err, (out, err)
        assert SEEN["submissions"] == []
    finally:
        providers.unregister("toy")
