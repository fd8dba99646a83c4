"""The manifest is the durable record: a lost, copied, empty, corrupt, full or read-only journal
never makes a run pay twice. Real sandbox on loopback, SQLite on disk, `renderer run` itself."""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.runs import (
    FAST,
    FAST_JSON,
    counters,
    env_for,
    make_sandbox,
    write_campaign,
)
from helpers.runs import run

from renderer.cli import main
from renderer.errors import StateError
from renderer.execute.durable import RepositoryLock
from renderer.execute.identity import journal_path

CAMPAIGN = """
version: 1
name: durable
providers:
  samsar: {idempotent_keys: false}   # no key would save a resubmission: only adoption does
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix: {i: [0, 1, 2, 3]}
    input: {image_url: "https://cdn.example.com/{{ matrix.i }}.png", resolution: 2k}
  clip:
    endpoint: samsar/video/text_to_video
    matrix: {n: [1, 2]}
    input: {prompt: "Clip {{ matrix.n }}", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
  es:
    endpoint: samsar/video/translate_video
    needs: [clip]
    matrix: {n: [1, 2]}
    input: {videoSessionId: "{{ needs.clip.session_id }}", language: es}
"""
JOBS, FIRST_WAVE = 8, 6  # `--detach` submits the stills and clips; the translations wait for the clips


def images(n: int, name: str = "stills", url: str = "{{ matrix.i }}") -> str:
    return (f"version: 1\nname: {name}\nproviders:\n  samsar: {{idempotent_keys: false}}\njobs:\n  still:\n"
            f"    endpoint: samsar/image/enhance\n    matrix:\n      i: [{', '.join(map(str, range(n)))}]\n"
            f"    input: {{image_url: \"https://cdn.example.com/{url}.png\", resolution: 2k}}\n")


def repo(tmp_path: Path, text: str = CAMPAIGN) -> Path:
    """A checkout: ``<root>/.git`` and ``<root>/campaigns/camp.yaml``; returns the campaign."""
    (tmp_path / "root" / ".git").mkdir(parents=True)
    (tmp_path / "root" / "campaigns").mkdir()
    return write_campaign(tmp_path / "root" / "campaigns", text)


def go(file: str | Path, env: dict[str, str], state_dir: str | Path, **kw) -> tuple[int, str]:
    out = io.StringIO()
    return run(str(file), out, env, state_dir=str(state_dir), exec_settings=FAST, **kw), out.getvalue()


def manifest(path: Path) -> dict:
    return json.loads(path.with_name(path.stem + ".manifest.json").read_text("utf-8"))


def cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err, {**env, "RENDERER_EXEC_SETTINGS": FAST_JSON})
    return code, out.getvalue(), err.getvalue()


def assert_all_done_once(path: Path, sb, jobs: int = JOBS) -> None:
    data, c = manifest(path), counters(sb)
    assert data["counts"] == {"completed": jobs}
    assert c["accepted_total"] == jobs and c["duplicates_total"] == 0


# -- a new machine ------------------------------------------------------------------------------


def test_detach_then_a_lost_state_dir_adopts_every_accepted_job(tmp_path: Path) -> None:
    path = repo(tmp_path)
    state = tmp_path / "root" / ".renderer"
    with make_sandbox() as sb:
        code, _ = go(path, env_for(sb), state, detach=True)
        assert code == 0 and manifest(path)["counts"] == {"not_submitted": 2, "pending": FIRST_WAVE}
        shutil.rmtree(state)  # a CI cache miss
        code, out = go(path, env_for(sb), state)
        assert code == 0, out
        assert f"adopted {FIRST_WAVE} accepted job(s) from {path.with_name('camp.manifest.json')}" in out
        assert_all_done_once(path, sb)


