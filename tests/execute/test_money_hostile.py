"""Issue 20: money safety outside the happy path, one test per row of the issue's table.

Each test runs `renderer run` against the sandbox over loopback, in a hostile mode where
the sandbox cannot otherwise behave like the failing API (charges said only at completion,
0 at submission, a header that disagrees with the body, an API that ignores
Idempotency-Key, status 404s, wrong-shaped bodies, gateway storms), and asserts what the
API side saw: charges, accepted submissions, duplicates. The bound everywhere is the
README's: what the API charged is at most ``budget.max_credits`` plus one job's overcharge
per pricing family, over all runs, and a run that ends above the budget exits 3.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from exec_helpers import FAST, counters, env_for, make_sandbox, write_campaign

from renderer.cli import main
from renderer.errors import BudgetExceeded
from renderer.manifest import load
from renderer.sandbox.faults import FaultSettings


def images(n: int, budget: int | None = None, name: str = "stills", first: int = 0) -> str:
    head = f"version: 1\nname: {name}\n"
    if budget is not None:
        head += f"budget:\n  max_credits: {budget}\n"
    return head + (
        "jobs:\n  still:\n    endpoint: samsar/image/enhance\n    matrix:\n"
        f"      i: [{', '.join(map(str, range(first, first + n)))}]\n"
        "    input:\n      image_url: \"https://cdn.example.com/{{ matrix.i }}.png\"\n      resolution: 2k\n"
    )


def teasers(n: int, budget: int) -> str:
    """Image-list videos the plan prices at `estimate.duration: 30` and the sandbox renders at 60 s."""
    urls = ", ".join(f'"https://cdn.example.com/{k}.png"' for k in range(12))  # 12 x 5 s clips
    return (f"version: 1\nname: teasers\nbudget:\n  max_credits: {budget}\njobs:\n  teaser:\n"
            "    endpoint: samsar/video/image_list_to_video\n    matrix:\n"
            f"      city: [{', '.join(f'c{k}' for k in range(n))}]\n"
            "    estimate:\n      duration: 30\n"
            f"    input:\n      image_urls: [{urls}]\n      video_model: RUNWAYML\n"
            "      prompt: \"{{ matrix.city }}\"\n")


def charged(sb) -> float:
    return counters(sb)["credits_charged"].get("samsar", 0)


def statuses(data: dict) -> list[str]:
    return sorted(e["status"] for e in data["jobs"].values())


# -- 1: the charge is said only at completion, or 0 first and the real charge later ----------------


@pytest.mark.parametrize("mode", ["charge_late", "charge_zero_then_late"])
def test_a_charge_said_only_at_completion_keeps_the_probe_until_then(tmp_path: Path, runner, mode: str) -> None:
    path = write_campaign(tmp_path, images(5, budget=260))  # the plan: 5 x 50 = 250, within
    with make_sandbox(price_factor=3, faults={"rates": {mode: 1.0}, "scope": "all"}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    # the first enhance goes alone until its status says it cost 150: the others are held at 150
    assert c["accepted_total"] == 1 and charged(sb) == 150
    assert charged(sb) <= 260 + (150 - 50)
    assert code == 3, out
    assert statuses(data) == ["completed"] + ["not_submitted"] * 4
    assert data["credits"]["spent"] == 150 and data["credits"]["families"]["image_enhance"]["factor"] == 3
    assert "held back 4 job(s) that may cost 600 credits" in out


def test_a_long_render_said_at_completion_holds_the_others_of_its_family(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, teasers(6, budget=6000))  # the plan: 6 x 900 = 5,400, within
    with make_sandbox(faults={"rates": {"charge_zero_then_late": 1.0}, "scope": "all"}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    # rendered at 60 s (1,800 credits), not 30: after the first, each is held at 1,800
    assert charged(sb) == 3 * 1800 and c["accepted_total"] == 3
    assert code == 3, out
    assert statuses(data) == ["completed"] * 3 + ["not_submitted"] * 3
    assert data["credits"]["spent"] == 5400


# -- 2: the header and the body disagree ------------------------------------------------------------


def test_a_header_that_says_0_while_the_body_says_150_counts_150(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(5, budget=260))
    with make_sandbox(price_factor=3, faults={"rates": {"charge_header_zero": 1.0}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert c["accepted_total"] == 1 and charged(sb) == 150 and code == 3, out
    (done,) = [e for e in data["jobs"].values() if e["status"] == "completed"]
    assert done["credits"]["charged"] == 150
    assert done["credits"]["reported"] == {"header": 0, "body": 150}  # both, as the API said them
    assert data["credits"]["spent"] == 150


# -- 3: the learned factor is kept, on this machine and on another ------------------------------------


@pytest.mark.parametrize("machine", ["same", "fresh"])
def test_a_learned_factor_is_used_by_the_next_run(tmp_path: Path, runner, machine: str) -> None:
    path = write_campaign(tmp_path, images(4, budget=400))  # the plan: 4 x 50 = 200
    with make_sandbox(price_factor=3) as sb:
        code, out, data = runner(path, env_for(sb))
        assert code == 3 and charged(sb) == 300, out  # the probe at 150, then one more held at 150
        assert data["credits"]["families"]["image_enhance"]["factor"] == 3
        if machine == "fresh":
            shutil.rmtree(tmp_path / ".renderer")
        with pytest.raises(BudgetExceeded, match="image_enhance jobs were charged 3x their estimate"):
            runner(path, env_for(sb))
        assert charged(sb) == 300 and counters(sb)["accepted_total"] == 2
    code, out, err = cli(["plan", str(path)])
    assert code == 3 and "image_enhance jobs were charged 3x their estimate" in err


# -- 4: charges never reported count at their hold -----------------------------------------------------


def test_charges_never_reported_count_at_their_hold_on_a_fresh_machine(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(4, budget=200))
    with make_sandbox(faults={"rates": {"charge_hidden": 1.0}, "scope": "all"}) as sb:
        code, out, data = runner(path, env_for(sb))
        assert code == 0, out
        assert charged(sb) == 200
        assert data["credits"]["charged"] == 0 and data["credits"]["held"] == 200 and data["credits"]["spent"] == 200
        for entry in data["jobs"].values():
            assert entry["credits"]["charged"] is None and entry["credits"]["held"] == 50
        shutil.rmtree(tmp_path / ".renderer")  # a fresh machine
        path.write_text(images(6, budget=200), encoding="utf-8")  # two more stills
        with pytest.raises(BudgetExceeded, match="earlier runs were charged 200"):
            runner(path, env_for(sb))
        assert charged(sb) == 200 and counters(sb)["accepted_total"] == 4


# -- 7: status hiccups are not verdicts -------------------------------------------------------------------


@pytest.mark.parametrize("faults", [
    {"read_schedule": {"2": "http_404", "3": "http_404", "4": "http_404", "5": "http_404"}},
    {"read_schedule": {"2": "bad_status"}},
    {"read_schedule": {"2": "http_502", "3": "http_500", "4": "hang"}, "hang_seconds": 5.0},
])
def test_status_hiccups_leave_one_charge_for_one_job(tmp_path: Path, runner, faults: dict) -> None:
    from hostile_helpers import settings

    path = write_campaign(tmp_path, images(1))
    with make_sandbox(faults=faults) as sb:
        code, out, data = runner(path, env_for(sb), settings(total=0.5))
        assert code == 0, out
        assert statuses(data) == ["completed"]
        code, out, data = runner(path, env_for(sb))  # and the next run reuses it
        assert code == 0 and counters(sb)["accepted_total"] == 1


def test_a_status_that_404s_until_the_job_timeout_is_left_pending_saying_so(tmp_path: Path, runner) -> None:
    from hostile_helpers import settings, with_job_timeout

    path = write_campaign(tmp_path, images(1))
    with make_sandbox(faults={"rates": {"http_404": 1.0}, "scope": "reads"}) as sb:
        code, out, data = runner(path, env_for(sb), with_job_timeout(settings(), 0.5))
        assert code == 1
        (entry,) = data["jobs"].values()
        assert entry["status"] == "pending"
        assert "job timeout" in entry["error"] and "status read(s) said nothing of the job (HTTP 404" in entry["error"]
        sb.state.set_faults(FaultSettings())  # replicated at last: the next run polls it, never sends it again
        code, out, data = runner(path, env_for(sb), FAST)
        assert code == 0 and statuses(data) == ["completed"]
        assert counters(sb)["accepted_total"] == 1


# -- 10: a gateway storm -------------------------------------------------------------------------------------


def test_a_gateway_storm_leaves_at_most_three_to_settle(tmp_path: Path, runner) -> None:
    text = images(20).replace("jobs:\n", "providers:\n  samsar: {concurrency: 8}\njobs:\n")
    path = write_campaign(tmp_path, text)
    with make_sandbox(faults={"rates": {"html_502": 1.0}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 1
    assert c["requests"]["POST /v1/image/enhance"] <= 3
    assert statuses(data).count("unknown") <= 3


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err, {})
    return code, out.getvalue(), err.getvalue()


def strict(path: Path) -> dict:
    assert load(path, required=True) is not None
    return json.loads(path.read_text("utf-8"))
