"""What you write is what is sent (issue 11), over real runs against the sandbox on loopback:
names that are Python attributes render the user's values and a second run pays for nothing;
the manifest records each request; `plan --show-inputs` shows bodies and what changed."""

from __future__ import annotations

import io
import json
from pathlib import Path

from helpers.runs import FAST_JSON, counters, env_for, make_sandbox, write_campaign
from jsonschema import Draft202012Validator

from renderer.cli import main
from renderer.campaign.schemas import PLAN_SCHEMA, load_schema

NAMES_CAMPAIGN = """
version: 1
name: names
vars: {items: vi, keys: vk, values: vv, get: vg, copy: vc, update: vu, pop: vp, zip: 012, when: 1:20}
jobs:
  items:
    endpoint: samsar/image/enhance
    matrix:
      keys: [NO]
      values: ["on"]
      row: {from: rows.csv}
    input:
      image_url: "https://cdn.example.com/{{ matrix.keys }}-{{ matrix['values'] }}/{{ matrix.row.items }}{{ matrix.row.get }}{{ matrix.row.copy }}{{ matrix.row.update }}{{ matrix.row.pop }}/{{ vars.items }}{{ vars.keys }}{{ vars.values }}{{ vars.get }}{{ vars.copy }}{{ vars.update }}{{ vars.pop }}-{{ vars.zip }}-{{ vars.when }}.png"
      resolution: 2k
  keys:
    endpoint: samsar/image/enhance
    needs: [items]
    input: {image_url: "{{ needs.items[0].result_url }}"}
  values:
    endpoint: samsar/image/enhance
    needs: [keys]
    input: {image_url: "{{ needs.keys.result_url }}"}
  get:
    endpoint: samsar/image/enhance
    needs: [values]
    input: {image_url: "{{ needs.values.result_url }}"}
  copy:
    endpoint: samsar/image/enhance
    needs: [get]
    input: {image_url: "{{ needs.get.result_url }}"}
  update:
    endpoint: samsar/image/enhance
    needs: [copy]
    input: {image_url: "{{ needs['copy'].result_url }}"}
  pop:
    endpoint: samsar/video/image_list_to_video
    needs: [update]
    matrix:
      items: [NO]
      pop: [012]
    input:
      image_urls: ["{{ needs.update.result_url }}"]
      prompt: "{{ matrix.items }} {{ matrix.pop }} {{ needs.update.status }}"
      language: "{{ 'no' if matrix.items == 'NO' else 'en' }}"
"""


def cli(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env={**env, "RENDERER_EXEC_SETTINGS": FAST_JSON})
    return code, out.getvalue(), err.getvalue()