def test_a_copied_checkout_finds_its_journal_by_the_campaigns_identity(tmp_path: Path) -> None:
    path = repo(tmp_path)
    with make_sandbox() as sb:
        go(path, env_for(sb), tmp_path / "root" / ".renderer", detach=True)
        shutil.copytree(tmp_path / "root", tmp_path / "elsewhere")
        copy = tmp_path / "elsewhere" / "campaigns" / "camp.yaml"
        code, out = go(copy, env_for(sb), tmp_path / "elsewhere" / ".renderer")
        assert code == 0, out
        assert "adopted" not in out  # the journal itself was found: same identity, other absolute path
        assert_all_done_once(copy, sb)


def test_another_working_directory_neither_pays_twice(tmp_path: Path, monkeypatch) -> None:
    path = repo(tmp_path)
    with make_sandbox() as sb:
        monkeypatch.chdir(tmp_path / "root")
        assert go("campaigns/camp.yaml", env_for(sb), ".renderer", detach=True)[0] == 0
        monkeypatch.chdir(tmp_path / "root" / "campaigns")
        code, out = go("camp.yaml", env_for(sb), ".renderer")  # another state dir: campaigns/.renderer
        assert code == 0, out
        assert "adopted 6 accepted job(s)" in out
        assert_all_done_once(path, sb)
    assert journal_path(".renderer", "camp.yaml", "durable").name == journal_path(
        "x", tmp_path / "root" / "campaigns" / "camp.yaml", "durable").name


# -- a journal that cannot be trusted ------------------------------------------------------------


def only_journal(state: Path) -> Path:
    (found,) = state.glob("*.sqlite")
    return found


def test_an_emptied_journal_is_said_out_loud_and_the_manifest_adopted(tmp_path: Path) -> None:
    path = repo(tmp_path)
    state = tmp_path / "root" / ".renderer"
    with make_sandbox() as sb:
        go(path, env_for(sb), state, detach=True)
        journal = only_journal(state)
        journal.write_bytes(b"")
        code, out = go(path, env_for(sb), state)
        assert code == 0, out
        assert f"the journal {journal} was empty (0 bytes)" in out and "adopted 6" in out
        assert_all_done_once(path, sb)


def test_a_scribbled_journal_is_refused_naming_the_file_and_the_safe_way_out(tmp_path: Path) -> None:
    path = repo(tmp_path)
    state = tmp_path / "root" / ".renderer"
    with make_sandbox() as sb:
        go(path, env_for(sb), state, detach=True)
        journal = only_journal(state)
        raw = bytearray(journal.read_bytes())
        raw[4096:] = bytes((i * 37 + 11) % 251 for i in range(len(raw) - 4096))  # every page after the first
        journal.write_bytes(bytes(raw))
        sent = counters(sb)["requests_total"]
        code, out, err = cli(["run", str(path), "--state-dir", str(state)], env_for(sb))
        assert code == 1 and "internal error" not in err
        assert f"{journal}: the journal is corrupt" in err and f"mv {journal} {journal}.broken" in err
        assert counters(sb)["requests_total"] == sent  # refused before anything was sent
        assert journal.read_bytes() == bytes(raw)  # and nothing replaced
        journal.rename(journal.with_name(journal.name + ".broken"))  # the way out the message gave
        code, out = go(path, env_for(sb), state)
        assert code == 0, out
        assert_all_done_once(path, sb)


def test_a_full_journal_is_a_clear_error_and_no_id_is_lost(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, images(24))
    state = tmp_path / ".renderer"
    with make_sandbox() as sb:
        # SQLite's own "database or disk is full" once the journal reaches 15 pages: mid-run
        env = {**env_for(sb), "RENDERER_TEST_JOURNAL_MAX_PAGES": "15"}
        code, out, err = cli(["run", str(path), "--state-dir", str(state)], env)
        journal = only_journal(state)
        assert code == 1 and "internal error" not in err, err
        assert f"{journal}: the disk is full" in err
        first = manifest(path)
        assert 0 < counters(sb)["accepted_total"] < 24 and counters(sb)["duplicates_total"] == 0
        # every id the API gave is in the manifest, whether or not the journal could keep it
        ids = {e["request_id"] for e in first["jobs"].values() if e["request_id"]}
        assert len(ids) + first["counts"].get("unknown", 0) >= counters(sb)["accepted_total"]
        code, out, err = cli(["run", str(path), "--state-dir", str(state)], env_for(sb))
        assert code == 0, out + err
        assert_all_done_once(path, sb, 24)


