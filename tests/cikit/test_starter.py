"""`renderer init` writes a campaign that validates and plans; `renderer schema` prints schemas."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from renderer import providers

from .conftest import ROOT, cli
from .test_step_summary import FAST_RUN


def test_init_writes_a_campaign_that_validates_and_plans(work: Path):
    r = cli(["init"])
    assert r.code == 0, r.err
    assert r.out == ("wrote campaign.yaml and renderer-schemas/ (the schemas editors check it against; commit both); "
                     "next: renderer plan campaign.yaml\n"
                     "added .renderer/, *.sandbox.manifest.json and *.sandbox.approvals.json to .gitignore: run state "
                     "and rehearsals stay out "
                     "of git\n")
    text = (work / "campaign.yaml").read_text()
    assert yaml.safe_load(text)["name"] == "campaign"
    assert cli(["validate", "campaign.yaml"]).code == 0
    plan = cli(["plan", "--json", "campaign.yaml"])
    assert plan.code == 0, plan.err
    doc = json.loads(plan.out)
    assert doc["campaign"] == "campaign" and len(doc["jobs"]) == 6
    assert doc["credits"]["max"] <= doc["budget"]["max_credits"]


def test_init_names_the_campaign_after_the_file_and_creates_folders(work: Path):
    r = cli(["init", "marketing/campaigns/autumn-sale.yaml"])
    assert r.code == 0, r.err
    path = work / "marketing" / "campaigns" / "autumn-sale.yaml"
    assert yaml.safe_load(path.read_text())["name"] == "autumn-sale"
    assert cli(["plan", str(path)]).code == 0


def _schema_ref(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    return re.fullmatch(r"# yaml-language-server: \$schema=(.+)", first).group(1)


def test_init_points_editors_at_a_schema_that_exists(work: Path):
    cli(["init", "deep/er/c.yaml"])
    path = work / "deep" / "er" / "c.yaml"
    ref = _schema_ref(path)
    assert ref == "../../renderer-schemas/campaign.schema.json"
    schema = (path.parent / ref).resolve()
    assert schema.is_file()
    assert json.loads(schema.read_text()) == json.loads((ROOT / "schemas" / "campaign.schema.json").read_text())
    # the campaign schema refers to the route schemas by file name: they are all beside it
    shipped = sorted(p.name for p in (ROOT / "schemas").glob("*.schema.json"))
    assert sorted(p.name for p in schema.parent.iterdir()) == shipped


def test_the_schema_reference_is_the_same_on_every_machine(work: Path, monkeypatch: pytest.MonkeyPatch):
    """Relative to the repository, never to where renderer is installed: it gets committed."""
    repo = work / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    assert cli(["init", "../campaigns/spring.yaml"]).code == 0
    path = repo / "campaigns" / "spring.yaml"
    assert _schema_ref(path) == "../renderer-schemas/campaign.schema.json"
    assert (repo / "renderer-schemas" / "campaign.schema.json").is_file()
    assert "site-packages" not in path.read_text()
    # a copy of the checkout elsewhere resolves the same reference
    copy = work / "elsewhere"
    shutil.copytree(repo, copy)
    assert ((copy / "campaigns" / _schema_ref(copy / "campaigns" / "spring.yaml")).resolve()).is_file()


def test_the_starters_comment_names_the_file_with_its_folder(work: Path):
    cli(["init", "marketing/campaigns/autumn-sale.yaml"])
    text = (work / "marketing" / "campaigns" / "autumn-sale.yaml").read_text()
    assert "`renderer validate marketing/campaigns/autumn-sale.yaml` checks it" in text
    assert "`renderer run --sandbox marketing/campaigns/autumn-sale.yaml` runs it" in text


def test_init_keeps_run_state_and_rehearsals_out_of_git_once(work: Path):
    (work / ".gitignore").write_text("node_modules/\n/.renderer")  # one of the two, without a final newline
    assert cli(["init", "a.yaml"]).out.endswith("added *.sandbox.manifest.json and *.sandbox.approvals.json to "
                                                ".gitignore: run state and rehearsals stay out of git\n")
    assert (work / ".gitignore").read_text() == ("node_modules/\n/.renderer\n# renderer: run state and rehearsals\n"
                                                 "*.sandbox.manifest.json\n*.sandbox.approvals.json\n")
    r = cli(["init", "b.yaml"])  # appended once: a second campaign changes nothing
    assert r.code == 0 and ".gitignore" not in r.out
    assert (work / ".gitignore").read_text().count("sandbox.manifest") == 1


def test_after_init_a_rehearsal_leaves_git_status_clean(work: Path):
    """The newcomer's path: init in a repository, rehearse; git sees the campaign, nothing else."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "--quiet", str(work)], check=True)
    shutil.rmtree(work / "campaigns")
    assert cli(["init", "campaigns/autumn.yaml"]).code == 0
    r = cli(["run", "--sandbox", "campaigns/autumn.yaml"], env={"RENDERER_EXEC_SETTINGS": FAST_RUN})
    assert r.code == 0, r.out + r.err
    assert (work / ".renderer").is_dir() and (work / "campaigns" / "autumn.sandbox.manifest.json").is_file()
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=work, check=True,
                            capture_output=True, text=True).stdout
    assert sorted(line[3:] for line in status.splitlines()) == [
        ".gitignore", "campaigns/autumn.yaml", *sorted(f"renderer-schemas/{p.name}" for p in (ROOT / "schemas").glob("*.json"))]


