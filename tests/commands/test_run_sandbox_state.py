"""`renderer run --sandbox` keeps its stand-in's state under the state directory between runs:
edit-and-re-run, interrupt-and-resume and `--detach` then `run` behave as against the real API."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from helpers.runs import FAST, FAST_JSON, args_for
from helpers.runs import run as run_command

from renderer.commands.cancel import cancel

SPRING = Path(__file__).resolve().parents[2] / "campaigns" / "spring-launch.yaml"
JOBS = 12  # 3 stills, 6 teasers, the Spanish cut, its French translation, its outro


def spring(tmp_path: Path) -> Path:
    path = tmp_path / "spring-launch.yaml"
    shutil.copy(SPRING, path)
    return path


def run(path: Path, **kw) -> tuple[int, str, dict]:
    out = io.StringIO()
    code = run_command(**args_for(path, sandbox=True, **kw), out=out, env={}, exec_settings=FAST)
    data = json.loads(path.with_name(path.stem + ".sandbox.manifest.json").read_text("utf-8"))
    assert not path.with_name(path.stem + ".manifest.json").exists()  # a rehearsal never writes the real record
    return code, out.getvalue(), data


def sandbox_seen(path: Path) -> list[int]:
    """How many times the stand-in accepted each distinct body, over every run so far."""
    db = sqlite3.connect(path.parent / ".renderer" / "sandbox" / "sandbox.sqlite")
    try:
        return [n for (n,) in db.execute("SELECT n FROM seen")]
    finally:
        db.close()


def test_edit_one_city_and_run_again_completes_everything(tmp_path: Path) -> None:
    path = spring(tmp_path)
    code, out, first = run(path)
    assert code == 0, out
    assert first["counts"] == {"completed": JOBS}
    path.write_text(path.read_text().replace("lima", "porto"), encoding="utf-8")
    code, out, second = run(path)
    assert code == 0, out  # the reused teasers' sessions are still known to the stand-in: the join works
    assert second["counts"] == {"completed": JOBS}
    ids = [e["request_id"] for e in second["jobs"].values()]
    assert len(set(ids)) == JOBS  # ids unique across runs
    kept = {iid for iid, e in second["jobs"].items() if e["request_id"] == first["jobs"].get(iid, {}).get("request_id")}
    assert "stills[city=lisbon]" in kept and "stills[city=porto]" not in kept
    assert sorted(set(sandbox_seen(path))) == [1]  # no body was ever sent twice


def test_detach_then_run_with_the_sandbox(tmp_path: Path) -> None:
    path = spring(tmp_path)
    code, out, data = run(path, detach=True)
    assert code == 0, out
    assert data["counts"] == {"pending": 3, "not_submitted": JOBS - 3}
    code, out, data = run(path)
    assert code == 0, out
    assert data["counts"] == {"completed": JOBS}
    assert sorted(set(sandbox_seen(path))) == [1]


def test_an_interrupted_sandbox_run_resumes(tmp_path: Path) -> None:
    path = spring(tmp_path)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "RENDERER_EXEC_SETTINGS": FAST_JSON, "RENDERER_TEST_KILL_AFTER": "14"}
    killed = subprocess.run([sys.executable, "-m", "renderer.cli", "run", "--sandbox", path.name],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == -9, killed.stdout + killed.stderr  # SIGKILL mid-run: no manifest, no goodbye
    code, out, data = run(path)
    assert code == 0, out
    assert data["counts"] == {"completed": JOBS}
    assert sorted(set(sandbox_seen(path))) == [1]


def test_sandbox_credits_set_the_balance_and_it_is_kept(tmp_path: Path) -> None:
    path = spring(tmp_path)
    warnings: list = []
    code, out, data = run(path, sandbox_credits=120, warnings=warnings)  # two 2k stills (50 each), not three
    assert code == 1
    assert data["counts"]["completed"] == 2 and data["credits"]["charged"] == 100
    assert "402" in out and warnings == []
    code, out, data = run(path, sandbox_credits=120, warnings=warnings)  # the balance is 20 now, not 120 again
    assert code == 1 and data["counts"]["completed"] == 2
    # the flag cannot take effect any more, and says so (never silently ignored)
    assert [str(w) for w in warnings] == [
        f"{tmp_path / '.renderer' / 'sandbox'}: warning: --sandbox-credits 120 cannot take effect: the sandbox kept "
        "here already holds its account's balance (samsar 20 credits left); remove this folder to start the sandbox "
        "afresh with 120"]


def test_cancel_reaches_the_sandbox_a_detached_run_left(tmp_path: Path) -> None:
    path = spring(tmp_path)
    text = path.read_text().replace("resolution: 2k", "resolution: 2k\n  clip:\n    endpoint: samsar/video/text_to_video\n"
                                    "    input: {prompt: Sea, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}")
    path.write_text(text, encoding="utf-8")
    slow = dataclasses.replace(FAST, sandbox_render_seconds=600)  # still rendering when cancel comes
    out = io.StringIO()
    assert run_command(**args_for(path, sandbox=True, detach=True), out=out, env={}, exec_settings=slow) == 0, out.getvalue()
    out = io.StringIO()
    assert cancel(**args_for(path, sandbox=True), out=out, env={}) == 0
    assert f"{'cancelled':>13}  clip" in out.getvalue()
    db = sqlite3.connect(path.parent / ".renderer" / "sandbox" / "sandbox.sqlite")
    try:  # the stand-in itself has it cancelled, as the real API would
        states = [json.loads(d)["cancelled"] for (d,) in db.execute("SELECT data FROM sessions")]
    finally:
        db.close()
    assert states.count(True) == 1


# -- a rehearsal's results stay reachable, its record stays its own ---------------------------------


def test_outputs_after_the_sandbox_stopped_are_served_again_from_its_state(tmp_path: Path) -> None:
    path = spring(tmp_path)
    code, out, first = run(path)
    assert code == 0, out
    old = {u.split("/files/")[0] for e in first["jobs"].values() for u in e["result_urls"]}
    assert len(old) == 1  # the port of a sandbox that stopped with that run
    code, out, data = run(path, outputs=str(tmp_path / "media"))
    assert code == 0, out
    assert f"outputs: {JOBS} file(s) in {tmp_path / 'media'} ({JOBS} downloaded now)" in out
    assert [e["request_id"] for e in data["jobs"].values()] == [e["request_id"] for e in first["jobs"].values()]
    assert (tmp_path / "media" / "stills" / "lisbon.png").read_bytes()[:4] == b"\x89PNG"
    code, out, again = run(path, outputs=str(tmp_path / "media"))  # a third sandbox, another port: kept files
    assert code == 0 and f"({0} downloaded now)" in out, out


def test_outputs_without_the_sandboxs_state_say_it_is_gone_and_what_to_run(tmp_path: Path) -> None:
    path = spring(tmp_path)
    code, out, first = run(path)
    assert code == 0, out
    (origin,) = {u.split("/files/")[0] for e in first["jobs"].values() for u in e["result_urls"]}
    out_ = io.StringIO()
    code = run_command(**args_for(path, sandbox=True, state_dir=str(tmp_path / "elsewhere"),
                                  outputs=str(tmp_path / "media")), out=out_, env={}, exec_settings=FAST)
    assert code == 1
    assert (f"outputs: the sandbox that made them ({origin}) is gone and this run has not its state; run "
            f"`renderer run --sandbox {path} --outputs {tmp_path / 'media'}` with the --state-dir of the run that "
            "made them: its stand-in serves them again; or run the jobs again to make new ones") in out_.getvalue()


def test_readers_take_sandbox_and_find_the_state_dir_the_run_used(tmp_path: Path, monkeypatch) -> None:
    from renderer.cli import main

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)  # a repository: the state dir is recorded in its git folder
    path = spring(repo)
    state = tmp_path / "somewhere" / "state"
    code, out, _ = run(path, state_dir=str(state))
    assert code == 0, out
    monkeypatch.chdir(tmp_path)  # another working directory, and no --state-dir

    def cli(*argv: str) -> tuple[int, str, str]:
        o, e = io.StringIO(), io.StringIO()
        return main(list(argv), out=o, err=e, env={}), o.getvalue(), e.getvalue()

    code, shown, err = cli("status", "--sandbox", str(path))
    assert code == 0 and f"{JOBS} completed" in shown, err
    code, shown, err = cli("status", str(path))  # the real record: nothing ran against the API yet
    assert code == 1 and "nothing has run yet; a rehearsal ran (`run --sandbox`): add --sandbox to read it" in err
    code, shown, err = cli("results", str(path))
    assert code == 1 and "manifest not found: only a rehearsal ran (`run --sandbox`): add --sandbox" in err
    code, shown, err = cli("results", "--sandbox", str(path))
    assert code == 0 and shown.count("    completed  ") == JOBS, err
    assert shown.splitlines()[-1].startswith(f"{JOBS}/{JOBS} done ({JOBS} completed); spent in all runs ")
    code, shown, err = cli("report", "--sandbox", str(path))
    assert code == 0 and (repo / "spring-launch.sandbox.report.html").is_file(), err
    code, shown, err = cli("cancel", "--sandbox", str(path))
    assert code == 0 and "no pending video renders to cancel" in shown, err
    code, shown, err = cli("plan", "--sandbox", str(path))
    assert code == 0 and "estimated for this run: 0 credits of budget 60,000" in shown and "target: the sandbox" in shown
    code, shown, err = cli("plan", str(path))
    assert code == 0 and "estimated for this run: 6,165 credits of budget 60,000" in shown
    assert (f"note: {repo / 'spring-launch.sandbox.manifest.json'} is a rehearsal's record (run --sandbox), not this "
            "plan's: this plan is for the real API; `plan --sandbox` shows the rehearsal's") in shown
    code, shown, err = cli("status", "--sandbox", "--state", "postgresql://u:pw@db.example/x", str(path))
    assert code == 2 and "a rehearsal's state (--sandbox) is always local: drop one of them" in err


def test_options_that_cannot_take_effect_say_so(tmp_path: Path) -> None:
    from renderer.errors import UsageError

    path = spring(tmp_path)
    for kw, message in (({"sandbox_credits": 100}, "--sandbox-credits sets the balance of the --sandbox stand-in"),
                        ({"sandbox": True, "manifest": str(tmp_path / "spring-launch.manifest.json")},
                         "is the campaign's real manifest; --sandbox writes a rehearsal's own"),
                        ({"manifest": str(tmp_path / "spring-launch.sandbox.manifest.json")},
                         "is a rehearsal's manifest (written by `run --sandbox`)")):
        try:
            run_command(**args_for(path, **kw), out=io.StringIO(), env={}, exec_settings=FAST)
        except UsageError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{kw}: no error")
    assert not (tmp_path / ".renderer").exists()  # refused before anything was opened