def test_a_refused_write_keeps_the_answer_for_the_manifest(tmp_path: Path) -> None:
    from renderer.execute.sqlitestore import SqliteJournal

    j = SqliteJournal(tmp_path / "j.sqlite")
    sub = j.begin(instance_id="a", endpoint="samsar/image/enhance", provider="samsar", input_sha256="s",
                  generation=1, idempotency_key="k", body={"image_url": "u"}, estimate=(50, 50))
    j._db.execute(f"PRAGMA max_page_count={j._db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StateError, match=f"^{j.path}: the disk is full"):
        j.accepted(sub, request_id="img_1", session_id=None, credits_charged=50, response={"pad": "x" * 20000})
    assert j.get(sub.id).request_id == "img_1" and j.get(sub.id).public_status == "pending"


def _mount(target: Path, *options: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)],
                          capture_output=True, check=False)
    return done.returncode == 0


def _umount(target: Path) -> None:
    gc.collect()  # a connection whose cursors a traceback still held closes now
    if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode != 0:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_small_tmpfs_fills_up_without_paying_twice(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not _mount(disk, "size=72k"):
        pytest.skip("needs root and mount to make a small tmpfs")
    try:
        path = write_campaign(tmp_path, images(24))
        with make_sandbox() as sb:
            code, out, err = cli(["run", str(path), "--state-dir", str(disk)], env_for(sb))
            assert code == 1 and "internal error" not in err, err
            assert "the disk is full" in err and str(disk) in err
            assert counters(sb)["duplicates_total"] == 0
            subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)  # space freed
            code, out, err = cli(["run", str(path), "--state-dir", str(disk)], env_for(sb))
            assert code == 0, out + err
            assert_all_done_once(path, sb, 24)
    finally:
        _umount(disk)


def test_a_read_only_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, images(3))
    state = tmp_path / "ro"
    mounted = _mount(state, "size=1m")
    try:
        with make_sandbox() as sb:
            go(path, env_for(sb), state, detach=True)
            if mounted:
                subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True)
            elif os.geteuid() != 0:
                state.chmod(0o500)
                for f in state.iterdir():
                    f.chmod(0o400)
            else:
                pytest.skip("root without mount: no way to make a folder read-only")
            sent = counters(sb)["requests_total"]
            code, out, err = cli(["run", str(path), "--state-dir", str(state)], env_for(sb))
            assert code == 1 and "internal error" not in err, err
            assert str(state) in err and "read-only" in err
            assert counters(sb)["requests_total"] == sent
            code, out, err = cli(["run", str(path), "--state-dir", str(tmp_path / "writable")], env_for(sb))
            assert code == 0, out + err
            assert "adopted 3" in out
            assert_all_done_once(path, sb, 3)
    finally:
        if mounted:
            _umount(state)
        elif state.exists():
            state.chmod(0o700)


# -- whose manifest, whose session, whose lock ---------------------------------------------------------


def test_another_campaigns_manifest_is_refused_not_overwritten(tmp_path: Path) -> None:
    a = write_campaign(tmp_path, images(1, name="alpha"), "a.yaml")
    b = write_campaign(tmp_path, images(1, name="beta", url="b{{ matrix.i }}"), "b.yaml")
    with make_sandbox() as sb:
        assert go(a, env_for(sb), tmp_path / ".renderer")[0] == 0
        before = a.with_name("a.manifest.json").read_bytes()
        sent = counters(sb)["requests_total"]
        code, _, err = cli(["run", str(b), "--manifest", str(a.with_name("a.manifest.json"))], env_for(sb))
        assert code == 1 and counters(sb)["requests_total"] == sent
    assert f"{a.with_name('a.manifest.json')}: this manifest records the campaign 'alpha', not 'beta'" in err
    assert a.with_name("a.manifest.json").read_bytes() == before


