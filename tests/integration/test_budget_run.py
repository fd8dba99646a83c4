"""The budget against real charges, across runs; plan and run agreeing; cancelled jobs; run --plan.

Real sandbox on loopback (charging a multiple of the documented prices where named),
SQLite journal on disk; exact credit figures and the charges the server saw.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from helpers.runs import (
    FAST_JSON,
    args_for,
    counters,
    env_for,
    make_sandbox,
    write_campaign,
)

from renderer import providers
from renderer.cli import main
from renderer.commands.cancel import cancel
from renderer.errors import BudgetExceeded


def images(n: int, budget: int | None = None, pricing: str = "") -> str:
    head = "version: 1\nname: stills\n"
    if budget is not None:
        head += f"budget:\n  max_credits: {budget}\n"
    head += pricing
    return head + (
        "jobs:\n  still:\n    endpoint: samsar/image/enhance\n    matrix:\n"
        f"      i: [{', '.join(map(str, range(n)))}]\n"
        "    input:\n      image_url: \"https://cdn.example.com/{{ matrix.i }}.png\"\n      resolution: 2k\n"
    )


def cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err, env)
    return code, out.getvalue(), err.getvalue()


def statuses(data: dict) -> list[str]:
    return sorted(e["status"] for e in data["jobs"].values())


# -- charges above the estimate ------------------------------------------------------------------


def test_twice_the_documented_price_stops_within_the_budget(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(6, budget=300))  # the plan: 6 x 50 = 300, within
    with make_sandbox(price_factor=2) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    # the first enhance goes alone and is charged 100: the others are held at 100 each
    assert code == 3
    assert c["accepted_total"] == 3 and c["credits_charged"] == {"samsar": 300}
    assert statuses(data) == ["completed"] * 3 + ["not_submitted"] * 3
    assert data["credits"]["charged"] == 300 and data["credits"]["spent"] == 300
    done = [e for e in data["jobs"].values() if e["status"] == "completed"]
    assert all(e["credits"]["estimate_miss"] == {"above_estimate": 50, "ratio": 2.0} for e in done)
    held = [e["error"] for e in data["jobs"].values() if e["status"] == "not_submitted"]
    assert held == [("it may cost 100 credits (its estimate 50 x 2: what image_enhance jobs were charged) and 300 are "
                     "charged or held: that would pass budget.max_credits 300")] * 3
    assert "budget: stopped within budget.max_credits 300: charged 300 credits in all" in out
    assert "held back 3 job(s) that may cost 300 credits" in out
    assert f"pass budget.max_credits 300. Ways out: raise budget.max_credits in {path}; send fewer jobs with --select" in out
    assert "above its estimate of 50; the other image_enhance jobs were held at 2x their estimate" in out


def test_a_pricing_override_below_the_real_price_stops_within_the_budget(tmp_path: Path, runner) -> None:
    pricing = "pricing:\n  samsar:\n    image_enhance:\n      2k: 10\n"
    path = write_campaign(tmp_path, images(6, budget=100, pricing=pricing))  # the plan: 6 x 10 = 60
    code, _, err = cli(["validate", str(path)], {})
    assert code == 0
    assert err == (f"{path}:8:11: warning: pricing.samsar.image_enhance.2k is 10, below the documented 50 "
                   "(docs of 2026-11-21): the plan will under-estimate what the API charges; the run holds the "
                   "budget against the real charges\n")
    code, out, err = cli(["plan", str(path), "--json"], {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)})
    assert code == 0 and json.loads(out)["credits"] == {"min": 60, "max": 60}
    assert f"{path}:8:11: warning: pricing.samsar.image_enhance.2k" in err
    assert "::warning file=camp.yaml,line=8,col=11::pricing.samsar.image_enhance.2k is 10, below the documented 50" in err
    with make_sandbox() as sb:  # the sandbox charges the documented 50
        code, _, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 3
    assert c["accepted_total"] == 2 and c["credits_charged"] == {"samsar": 100}
    assert statuses(data) == ["completed"] * 2 + ["not_submitted"] * 4


def test_without_a_budget_nothing_waits_and_misses_are_recorded(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(3))
    with make_sandbox(price_factor=2) as sb:
        code, _, data = runner(path, env_for(sb))
    assert code == 0 and data["credits"]["charged"] == 300
    assert {e["credits"]["estimate_miss"]["ratio"] for e in data["jobs"].values()} == {2.0}


# -- across runs -----------------------------------------------------------------------------------


def test_a_second_run_counts_the_charges_of_a_partly_failed_first_run(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(4, budget=300))
    faults = {"schedule": {1: "render_failure", 2: "render_failure"}}
    with make_sandbox(faults=faults) as sb:
        code, _, data = runner(path, env_for(sb))
        assert code == 1 and statuses(data) == ["completed", "completed", "failed", "failed"]
        assert data["credits"]["spent"] == 200  # the failed renders were paid too
        code, out, _ = cli(["plan", str(path), "--markdown"], env_for(sb))
        assert code == 0 and "Budget: 300 credits (within budget; earlier runs spent 200)." in out
        # 200 spent + 2 x 50 to render again passes a budget lowered to 250: nothing is sent
        with pytest.raises(BudgetExceeded, match="the plan may spend up to 100 credits, and earlier runs spent 200; "
                                                 r"--max-credits is 250\. .* raise --max-credits \(this run's "
                                                 r"limit, 250; it never goes above budget.max_credits\) or drop it\."):
            runner(path, env_for(sb), max_credits=250)
        # the same with the journal gone (another machine): the manifest remembers what was spent
        shutil.move(tmp_path / ".renderer", tmp_path / "kept")
        code, _, err = cli(["run", str(path), "--max-credits", "250", "--state-dir", str(tmp_path / ".renderer")],
                           {**env_for(sb), "RENDERER_EXEC_SETTINGS": FAST_JSON})
        assert code == 3 and "earlier runs spent 200" in err
        assert counters(sb)["accepted_total"] == 4
        shutil.rmtree(tmp_path / ".renderer")
        shutil.move(tmp_path / "kept", tmp_path / ".renderer")
        code, _, data = runner(path, env_for(sb))  # 200 + 100 fits 300
        c = counters(sb)
    assert code == 0 and statuses(data) == ["completed"] * 4
    assert c["accepted_total"] == 6 and c["credits_charged"] == {"samsar": 300}
    assert data["credits"]["charged"] == 200 and data["credits"]["spent"] == 300


def test_max_credits_lowers_the_budget_for_one_run(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(3))
    with make_sandbox() as sb:
        with pytest.raises(BudgetExceeded, match="the plan may spend up to 150 credits; --max-credits is 100"):
            runner(path, env_for(sb), max_credits=100)
        assert counters(sb)["requests_total"] == 0


# -- plan and run agree on unknown prices ------------------------------------------------------------

EC = ("version: 1\nname: ec\n{budget}jobs:\n  ec:\n    endpoint: enhancecraft/jobs\n"
      "    input: {{input_key: uploads/x/a.png, operations: [{{type: enhance, params: {{scale: 2}}}}]}}\n")
MOVIE = ("version: 1\nname: movie\n{budget}jobs:\n  movie:\n    endpoint: samsar/video/create_movie\n"
         "    input: {{prompt: A heist, image_model: FLUX1.1PRO, video_model: VEOI2V, duration: 10}}\n")


@pytest.mark.parametrize("text, job, fix", [
    (EC, "ec", "EnhanceCraft does not publish credit prices for: enhance; set pricing.enhancecraft.operations"),
    (MOVIE, "movie", ("create_movie price for video_model VEOI2V is not published; "
                      "add it under pricing.samsar_create_movie.per_second")),
])
def test_plan_and_run_agree_on_unknown_prices_under_a_budget(tmp_path: Path, text: str, job: str, fix: str) -> None:
    path = write_campaign(tmp_path, text.format(budget="budget: {max_credits: 5000}\n"))
    state = ["--state-dir", str(tmp_path / ".renderer")]
    with make_sandbox() as sb:
        env = {**env_for(sb), "RENDERER_EXEC_SETTINGS": FAST_JSON}
        code, _, err = cli(["plan", str(path)], env)
        assert code == 3
        assert f"{job}: {fix}" in err and "have no known price and the campaign sets budget.max_credits" in err
        code, _, err = cli(["run", str(path), *state], env)
        assert code == 3 and f"{job}: {fix}" in err
        assert counters(sb)["requests_total"] == 0
        # without a budget both go ahead (the sandbox charges an unknown price as 0)
        path.write_text(text.format(budget=""), encoding="utf-8")
        assert cli(["plan", str(path)], env)[0] == 0
        code, out, _ = cli(["run", str(path), *state], env)
        assert code == 0, out
        assert counters(sb)["accepted_total"] == 1


# -- cancelled jobs stay cancelled -----------------------------------------------------------------------

VIDEO = ("version: 1\nname: one-video\njobs:\n  clip:\n    endpoint: samsar/video/text_to_video\n"
         "    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}\n")


def test_cancel_then_run_does_not_resubmit_unless_asked(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, VIDEO)
    with make_sandbox(render_seconds=30) as sb:
        assert runner(path, env_for(sb), detach=True)[0] == 0
        assert cancel(**args_for(path), out=io.StringIO(), env=env_for(sb)) == 0
        manifest = json.loads(path.with_name("camp.manifest.json").read_text())
        assert manifest["jobs"]["clip"]["status"] == "cancelled"
        code, out, _ = cli(["plan", str(path), "--json"], env_for(sb))
        doc = json.loads(out)
        assert code == 0 and doc["credits"] == {"min": 0, "max": 0}
        assert [(j["action"], j["credits"]) for j in doc["jobs"]] == [("cancelled", {"min": 0, "max": 0})]
        code, _, data = runner(path, env_for(sb))
        assert code == 1 and data["jobs"]["clip"]["status"] == "cancelled"
        assert counters(sb)["accepted"]["samsar/video/text_to_video"] == 1
        # the journal alone also keeps it cancelled (a manifest elsewhere)
        code, _, data = runner(path, env_for(sb), manifest=str(tmp_path / "other.json"))
        assert data["jobs"]["clip"]["status"] == "cancelled"
        assert counters(sb)["accepted"]["samsar/video/text_to_video"] == 1
        code, _, data = runner(path, env_for(sb), detach=True, rerun_cancelled=True)
        assert code == 0 and data["jobs"]["clip"]["status"] == "pending"
        assert counters(sb)["accepted"]["samsar/video/text_to_video"] == 2


# -- the reviewed plan -----------------------------------------------------------------------------------


def test_run_plan_runs_the_reviewed_plan_and_refuses_any_change(tmp_path: Path, monkeypatch) -> None:
    path = write_campaign(tmp_path, images(2, budget=1000))
    planfile = tmp_path / "plan.json"
    state = ["--state-dir", str(tmp_path / ".renderer")]
    with make_sandbox() as sb:
        env = {**env_for(sb), "RENDERER_EXEC_SETTINGS": FAST_JSON}
        assert cli(["plan", str(path), "--out", str(planfile)], env)[0] == 0
        saved = json.loads(planfile.read_text())
        assert saved["campaign_sha256"] and saved["manifest_sha256"] is None
        assert saved["prices"]["as_of"]["samsar"] == "2026-11-21"
        assert saved["instances"]["still[i=0]"]["credits"] == {"min": 50, "max": 50}
        code, out, err = cli(["run", str(path), "--plan", str(planfile), *state], env)
        assert code == 0, out + err
        assert counters(sb)["accepted_total"] == 2

        def refused(match: str) -> None:
            before = counters(sb)["requests_total"]
            code, _, err = cli(["run", str(path), "--plan", str(planfile), *state], env)
            assert code == 1 and "no longer matches the reviewed plan; nothing was sent" in err and match in err, err
            assert counters(sb)["requests_total"] == before

        refused(f"the manifest {path.with_name('camp.manifest.json')} appeared")  # the plan was made before the run
        assert cli(["plan", str(path), "--out", str(planfile)], env)[0] == 0
        path.write_text(images(3, budget=1000), encoding="utf-8")
        refused(f"the campaign file {path} changed")
        refused("still[i=2]: not in the plan")
        path.write_text(images(2, budget=1000), encoding="utf-8")
        manifest = path.with_name("camp.manifest.json")
        manifest.write_text(manifest.read_text().replace('"charged": 50', '"charged": 51', 1))
        refused("the manifest")
        assert cli(["plan", str(path), "--out", str(planfile)], env)[0] == 0
        table = providers.price_table()
        table["samsar"]["image_enhance"]["2k"] = 55
        monkeypatch.setattr(providers, "_default_prices", lambda: table)
        refused("the built-in price tables changed (new prices under the same dates: another renderer version?)")
        refused("still[i=0]: credits 50 then, 55 now; still[i=1]: credits 50 then, 55 now")


# -- the balance ---------------------------------------------------------------------------------------------


def test_run_warns_when_the_plan_may_spend_more_than_the_balance(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(3))
    with make_sandbox(credits=120) as sb:
        code, out, _ = runner(path, env_for(sb))
        c = counters(sb)
    assert "warning: the plan may spend up to 150 samsar credits and the account has 120 left" in out
    assert out.index("warning: the plan") < out.index("note: samsar answered 402")
    assert c["requests"]["GET /v1/credits"] == 1 and c["accepted_total"] == 2
    assert code == 1


# -- over the budget with jobs an earlier run sent ---------------------------------------------------


def test_over_the_budget_a_run_still_collects_what_an_earlier_run_sent_and_sends_nothing_new(
        tmp_path: Path, runner) -> None:
    # run 1 sends 3 stills (150 held) and leaves them rendering; the 4th would pass the budget:
    # run 2 polls and settles the 3 (paid for), sends nothing new, says why and the ways out (exit 3)
    path = write_campaign(tmp_path, images(4, budget=180))
    with make_sandbox() as sb:
        code, _, first = runner(path, env_for(sb), detach=True, select=["still[i=0]", "still[i=1]", "still[i=2]"])
        assert code == 0 and statuses(first).count("pending") == 3
        with pytest.raises(BudgetExceeded):  # nothing to collect (no record of run 1): refused before anything starts
            runner(path, env_for(sb), state_dir=str(tmp_path / "elsewhere"),
                   manifest=str(tmp_path / "other.manifest.json"), max_credits=100)
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 3
    assert sorted(e["status"] for e in data["jobs"].values()) == ["completed", "completed", "completed",
                                                                  "not_submitted"]
    assert c["accepted"]["samsar/image/enhance"] == 3  # none sent twice, none new
    assert data["credits"]["charged"] == 150
    assert "nothing new is sent: over budget: the plan may spend up to 50 credits, and earlier runs spent 150" in out