def test_names_like_python_attributes_are_sent_as_written_and_a_second_run_submits_nothing(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("id,items,get,copy,update,pop\nr1,I,G,C,U,P\n", encoding="utf-8")
    path = write_campaign(tmp_path, NAMES_CAMPAIGN)
    with make_sandbox() as sb:
        env = env_for(sb)
        code, out, err = cli("run", str(path), "--state-dir", str(tmp_path / ".renderer"), env=env)
        assert code == 0, out + err
        first = json.loads(path.with_name("camp.manifest.json").read_text("utf-8"))
        accepted = counters(sb)["accepted_total"]
        assert accepted == 7
        jobs = first["jobs"]
        assert jobs["items[keys=NO,values=on,row=r1]"]["request"] == {
            "image_url": "https://cdn.example.com/NO-on/IGCUP/vivkvvvgvcvuvp-012-1:20.png", "resolution": "2k"}
        # each needs.<job> named like a dict method is that job's outputs
        for up, down in (("items[keys=NO,values=on,row=r1]", "keys"), ("keys", "values"), ("values", "get"),
                         ("get", "copy"), ("copy", "update")):
            assert jobs[down]["request"] == {"image_url": jobs[up]["result_url"]}, down
        assert jobs["pop[items=NO,pop=012]"]["request"] == {"input": {
            "image_urls": [jobs["update"]["result_url"]], "prompt": "NO 012 completed", "language": "no"}}
        assert all(e["status"] == "completed" for e in jobs.values())
        assert "0x" not in json.dumps(first)

        code, out, err = cli("run", str(path), "--state-dir", str(tmp_path / ".renderer"), env=env)
        assert code == 0, out + err
        assert counters(sb)["accepted_total"] == accepted  # nothing submitted, nothing paid
        second = json.loads(path.with_name("camp.manifest.json").read_text("utf-8"))
        assert second["jobs"] == first["jobs"]
        code, out, _ = cli("plan", str(path), "--json", env=env)  # against the same API: all reused
        assert code == 0 and json.loads(out)["credits"] == {"min": 0, "max": 0}


SHOW = """
version: 1
name: show
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, tokyo]
    input:
      image_urls: ["{{ needs.stills.result_url }}"]
      prompt: "Sunny {{ matrix.city }}"
      video_model: RUNWAYML
"""


def test_show_inputs_shows_bodies_and_the_fields_an_edit_changed(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, SHOW)
    code, out, err = cli("plan", str(path), "--show-inputs", env={})
    assert code == 0, err
    inputs = out[out.index("Inputs of the 4 job(s) to run:"):]
    assert inputs == """Inputs of the 4 job(s) to run:

stills[city=lisbon]  samsar/image/enhance  (added)
  {
    "image_url": "https://cdn.example.com/lisbon.png",
    "resolution": "2k"
  }

stills[city=tokyo]  samsar/image/enhance  (added)
  {
    "image_url": "https://cdn.example.com/tokyo.png",
    "resolution": "2k"
  }

teaser[city=lisbon]  samsar/video/image_list_to_video  (added)
  {
    "input": {
      "image_urls": [
        "<pending stills[city=lisbon].result_url>"
      ],
      "prompt": "Sunny lisbon",
      "video_model": "RUNWAYML"
    }
  }

teaser[city=tokyo]  samsar/video/image_list_to_video  (added)
  {
    "input": {
      "image_urls": [
        "<pending stills[city=tokyo].result_url>"
      ],
      "prompt": "Sunny tokyo",
      "video_model": "RUNWAYML"
    }
  }
"""
    with make_sandbox() as sb:
        code, out, err = cli("run", str(path), "--state-dir", str(tmp_path / ".renderer"), env=env_for(sb))
        assert code == 0, out + err
    manifest = json.loads(path.with_name("camp.manifest.json").read_text("utf-8"))
    lisbon_still = manifest["jobs"]["stills[city=lisbon]"]["result_url"]

    path.write_text(SHOW.replace('prompt: "Sunny {{ matrix.city }}"',
                                 'prompt: "{{ \'Rainy\' if matrix.city == \'tokyo\' else \'Sunny\' }} {{ matrix.city }}"\n'
                                 '      language: es'), encoding="utf-8")
    code, out, err = cli("plan", str(path), "--show-inputs", env=env_for(sb))  # the target the run used
    assert code == 0, err
    inputs = out[out.index("Inputs of the 2 job(s) to run:"):]
    assert inputs.startswith(f"""Inputs of the 2 job(s) to run:

teaser[city=lisbon]  samsar/video/image_list_to_video  (changed)
  why: its request changed
  ~ input.language: (none) -> "es"
  {{
    "input": {{
      "image_urls": [
        "{lisbon_still}"
      ],
      "prompt": "Sunny lisbon",
      "language": "es",
      "video_model": "RUNWAYML"
    }}
  }}

teaser[city=tokyo]  samsar/video/image_list_to_video  (changed)
  why: its request changed
  ~ input.prompt: "Sunny tokyo" -> "Rainy tokyo"
  ~ input.language: (none) -> "es"
"""), inputs

    code, out, err = cli("plan", str(path), "--json", "--show-inputs", env=env_for(sb))
    assert code == 0, err
    doc = json.loads(out)
    Draft202012Validator(load_schema(PLAN_SCHEMA)).validate(doc)
    by_id = {j["id"]: j for j in doc["jobs"]}
    assert "body" not in by_id["stills[city=lisbon]"]  # reused: nothing is sent
    assert by_id["teaser[city=tokyo]"]["change"] == {"reason": "its request changed", "fields": [
        {"field": "input.prompt", "old": "Sunny tokyo", "new": "Rainy tokyo"},
        {"field": "input.language", "new": "es"},
    ]}
    assert by_id["teaser[city=tokyo]"]["body"]["input"]["prompt"] == "Rainy tokyo"
    code, out, _ = cli("plan", str(path), "--json", env=env_for(sb))
    assert code == 0 and all("body" not in j and "change" not in j for j in json.loads(out)["jobs"])
    code, out, err = cli("plan", str(path), "--markdown", "--show-inputs", env=env_for(sb))
    assert code == 0, err  # the pull-request comment shows what changed too (tests/cikit/test_markdown.py)
    assert '- input.prompt: "Sunny tokyo"\n+ input.prompt: "Rainy tokyo"\n+ input.language: "es"' in out
