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
import math
import shutil
from pathlib import Path

import pytest
from helpers.runs import FAST, counters, env_for, make_sandbox, start_run, until, write_campaign

from renderer.cli import main
from renderer.errors import BudgetExceeded
from renderer import manifest as M
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
        with pytest.raises(BudgetExceeded, match="earlier runs spent 200"):
            runner(path, env_for(sb))
        assert charged(sb) == 200 and counters(sb)["accepted_total"] == 4


# -- 7: status hiccups are not verdicts -------------------------------------------------------------------


@pytest.mark.parametrize("faults", [
    {"read_schedule": {"2": "http_404", "3": "http_404", "4": "http_404", "5": "http_404"}},
    {"read_schedule": {"2": "bad_status"}},
    {"read_schedule": {"2": "http_502", "3": "http_500", "4": "hang"}, "hang_seconds": 5.0},
])
def test_status_hiccups_leave_one_charge_for_one_job(tmp_path: Path, runner, faults: dict) -> None:
    from helpers.hostile import settings

    path = write_campaign(tmp_path, images(1))
    with make_sandbox(faults=faults) as sb:
        code, out, data = runner(path, env_for(sb), settings(total=0.5))
        assert code == 0, out
        assert statuses(data) == ["completed"]
        code, out, data = runner(path, env_for(sb))  # and the next run reuses it
        assert code == 0 and counters(sb)["accepted_total"] == 1


def test_a_status_that_404s_until_the_job_timeout_is_left_pending_saying_so(tmp_path: Path, runner) -> None:
    from helpers.hostile import settings, with_job_timeout

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


def cli(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    from helpers.runs import FAST_JSON

    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err, {**(env or {}), "RENDERER_EXEC_SETTINGS": FAST_JSON})
    return code, out.getvalue(), err.getvalue()


def strict(path: Path) -> dict:
    assert load(path, required=True) is not None
    return json.loads(path.read_text("utf-8"))


# -- 9: odd values are values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "scope", "status"), [
    ("surrogate_text", "submissions", "completed"),  # in the submit answer's message
    ("surrogate_text", "reads", "completed"),  # in every status answer
    ("surrogate_id", "submissions", "unknown"),  # an id no request can carry: unusable, maybe charged
    ("surrogate_url", "reads", "pending"),  # a result URL no request can carry: read again until the timeout
    ("credits_huge", "all", "completed"),  # 10^400: unknown charge, with a reason
    ("credits_1e308", "all", "completed"),  # two of them overflow a float sum
])
def test_odd_values_are_stored_and_shown_safely(tmp_path: Path, runner, kind: str, scope: str, status: str) -> None:
    from helpers.hostile import settings, with_job_timeout

    path = write_campaign(tmp_path, images(2))
    with make_sandbox(faults={"rates": {kind: 1.0}, "scope": scope}) as sb:
        code, out, data = runner(path, env_for(sb), with_job_timeout(settings(), 0.5))
        again = runner(path, env_for(sb), with_job_timeout(settings(), 0.5))  # reads back what it wrote
        c = counters(sb)
    assert "internal error" not in out + again[1] and "Traceback" not in out + again[1]
    assert code == (0 if status == "completed" else 1), out
    assert statuses(data) == [status, status]
    strict(path.with_name("camp.manifest.json"))  # strict JSON, valid UTF-8, and `load` takes it
    assert c["duplicates_total"] == 0
    if kind.startswith("credits"):
        assert "the charge is unknown: the API's credits charged is" in out
        assert all(e["credits"]["charged"] is None and e["credits"]["held"] == 50 for e in data["jobs"].values())
        assert data["credits"]["spent"] == 100
    if kind == "surrogate_text" and scope == "reads":
        assert all(e["response"]["message"] == "upstream said \\ud800 here" for e in data["jobs"].values())


# -- 8: a campaign keeps its identity when its file moves ------------------------------------------------------


