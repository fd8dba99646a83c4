"""A third provider added through the registry's public entry: validate, plan, run --sandbox."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import toy_provider

from renderer import providers
from renderer.cli import main
from renderer.campaign import schemas

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
    toy_provider.SEEN.update(submissions=[], reads=0)
    try:
        yield
    finally:
        providers.unregister("toy")


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err, env if env is not None else {})
    return code, out.getvalue(), err.getvalue()


def test_a_registered_provider_validates_plans_and_runs(toy: None, tmp_path: Path) -> None:
    path = tmp_path / "echoes.yaml"
    path.write_text(CAMPAIGN, "utf-8")
    assert cli("validate", str(path)) == (0, "1 file(s) valid\n", "")

    code, out, err = cli("plan", "--json", str(path))
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["credits"] == {"min": 16, "max": 16}  # 2 loud x (3 + 2), 2 quiet x 3
    assert doc["requests"]["by_provider"] == {"toy": {"submissions": 4, "uploads": 0, "requests": 8}}

    state = tmp_path / ".renderer"
    code, out, err = cli("run", "--sandbox", "--state-dir", str(state), str(path), env={"RENDERER_EXEC_SETTINGS": FAST})
    assert (code, err) == (0, ""), out
    manifest = json.loads(path.with_name("echoes.sandbox.manifest.json").read_text("utf-8"))
    assert manifest["counts"] == {"completed": 4}
    assert manifest["credits"]["charged"] == 16  # the stand-in's `cost`, read by the provider
    assert manifest["jobs"]["whisper[word=world]"]["result_url"] == "https://toy.example/again-world"
    assert sorted(b["text"] for b in toy_provider.SEEN["submissions"]) == ["again-hello", "again-world", "hello", "world"]
    assert toy_provider.SEEN["reads"] >= 4


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
        assert providers.get("toy") is toy_provider
    finally:
        providers.unregister("toy")
    code, _, err = cli("validate", str(path))
    assert code == 1 and "unknown endpoint" in err  # without it, toy/echo is no endpoint


def test_a_module_that_is_not_a_provider_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "echoes.yaml"
    path.write_text(CAMPAIGN, "utf-8")
    code, _, err = cli("validate", str(path), env={"RENDERER_PROVIDERS": "json"})
    assert code == 1 and err.startswith("error: RENDERER_PROVIDERS: provider module 'json' could not be registered: "
                                        "not a provider: it lacks BALANCE, BATCH_READS, CANCEL"), err
    code, _, err = cli("validate", str(path), env={"RENDERER_PROVIDERS": "no_such_module_here"})
    assert code == 1 and "provider module 'no_such_module_here' could not be registered" in err
    assert "json" not in providers.PROVIDERS