def test_a_lost_answer_never_claims_another_campaigns_session(tmp_path: Path) -> None:
    a = write_campaign(tmp_path, images(1, name="alpha", url="a{{ matrix.i }}"), "a.yaml")
    b = write_campaign(tmp_path, images(1, name="beta", url="b{{ matrix.i }}"), "b.yaml")
    # one account; beta's submission is the 1st, alpha's (the 2nd) is lost before it is processed
    with make_sandbox(faults={"schedule": {2: "drop_before"}}) as sb:
        assert go(b, env_for(sb), tmp_path / ".renderer")[0] == 0
        theirs = manifest(b)["jobs"]["still[i=0]"]["request_id"]
        code, out = go(a, env_for(sb), tmp_path / ".renderer")
    mine = manifest(a)["jobs"]["still[i=0]"]
    assert code == 1
    assert mine["status"] == "unknown" and mine["request_id"] is None and "reconciled" not in mine
    assert theirs not in json.dumps(manifest(a)) and "reconciled to" not in out
    assert "echoes the body sent" in mine["error"]
    assert mine["request"] == {"image_url": "https://cdn.example.com/a0.png", "resolution": "2k"}
    assert "request_body" not in mine  # what was sent is `request` itself: no upload changed it


def test_a_second_runner_of_the_campaign_in_the_repository_is_refused(tmp_path: Path) -> None:
    path = repo(tmp_path)
    held = RepositoryLock(path, "durable")
    held.acquire()
    try:
        with make_sandbox() as sb:  # another state dir, another working directory: the same campaign
            with pytest.raises(StateError, match="another run of this campaign is in progress in this repository"):
                go(path, env_for(sb), tmp_path / "other-state")
            assert counters(sb)["requests_total"] == 0
    finally:
        held.release()


def test_adoption_seeds_each_kind_of_accepted_entry_once(tmp_path: Path) -> None:
    from renderer.execute import records as J
    from renderer.execute.adoption import adopt_from_manifest
    from renderer.execute.sqlitestore import SqliteJournal
    from renderer.manifest import Manifest, ManifestEntry
    from renderer.vocabulary import Outputs
    from renderer.plan.planner import build_plan
    from renderer.campaign.campaign import load_campaign

    path = write_campaign(tmp_path, CAMPAIGN)
    plan, _ = build_plan(load_campaign(str(path)))
    sha = {i.id: i.input_sha256 for i in plan.instances}
    clip = {"status": "completed", "input_sha256": sha["clip[n=1]"], "request_id": "vid_1", "session_id": "vid_1",
            "duration": 5, "credits": {"charged": 150}}
    assert plan.resolver is not None
    es = plan.resolver("es[n=1]", {"clip[n=1]": Outputs.from_manifest(ManifestEntry.from_json(clip))})
    es_body, es_sha = es.body, es.input_sha256
    prior = Manifest.from_json({"campaign": "durable", "jobs": {
        "still[i=0]": {"status": "pending", "input_sha256": sha["still[i=0]"], "request_id": "img_0",
                       "credits": {"estimated": {"min": 50, "max": 50}, "charged": 50}},
        "still[i=1]": {"status": "unknown", "input_sha256": sha["still[i=1]"], "request_id": None,
                       "request_body": {"image_url": "sent-as-recorded"}},
        "still[i=2]": {"status": "failed", "input_sha256": sha["still[i=2]"], "request_id": "img_2", "generation": 2},
        "still[i=3]": {"status": "not_submitted", "input_sha256": sha["still[i=3]"], "request_id": None},
        "clip[n=1]": clip,
        "es[n=1]": {"status": "pending", "input_sha256": es_sha, "request_id": "vid_tr_1"},
    }})
    plan, _ = build_plan(load_campaign(str(path)), prior)
    j = SqliteJournal(tmp_path / "j.sqlite")
    done = adopt_from_manifest(plan, j, prior)
    assert sorted(done.adopted) == ["es[n=1]", "still[i=0]", "still[i=1]", "still[i=2]"] and done.accepted == 4
    rows = {s.instance_id: s for s in j.all()}
    assert rows["still[i=0]"].state == J.ACCEPTED and rows["still[i=0]"].request_id == "img_0"
    assert rows["still[i=0]"].cost == 50  # it counts in the budget as charged
    assert rows["still[i=1]"].state == J.UNKNOWN and rows["still[i=1]"].body == {"image_url": "sent-as-recorded"}
    assert rows["still[i=2]"].state == J.FAILED and rows["still[i=2]"].generation == 2  # a re-render keys past it
    assert rows["es[n=1]"].body == es_body  # the body sent, resolved from the manifest's upstream outputs
    assert adopt_from_manifest(plan, j, prior).adopted == ()  # the journal knows them now


