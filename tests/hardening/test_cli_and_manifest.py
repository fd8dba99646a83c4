"""The command line and the files around a campaign: limits on the command line,
a hostile manifest beside the campaign, and values that try to steer a terminal
or a CI log."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from helpers.hardening import job, run_cli

GOOD = job("      image_url: \"https://cdn.example.com/{{ matrix.city }}.png\"\n      resolution: 2k\n",
           extra="    matrix:\n      city: [lisbon, tokyo, lima]\n")


@pytest.mark.parametrize("value", ["0", "-5", "x", "1e3"])
def test_max_instances_must_be_a_positive_count(campaign, value: str) -> None:
    r = run_cli("validate", "--max-instances", value, campaign(GOOD))
    assert r.code == 2
    assert "--max-instances" in r.err


def test_max_instances_names_itself(campaign) -> None:
    path = campaign(GOOD)
    assert run_cli("validate", "--max-instances", "3", path).code == 0
    r = run_cli("plan", "--max-instances", "2", path)
    assert r.code == 1 and r.seconds < 1.0
    assert r.err == f"{path}:10:7: matrix of job 'a' expands to 3 instances; the limit is 2 (--max-instances)\n"


def test_a_matrix_of_a_billion_is_refused_before_it_is_built(campaign) -> None:
    axes = "".join(f"      k{i}: [" + ", ".join(str(v) for v in range(30)) + "]\n" for i in range(7))  # 30**7
    r = run_cli("plan", "--json", campaign(job("      image_url: https://x/a.png\n      resolution: 2k\n",
                                                extra="    matrix:\n" + axes)))
    assert r.code == 1 and r.seconds < 1.0
    assert "expands to 21870000000 instances; the limit is 200000 (--max-instances)" in r.err


# -- the manifest beside the campaign is in the pull request too ---------------------------

@pytest.fixture
def planned(campaign) -> tuple[Path, dict]:
    path = campaign(GOOD)
    r = run_cli("plan", "--json", path)
    assert r.code == 0, r.err
    return path, json.loads(r.out)


def manifest_beside(path: Path) -> Path:
    return path.with_name(path.stem + ".manifest.json")


@pytest.mark.parametrize("content, fragment", [
    ("[" * 100_000 + "]" * 100_000, "manifest is not readable JSON"),
    ("{\"jobs\": {\"a\": 5}}", "manifest: jobs['a'] must be an object"),
    ("{\"jobs\": []}", "manifest must be a JSON object with a `jobs` mapping"),
    ("{\"x\": 1}", "manifest must be a JSON object with a `jobs` mapping"),
    ("{\"jobs\": {\"a\": {\"status\": \"done\"}}}",
     "manifest: jobs['a'].status is 'done', not one of completed, failed, cancelled, pending, not_submitted, unknown"),
    ("not json", "manifest is not readable JSON"),
    ("\xff", "manifest is not readable JSON"),
    ("{\"jobs\": {\"a\\u001b[2J\": {}}}", "control characters"),
    ("{\"jobs\": {\"a\": {\"status\": \"\\ud800\"}}}", "surrogates not allowed"),
])
def test_a_broken_manifest_is_a_located_error(planned, content: str, fragment: str) -> None:
    path, _ = planned
    manifest_beside(path).write_bytes(content.encode("utf-8", "surrogateescape") if content != "\xff" else b"\xff")
    for command in (("plan",), ("plan", "--json")):
        r = run_cli(*command, path)
        assert r.code == 1 and r.seconds < 2.0, r
        assert r.err.startswith(f"{manifest_beside(path)}: ") and fragment in r.err, r.err


def test_a_completed_entry_with_wrong_types_is_refused_not_a_crash(planned) -> None:
    path, plan = planned
    first = plan["jobs"][0]
    entry = {"status": "completed", "input_sha256": first["input_sha256"], "result_urls": 5,
             "credits": [], "duration": "long"}
    manifest_beside(path).write_text(json.dumps({"jobs": {first["id"]: entry}}))
    r = run_cli("plan", path)
    assert r.code == 1
    assert "result_urls must be a list of strings" in r.err


def test_a_manifest_of_another_campaign_fails_the_plan_as_the_run_refuses_it(planned, tmp_path: Path) -> None:
    path, _ = planned
    other = tmp_path / "other.manifest.json"
    other.write_text(json.dumps({"campaign": "someone-else", "jobs": {}}))
    manifest_beside(path).write_text(json.dumps({"campaign": "old-name", "jobs": {}}))  # renamed since its run
    for manifest, theirs in ((("--manifest", other), "someone-else"), ((), "old-name")):
        for command in (("plan",), ("plan", "--json"), ("plan", "--markdown")):
            r = run_cli(*command, *manifest, path)
            assert r.code == 1 and r.out == "", r
            where = other if manifest else manifest_beside(path)
            assert r.err == (f"{where}: manifest records the campaign {theirs!r}, not 'hostile', and run will not "
                             "overwrite it: pass --manifest with this campaign's own manifest (renamed the campaign? "
                             "set the manifest's `campaign` to the new name)\n")
        if not manifest:  # refused before anything is sent (this test has no network)
            r = run_cli("run", "--state-dir", tmp_path / "state", path)
            assert r.code == 1 and "this manifest records the campaign 'old-name', not 'hostile'" in r.err


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom", "fifo"])
def test_a_manifest_symlinked_to_a_device_or_a_fifo_does_not_hang(planned, target: str) -> None:
    path, _ = planned
    if target == "fifo":
        os.mkfifo(manifest_beside(path))
    else:
        manifest_beside(path).symlink_to(target)
    r = run_cli("plan", path)
    assert r.code == 1 and r.seconds < 1.0
    assert "not a regular file" in r.err


# -- values that steer terminals and logs ----------------------------------------------------

STEERING = ["li\nsbon", "\x1b]0;owned\x07", "\x1b[2J", "\x9b2J", "a\r::error::fake", "\u2028::set-output name=x::y"]


def test_matrix_values_cannot_steer_the_output(campaign) -> None:
    values = ", ".join(json.dumps(v) for v in STEERING)
    text = job("      image_url: \"https://cdn.example.com/{{ matrix.city }}.png\"\n      resolution: [2k]\n",
               extra=f"    matrix:\n      city: [{values}]\n")
    path = campaign(text)
    r = run_cli("validate", path, env={"GITHUB_ACTIONS": "true"})
    assert r.code == 1
    for line in r.err.splitlines():  # one error per line, and every line is ours
        assert line.startswith((f"{path}:", "::error file=")) or line.endswith("errors"), repr(line)
        assert not any(ch in line for ch in "\x1b\x07\r\x9b\u2028"), repr(line)
    # in the URL itself a line break is refused (not a URL): encode it, the ids keep the raw values
    good = text.replace("resolution: [2k]", "resolution: 2k").replace("matrix.city }}", "matrix.city | urlencode }}")
    for command in (("plan", "--json"), ("plan", "--markdown"), ("plan",)):
        r = run_cli(*command, campaign(good))
        assert r.code == 0, r.err
        assert not any(ch in r.out for ch in "\x1b\x07\r\x9b\u2028"), (command, r.out[:2000])
        assert "\n::" not in r.out


def test_error_lines_escape_what_the_file_put_in_them(campaign) -> None:
    path = campaign("version: 1\nname: x\njobs:\n  a:\n    endpoint: \"samsar/x\\n::error::fake\\e[2J\"\n")
    r = run_cli("validate", path, env={"GITHUB_ACTIONS": "true"})
    assert r.code == 1
    assert "\\n::error::fake\\x1b[2J" in r.err
    assert all(ln.startswith((f"{path}:", "::error file=")) or ln == "2 errors" for ln in r.err.splitlines()), r.err


def test_a_campaign_name_that_looks_like_rich_markup(campaign) -> None:
    path = campaign(GOOD.replace("name: hostile", "name: \"[/] [link=https://evil.example]x[/link]\""))
    r = run_cli("plan", path)
    assert r.code == 0


def test_a_file_name_that_is_not_utf8_does_not_crash_the_console(tmp_path: Path) -> None:
    """Git allows any bytes in a file name; the console still prints it (as \\udcff)."""
    import subprocess
    import sys

    folder = os.fsencode(tmp_path)
    name = os.path.join(folder, b"bad\xff.yaml")
    with open(name, "w") as fh:
        fh.write("version: 2\nname: x\njobs: {}\n")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-m", "renderer.cli", "validate", name], capture_output=True, env=env,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert b"internal error" not in proc.stderr and b"Traceback" not in proc.stderr
    assert b"bad\\udcff.yaml:1:10: version must be 1, not 2" in proc.stderr


def test_a_big_constant_in_every_instance_is_bounded_for_the_campaign(campaign) -> None:
    """Each instance is fine; together 2,000 copies of a 2 MB prompt are 4 GB to check and hash."""
    from renderer.commands import Settings
    from renderer.commands import validate as validate_files
    from renderer.errors import Invalid
    from renderer.plan.planner import PlanLimits

    big = "y" * 2_000_000
    path = campaign("version: 1\nname: big\njobs:\n  a:\n    endpoint: samsar/image/enhance\n"
                    "    matrix:\n      i: [" + ", ".join(str(i) for i in range(2000)) + "]\n"
                    f"    input:\n      image_url: {big}\n      resolution: 2k\n")
    started = time.process_time()
    with pytest.raises(Invalid) as info:
        validate_files([str(path)], Settings(plan=PlanLimits(max_request_chars=50_000_000)))
    assert time.process_time() - started < 3.0
    message = str(info.value)
    assert message.startswith(f"{path}:9:7: a[i=24]: the requests of this campaign add up to more than 50000000 bytes; "
                              "the limit is 50000000 (max_request_chars)"), message


def test_needs_between_unrelated_matrices_are_bounded(campaign) -> None:
    """Two jobs that share no matrix key link every instance to every other: n * m links."""
    from renderer.commands import Settings
    from renderer.commands import validate as validate_files
    from renderer.errors import Invalid
    from renderer.plan.planner import PlanLimits

    values = ", ".join(str(i) for i in range(100))
    path = campaign(f"""version: 1