def git(root: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(root), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"})


def checkout(tmp_path: Path) -> Path:
    """A git repository with campaigns/camp.yaml (three stills), run once to completion."""
    root = tmp_path / "repo"
    (root / "campaigns").mkdir(parents=True)
    git(root, "init", "-q")
    path = write_campaign(root / "campaigns", images(3, name="moving"))
    git(root, "add", "campaigns/camp.yaml")
    return path


def run_in(root: Path, campaign: Path, sb, **kw):
    out = io.StringIO()
    from helpers.runs import run

    code = run(str(campaign), out, env_for(sb), state_dir=str(root / ".renderer"), exec_settings=FAST, **kw)
    return code, out.getvalue()


@pytest.mark.parametrize("how", ["renamed, manifest left", "moved with its manifest", "fresh machine, manifest left"])
def test_a_git_mv_renders_nothing_again(tmp_path: Path, how: str) -> None:
    path = checkout(tmp_path)
    root = path.parents[1]
    with make_sandbox(faults={"rates": {"ignore_keys": 1.0}}) as sb:  # a key would not save a resend
        assert run_in(root, path, sb)[0] == 0 and counters(sb)["accepted_total"] == 3
        git(root, "add", "campaigns/camp.manifest.json")
        if how == "moved with its manifest":
            (root / "launch").mkdir()
            git(root, "mv", "campaigns/camp.yaml", "launch/camp.yaml")
            git(root, "mv", "campaigns/camp.manifest.json", "launch/camp.manifest.json")
            new = root / "launch" / "camp.yaml"
        else:
            git(root, "mv", "campaigns/camp.yaml", "campaigns/launch.yaml")
            new = root / "campaigns" / "launch.yaml"
        if how.startswith("fresh"):
            shutil.rmtree(root / ".renderer")
        code, out = run_in(root, new, sb)
        assert code == 0, out
        assert counters(sb)["accepted_total"] == 3  # 0 re-renders
        data = json.loads(M.default_path(new).read_text("utf-8"))
        assert statuses(data) == ["completed"] * 3
        if how != "moved with its manifest":
            assert f"the campaign moved: its manifest {root / 'campaigns' / 'camp.manifest.json'} was read" in out
            code, out, err = cli(["plan", str(new), "--json"], env_for(sb))  # the plan reuses them too
            assert code == 0 and json.loads(out)["credits"] == {"min": 0, "max": 0}, err


def test_two_moved_records_are_refused_naming_them_and_the_flag(tmp_path: Path) -> None:
    path = checkout(tmp_path)
    root = path.parents[1]
    other = write_campaign(root / "campaigns", images(3, name="moving", first=3), "copy.yaml")
    with make_sandbox(faults={"rates": {"ignore_keys": 1.0}}) as sb:
        assert run_in(root, path, sb)[0] == 0 and run_in(root, other, sb)[0] == 0
        sent = counters(sb)["requests_total"]
        git(root, "add", "campaigns/copy.yaml")
        git(root, "mv", "campaigns/camp.yaml", "campaigns/launch.yaml")
        (root / "campaigns" / "copy.yaml").unlink()
        new = root / "campaigns" / "launch.yaml"
        code, out, err = cli(["run", str(new), "--state-dir", str(root / ".renderer")], env_for(sb))
        assert code == 2 and "nothing was sent" in err
        assert "journals of 2 moved campaigns of that name" in err and "--moved-from OLD_PATH" in err
        assert str(path) in err and str(other) in err
        assert counters(sb)["requests_total"] == sent
        code, out = run_in(root, new, sb, moved_from=str(path))
        assert code == 0, out
        assert counters(sb)["accepted_total"] == 6  # the first campaign's three, and the copy's three: no more


# -- 6: a corrupt journal is never "recovered" by sending ----------------------------------------------------


def scribble(journal: Path) -> None:
    raw = bytearray(journal.read_bytes())
    raw[4096:] = bytes((i * 37 + 11) % 251 for i in range(len(raw) - 4096))  # every page after the first
    journal.write_bytes(bytes(raw))


def test_a_corrupt_journal_without_a_manifest_sends_nothing_until_told(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, images(5))
    state = tmp_path / ".renderer"
    with make_sandbox(render_seconds=30, faults={"rates": {"ignore_keys": 1.0}}) as sb:
        code, out = run_in(tmp_path, path, sb, detach=True)
        assert code == 0 and counters(sb)["accepted_total"] == 5
        M.default_path(path).unlink()  # no manifest: the journal alone knows the five
        (journal,) = state.glob("*.sqlite")
        scribble(journal)
        env = env_for(sb)
        code, _, err = cli(["run", str(path), "--state-dir", str(state)], env)
        assert code == 1 and f"{journal}: the journal is corrupt" in err
        assert f"there is no manifest {M.default_path(path)}" in err and ".recover" in err
        journal.rename(journal.with_name(journal.name + ".broken"))  # what the old hint said to do
        code, _, err = cli(["run", str(path), "--state-dir", str(state)], env)
        assert code == 1 and f"the journal {journal}.broken was set aside and no manifest records what it sent" in err
        assert "nothing was sent" in err and "--resubmit-unknown" in err
        assert counters(sb)["accepted_total"] == 5 and counters(sb)["requests_total"] == 5 + 1  # + the balance read
        code, out, _ = cli(["run", str(path), "--state-dir", str(state), "--resubmit-unknown", "--detach"], env)
        assert code == 0 and "every job is sent again (--resubmit-unknown)" in out
        assert counters(sb)["accepted_total"] == 10  # as the user asked


def test_a_corrupt_journal_after_a_kill_is_set_aside_and_the_manifest_adopted(tmp_path: Path) -> None:
    import signal

    path = write_campaign(tmp_path, images(5))
    with make_sandbox(render_seconds=30, faults={"rates": {"ignore_keys": 1.0}}) as sb:
        proc = start_run(path, sb)
        until(lambda: counters(sb)["accepted_total"] >= 5)  # all five accepted; their renders take 30 s
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        (journal,) = (tmp_path / ".renderer").glob("*.sqlite")
        scribble(journal)
        journal.rename(journal.with_name(journal.name + ".broken"))  # the way out the hint gives, with a manifest
        code, out = run_in(tmp_path, path, sb, detach=True)
        c = counters(sb)
    assert c["duplicates_total"] == 0 and c["accepted_total"] == 5, out  # the manifest named all it sent
    assert code == 0 and "adopted 5 accepted job(s)" in out


# -- the price of safety, in the plan; and going without it -------------------------------------------------


def test_the_plan_says_what_the_probe_costs_after_a_run_measured_it(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(5, budget=260))
    code, out, err = cli(["plan", str(path)])
    assert code == 0 and "budget probe: the first job of each pricing family goes alone" in out
    assert "image_enhance (5 jobs; not measured yet: up to a whole render)" in out
    with make_sandbox(faults={"rates": {"charge_late": 1.0}, "scope": "all"}) as sb:
        code, _, data = runner(path, env_for(sb))
    assert code == 0
    fam = data["credits"]["families"]["image_enhance"]
    assert fam["factor"] == 1 and fam["charged_at"] == "completion" and 0 < fam["probe_seconds"] < 5
    path.write_text(images(5, budget=1000, first=5), encoding="utf-8")  # five more stills
    code, out, err = cli(["plan", str(path), "--json"])
    doc = json.loads(out)
    wait = doc["budget"]["probe"]["families"]["image_enhance"]
    assert wait == {"jobs": 5, "charged_at": "completion", "wait_seconds": math.ceil(fam["probe_seconds"])}
    assert doc["requests"]["by_provider"]["samsar"]["least_wall_seconds"] == wait["wait_seconds"]
    code, out, err = cli(["plan", str(path)])
    assert "image_enhance (5 jobs; the API said its charge only at completion: a whole render, ~1 s last time)" in out


def test_without_the_probe_a_run_can_pass_the_budget_and_exits_3_saying_by_how_much(tmp_path: Path, runner) -> None:
    text = images(5, budget=260).replace("  max_credits: 260\n", "  max_credits: 260\n  probe: false\n")
    path = write_campaign(tmp_path, text)
    code, out, err = cli(["plan", str(path), "--json"])
    assert code == 0 and json.loads(out)["budget"]["risk"].startswith("budget.probe is false: the jobs of a pricing")
    assert "risk: budget.probe is false" in cli(["plan", str(path)])[1]
    with make_sandbox(price_factor=3, faults={"rates": {"charge_late": 1.0}, "scope": "all"}) as sb:
        code, out, data = runner(path, env_for(sb))
    assert charged(sb) == 750  # every job sent at its estimate: the risk the plan named
    assert code == 3
    assert "budget: over budget: the campaign was charged 750 credits in all, 490 above budget.max_credits 260" in out
    assert "still[i=0] (150 for an estimate of 50)" in out and data["credits"]["spent"] == 750


# -- 5: the record is on disk as soon as the money is --------------------------------------------------------


def test_accepted_ids_reach_the_manifest_on_disk_while_the_run_goes_on(tmp_path: Path) -> None:
    import signal
    import time

    path = write_campaign(tmp_path, images(4))
    manifest = M.default_path(path)
    with make_sandbox(render_seconds=60) as sb:
        proc = start_run(path, sb)
        try:
            until(lambda: counters(sb)["accepted_total"] >= 4)
            accepted_at = time.monotonic()
            ids: set[str] = set()

            def pending_ids() -> set[str]:
                nonlocal ids
                if manifest.exists():
                    ids = {e["request_id"] for e in json.loads(manifest.read_text("utf-8"))["jobs"].values()
                           if e["status"] == "pending"}
                return ids

            until(lambda: len(pending_ids()) == 4, seconds=5)  # the file on disk
            within = time.monotonic() - accepted_at
            assert proc.poll() is None  # the renders take a minute: the run is still going
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert ids == set(sb.state.sessions) and within < 2.0  # within about a second (1 s coalescing)


def test_a_post_cut_off_by_a_kill_is_named_beside_the_manifest_and_never_sent_again(tmp_path: Path) -> None:
    import signal

    from renderer.execute import inflight

    path = write_campaign(tmp_path, images(1))
    # processed and charged at once; its answer then trickles in, a byte every 50 ms
    faults = {"schedule": {"1": "trickle"}, "trickle_interval": 0.05, "rates": {"ignore_keys": 1.0}}
    with make_sandbox(faults=faults) as sb:
        proc = start_run(path, sb)
        until(lambda: counters(sb)["accepted_total"] >= 1)  # the API accepted (and charged) it; the answer is on its way
        proc.send_signal(signal.SIGKILL)  # ... and nobody is left to hear it
        proc.wait(timeout=30)
        (intent,) = inflight.read(M.default_path(path))
        assert intent.instance_id == "still[i=0]" and intent.attempt == 1
        shutil.rmtree(tmp_path / ".renderer")  # a CI runner: the checkout is all there is
        code, out = run_in(tmp_path, path, sb)
        c = counters(sb)
    assert c["duplicates_total"] == 0 and c["accepted_total"] == 1, out
    assert code == 0 and "still[i=0]: reconciled to" in out  # proven from the image list, not sent again
    assert not inflight.path_for(M.default_path(path)).exists()  # every POST it named is in the manifest now


def test_an_accepted_id_named_beside_the_manifest_is_polled_after_a_kill_not_sent_again(tmp_path: Path) -> None:
    """Killed right after the API accepted a POST, before any manifest write names it, with
    `.renderer/` lost: the `.inflight` line written at acceptance is enough to poll it."""
    import signal

    from renderer.execute import inflight

    path = write_campaign(tmp_path, images(1))
    manifest = M.default_path(path)

    def accepted() -> list[inflight.Intent]:
        return [i for i in inflight.latest(inflight.read(manifest)).values() if i.request_id]

    with make_sandbox(render_seconds=3, faults={"rates": {"ignore_keys": 1.0}}) as sb:  # a resend would pay again
        proc = start_run(path, sb)
        try:
            until(lambda: bool(accepted()))  # on disk at acceptance, not a checkpoint later
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        (line,) = accepted()
        assert line.instance_id == "still[i=0]" and line.request_id in sb.state.sessions and line.body is not None
        manifest.unlink(missing_ok=True)  # no manifest checkpoint yet
        shutil.rmtree(tmp_path / ".renderer")  # a CI runner: the checkout is all there is
        posts = {k: v for k, v in counters(sb)["requests"].items() if k.startswith("POST")}
        code, out = run_in(tmp_path, path, sb)
        c = counters(sb)
    assert {k: v for k, v in c["requests"].items() if k.startswith("POST")} == posts  # 0 new submissions
    assert c["accepted_total"] == 1 and c["duplicates_total"] == 0 and charged(sb) == 50
    assert c["status_reads_by_id"].get(line.request_id, 0) >= 1  # polled with that request id
    assert code == 0 and "adopted 1 accepted job(s)" in out and "reconciled" not in out, out
    written = load(manifest, required=True)
    assert written is not None
    entry = written.jobs["still[i=0]"]
    assert entry.request_id == line.request_id and entry.status == "completed"
    assert not inflight.path_for(manifest).exists()


def test_an_accepted_line_adds_the_request_id_to_its_intent(tmp_path: Path) -> None:
    """The intent line and the accepted line of one attempt read as one: the body sent, the
    request id answered; adoption seeds it accepted (polled), a POST without one unknown."""
    from renderer.execute import inflight
    from renderer.execute.adoption import _adopt_intents
    from renderer.execute.sqlitestore import SqliteJournal as Journal
    from renderer.vocabulary import SubmissionState

    journal = Journal(tmp_path / "j.sqlite")
    try:
        book = inflight.Inflight(tmp_path / "m.json")
        for iid in ("a", "b"):
            sub = journal.begin(instance_id=iid, endpoint="samsar/image/enhance", provider="samsar",
                                input_sha256="s" + iid, generation=1, idempotency_key="k" + iid,
                                body={"image_url": iid}, estimate=(50.0, 50.0))
            book.record(journal.sending(sub))
        (a,) = [s for s in journal.current_all().values() if s.instance_id == "a"]
        book.accepted(journal.accepted(a, request_id="req-a", session_id="sess-a", credits_charged=50.0, response={}))
        with open(book.path, "a", encoding="utf-8") as f:
            f.write('{"kind":"accepted","instance_id":"b"')  # a line cut by a kill: skipped
        got = inflight.latest(inflight.read(tmp_path / "m.json"))
    finally:
        journal.close()
    assert (got["a", "sa"].request_id, got["a", "sa"].session_id, got["a", "sa"].credits_charged) == ("req-a", "sess-a", 50.0)
    assert got["a", "sa"].body == {"image_url": "a"} and got["b", "sb"].request_id is None
    fresh = Journal(tmp_path / "fresh.sqlite")  # the journal was lost
    try:
        assert _adopt_intents(fresh, None, got.values()) == ("a", "b")
        now = {k[0]: v for k, v in fresh.current_all().items()}
        assert (now["a"].state, now["a"].request_id, now["a"].credits_charged) == (SubmissionState.ACCEPTED, "req-a", 50.0)
        assert (now["b"].state, now["b"].request_id) == (SubmissionState.UNKNOWN, None)
    finally:
        fresh.close()


def test_budgets_prices_and_estimates_past_float_range_are_located_errors_not_crashes(tmp_path: Path) -> None:
    huge = "1" + "0" * 400  # YAML reads it as an integer no float holds
    text = (images(1, budget=1).replace("max_credits: 1", f"max_credits: {huge}")
            + "pricing:\n  samsar:\n    image_enhance:\n      2k: 1e400\n")
    path = write_campaign(tmp_path, text)
    for command in (["validate", str(path)], ["plan", str(path)], ["run", str(path), "--sandbox"]):
        code, out, err = cli(command)
        assert code == 1 and "internal error" not in err, err
        assert f"{path}:4:16: budget.max_credits is a number of 401 digits: renderer counts credits and seconds up to 10^300" in err
        assert f"{path}:16:11: pricing.samsar.image_enhance.2k is inf: renderer counts" in err
    code, out, err = cli(["run", str(write_campaign(tmp_path, images(1), "ok.yaml")), "--sandbox", "--max-credits", "nan"])
    assert code == 2 and "--max-credits must be a number from 0 to 2^53, not nan" in err


def test_the_lines_beside_the_manifest_are_scrubbed_like_the_manifest(tmp_path: Path) -> None:
    """The ``.inflight`` file sits beside the manifest, in the repository: a key a campaign's body
    or an answer holds never reaches it."""
    from renderer.execute import inflight
    from renderer.execute.scrub import Scrubber
    from renderer.execute.sqlitestore import SqliteJournal as Journal

    key = "sk-live-0123456789abcdef"
    scrubber = Scrubber.from_env({"SAMSAR_API_KEY": key})
    journal = Journal(tmp_path / "j.sqlite")
    try:
        book = inflight.Inflight(tmp_path / "m.json", scrubber.value)
        sub = journal.begin(instance_id="a", endpoint="samsar/image/enhance", provider="samsar", input_sha256="s",
                            generation=1, idempotency_key="k", body={"image_url": f"https://x.example/{key}.png"},
                            estimate=(50.0, 50.0))
        book.record(journal.sending(sub))
        book.accepted(journal.accepted(journal.sending(sub), request_id=f"req-{key}", session_id="s",
                                       credits_charged=50.0, response={}))
    finally:
        journal.close()
    text = book.path.read_text("utf-8")
    assert key not in text and key[:8] not in text and text.count("\n") == 2