def test_a_manifest_the_disk_refuses_still_hands_over_the_ids(tmp_path: Path) -> None:
    from renderer.execute.durable import write_manifest
    from renderer.manifest import Manifest

    target = tmp_path / "not-a-folder"
    target.write_text("")  # a file where the manifest's folder should be
    data = Manifest.from_json({"jobs": {"a": {"status": "pending", "request_id": "img_1"},
                                        "b": {"status": "completed", "request_id": "x"}}})
    with pytest.raises(StateError) as info:
        write_manifest(target / "camp.manifest.json", data)
    assert str(info.value).startswith(f"{target / 'camp.manifest.json'}: cannot write the manifest")
    assert str(info.value).endswith("(keep these request ids): a=img_1")


def test_a_worktree_locks_in_the_git_folder_its_dot_git_file_names(tmp_path: Path) -> None:
    gitdir = tmp_path / "main-repo" / ".git" / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (tmp_path / "wt" / "campaigns").mkdir(parents=True)
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {gitdir}\n")
    path = write_campaign(tmp_path / "wt" / "campaigns", CAMPAIGN)
    first, second = RepositoryLock(path, "durable"), RepositoryLock(path, "durable")
    assert first.path is not None and first.path.parent == gitdir / "renderer"
    first.acquire()
    try:
        with pytest.raises(StateError, match="in progress in this repository"):
            second.acquire()
    finally:
        first.release()
    second.acquire()  # free again once the first run ends
    second.release()


def test_a_journal_named_by_an_earlier_version_is_carried_over(tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    path = write_campaign(tmp_path, images(2))
    state = tmp_path / ".renderer"
    assert go(path, {}, state, detach=True, sandbox=True)[0] == 0  # a rehearsal, left rendering
    current = only_journal(state)
    legacy = state / f"camp-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}.sqlite"
    current.rename(legacy)  # as the journal was named before: one per campaign, whatever the target
    path.with_name("camp.sandbox.manifest.json").unlink()  # and no manifest to adopt from: only that journal knows
    code, out = go(path, {}, state, sandbox=True)
    assert code == 0, out
    # carried over, and read as the rehearsal's: its ids are the ones the stand-in kept beside it
    assert f"the journal {legacy}" in out and "read as the sandbox's" in out and "adopted" not in out
    assert only_journal(state) == current
    db = sqlite3.connect(state / "sandbox" / "sandbox.sqlite")
    try:
        assert [n for (n,) in db.execute("SELECT n FROM seen")] == [1, 1]  # polled, never sent again
    finally:
        db.close()


def test_a_journal_of_an_earlier_version_belongs_to_the_default_base_urls_only(tmp_path: Path) -> None:
    from renderer.execute.stores import find_earlier_store
    from renderer.execute.sqlitestore import SqliteJournal

    path = write_campaign(tmp_path, images(2))
    state = tmp_path / ".renderer"
    untargeted = journal_path(state, path, "stills")  # the key before journals were kept per target
    SqliteJournal(untargeted).close()

    def found(env: dict[str, str], sandbox: bool) -> str | None:
        store = find_earlier_store(str(path), str(state), env, sandbox)
        if store is None:
            return None
        store.close()
        return store.label

    # read as the journal of the providers' default base URLs, as a manifest entry without a target
    assert found({}, sandbox=False) == str(untargeted)
    assert found({"SAMSAR_BASE_URL": "https://staging.samsar.example/v1"}, sandbox=False) is None
    assert found({}, sandbox=True) is None