name: fanin
jobs:
  a:
    endpoint: samsar/image/enhance
    matrix: {{x: [{values}]}}
    input: {{image_url: "https://x/{{{{ matrix.x }}}}.png", resolution: 2k}}
  b:
    endpoint: samsar/image/enhance
    needs: [a]
    matrix: {{y: [{values}]}}
    input: {{image_url: "https://x/{{{{ matrix.y }}}}.png", resolution: 2k}}
""")
    with pytest.raises(Invalid) as info:
        validate_files([str(path)], Settings(plan=PlanLimits(max_needs_links=5000)))
    assert str(info.value).startswith(f"{path}:10:13: b[y=50]: instances of this campaign need more than 5000 upstream "
                                      "instances in all; the limit is 5000 (max_needs_links)"), str(info.value)
    validate_files([str(path)], Settings(plan=PlanLimits(max_needs_links=10_000)))  # 100 x 100 fits


def test_results_of_a_hostile_manifest_cannot_steer_the_output(tmp_path: Path) -> None:
    entries = {f"j{n}": {"status": "failed", "error": v, "download_error": v} for n, v in enumerate(STEERING)}
    entries["ok"] = {"status": "completed", "result_urls": [f"https://cdn.example.com/{v}.png" for v in STEERING]}
    path = tmp_path / "c.yaml"  # `results` reads the manifest only
    manifest_beside(path).write_text(json.dumps({"campaign": "c", "jobs": entries}))
    r = run_cli("results", path)
    assert r.code == 0
    assert len(r.out.splitlines()) == 2 * len(STEERING) + 2  # one line per job, one per download error, the figures
    assert not any(ch in r.out for ch in "\x1b\x07\r\x9b\u2028") and "\n::" not in r.out
    assert "      failed  j4  a\\r::error::fake\n" in r.out