def test_init_refuses_a_folder(work: Path):
    r = cli(["init", "campaigns", "--force"])
    assert r.code == 2 and r.err.startswith("error: campaigns is a folder; name the campaign file")


def test_init_refuses_to_overwrite_without_force(work: Path):
    (work / "campaign.yaml").write_text("mine\n")
    r = cli(["init"])
    assert r.code == 2
    assert r.err == "error: campaign.yaml exists; use --force to overwrite it\n"
    assert (work / "campaign.yaml").read_text() == "mine\n"
    r = cli(["init", "--force"])
    assert r.code == 0 and "version: 1" in (work / "campaign.yaml").read_text()


def test_schema_without_an_endpoint_is_the_campaign_schema():
    r = cli(["schema"])
    assert r.code == 0
    doc = json.loads(r.out)
    Draft202012Validator.check_schema(doc)
    assert doc == json.loads((ROOT / "schemas" / "campaign.schema.json").read_text())


def test_schema_list_lists_every_endpoint():
    r = cli(["schema", "--list"])
    assert r.code == 0
    listed = [line.split()[0] for line in r.out.splitlines()]
    assert listed == sorted(providers.ROUTES)
    campaign_schema = json.loads((ROOT / "schemas" / "campaign.schema.json").read_text())
    assert set(listed) == set(campaign_schema["$defs"]["job"]["properties"]["endpoint"]["enum"])


@pytest.mark.parametrize("endpoint", sorted(providers.ROUTES))
def test_schema_of_every_endpoint_is_valid_json_schema(endpoint: str):
    r = cli(["schema", endpoint])
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    Draft202012Validator.check_schema(doc)
    assert doc["$id"] == providers.route(endpoint).schema
    # schemas refer to each other by file name (editors resolve them beside the file
    # `renderer init` points at): every file named is one renderer ships
    shipped = {p.name for p in (ROOT / "schemas").glob("*.schema.json")}
    refs = {ref.split("#")[0] for ref in re.findall(r'"\$ref": "([^"]+)"', r.out)} - {""}
    assert refs <= shipped, refs - shipped


def test_schema_of_an_alias_is_the_schema_of_the_route_it_stands_for():
    assert cli(["schema", "samsar/video/create"]).out == cli(["schema", "samsar/video/text_to_video"]).out


@pytest.mark.parametrize(("endpoint", "hint"), [
    ("samsar/video/txt_to_video", "did you mean 'samsar/video/text_to_video'? "),
    ("video/text_to_video", "did you mean 'samsar/video/text_to_video'? "),  # as validate says it
    ("nope", ""),
])
def test_unknown_endpoint_is_a_usage_error(endpoint: str, hint: str):
    r = cli(["schema", endpoint])
    assert r.code == 2 and r.out == ""
    assert r.err == f"error: unknown endpoint {endpoint!r}; {hint}`renderer schema --list` shows them\n"
