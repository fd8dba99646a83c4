"""The planner's one walk: validate keeps nothing and finds what plan finds; ids and
links made from the axes agree with the lists they replace; a request's size is the
bytes that are hashed."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from renderer import jsonfast
from renderer.campaign.campaign import load_campaign
from renderer.campaign.yamlfile import load_text
from renderer.errors import Invalid
from renderer.plan.matrix import expand, expansion, instance_id
from renderer.plan.planner import PlanLimits, Planner, build_plan, canonical_sha256, check_plan
from renderer.plan.render import Link, link_key
from renderer.plan.templates import PendingOutputs
from renderer.vocabulary import Pending

from .conftest import errors_of, plan_file

ROOT = Path(__file__).resolve().parents[2]
DOC = load_text("a: 1", "m.yaml")


@functools.lru_cache(maxsize=None)
def outcome(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) of a plan, and separately of validate's walk: they must be equal."""
    campaign = load_campaign(str(path))
    try:
        plan, _ = build_plan(campaign)
        planned: tuple[list[str], list[str]] = ([], [str(w) for w in plan.warnings])
    except Invalid as exc:
        planned = ([str(e) for e in exc.errors], [])
    try:
        checked: tuple[list[str], list[str]] = ([], [str(w) for w in check_plan(campaign)])
    except Invalid as exc:
        checked = ([str(e) for e in exc.errors], [])
    assert checked == planned, path
    return planned


def loadable(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        if "took more than" in p.read_text("utf-8", "replace")[:2000]:
            continue  # a render stopped by its time limit: seconds each, and the same words either way
        try:
            load_campaign(str(p))
        except Invalid:
            continue  # refused before any instance: both commands share that
        out.append(p)
    return out


CAMPAIGNS = sorted((ROOT / "campaigns").glob("*.yaml")) + [ROOT / "tests" / "data" / "contract-example.yaml"]
CORPUS = loadable(sorted((ROOT / "tests" / "hardening" / "corpus").glob("*.yaml")))


@pytest.mark.parametrize("path", CAMPAIGNS + CORPUS, ids=lambda p: p.stem)
def test_validate_finds_exactly_what_plan_finds(path: Path) -> None:
    outcome(path)


def test_the_corpus_still_has_files_refused_per_instance() -> None:
    assert len(CORPUS) >= 20  # the comparison above is not vacuous
    assert sum(bool(outcome(p)[0]) for p in CORPUS) >= 15


def test_validate_keeps_no_instance(write) -> None:
    planner = Planner(load_campaign(str(write(CHAIN))))
    assert planner.check() == ()
    assert planner.instances == {} and planner.warnings == {} and planner.errors == []
    assert set(planner.jobs) == {"stills", "clips", "cuts"}  # compiled once per job, not per instance


CHAIN = """
version: 1
name: chain
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix: {city: [lisbon, lima], shot: [1, 2, 3]}
    input: {image_url: "https://cdn.example.com/{{ matrix.city }}/{{ matrix.shot }}.png", resolution: 2k}
  clips:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix: {city: [lisbon, lima], shot: [1, 2, 3], language: [en, es]}
    estimate: {duration: 10}
    input: {image_urls: ["{{ needs.stills.result_url }}"], video_model: RUNWAYML, language: "{{ matrix.language }}"}
  cuts:
    endpoint: samsar/video/join_videos
    needs: [clips]
    matrix: {city: [lisbon, lima]}
    input: {session_ids: "{{ needs.clips | map(attribute='session_id') | list }}"}
"""


MATRICES: list[dict[str, Any]] = [
    {"city": ["lisbon", "tokyo"], "language": ["en", "es"]},
    {"n": [1, 2, 3], "flag": [True, False, None], "f": [0.5, 1e-05]},
    {"row": [{"id": "a", "x": 1}, {"name": "b"}], "list": [[1, 2], ["x"]]},
    {"one": "scalar"},
    {"esc": ["a\x1bb", "new\nline", "tab\t"], "u": ["\u2028", "é"]},
    {"city": ["lisbon", "tokyo"], "exclude": [{"city": "tokyo"}], "include": [{"city": "lima"}]},
]


@pytest.mark.parametrize("matrix", MATRICES)
def test_expansion_makes_the_ids_and_values_expand_makes(matrix: dict[str, Any]) -> None:
    want = [(instance_id("j", c), dict(c.values)) for c in expand("j", matrix, DOC, Path(".")) or []]
    made = expansion("j", matrix, DOC, Path("."))
    assert [(i, dict(v)) for i, v in made] == want
    assert made.count == len(want)
    assert list(expansion("j", None, DOC, Path("."))) == [("j", {})]


def test_ids_are_remembered_only_where_they_could_repeat() -> None:
    def unique(matrix: dict[str, Any]) -> bool:
        return expansion("j", matrix, DOC, Path(".")).unique

    assert unique({"a": ["x", "y"], "b": [1, 2]})
    assert not unique({"a": [1, "1"]})  # both shown as a=1
    assert not unique({"a": ["x,b=y", "x"], "b": ["z", "y,b=z"]})  # a comma lets two ids meet
    assert not unique({"a": ["x"], "include": [{"a": "x"}]})


def test_ids_that_meet_through_a_comma_are_refused(write) -> None:
    path = write("""
        version: 1
        name: commas
        jobs:
          j:
            endpoint: samsar/image/enhance
            matrix: {a: ["x,b=y", "x"], b: ["z", "y,b=z"]}
            input: {image_url: "https://cdn.example.com/{{ matrix.a }}{{ matrix.b }}.png", resolution: 2k}
        """)
    assert any("matrix names instance j[a=x,b=y,b=z] twice" in e for e in errors_of(path))
    assert outcome(path)[0]


def test_named_links_match_what_an_index_matches() -> None:
    def indexed(up: Any, shared: tuple[str, ...]) -> Link:
        index: dict[tuple[Any, ...], list[str]] = {}
        for up_id, values in up:
            index.setdefault(link_key(values, shared), []).append(up_id)
        return Link(up.job, shared, False, index)

    up = expansion("up", {"a": ["x", "y"], "n": [1, 2]}, DOC, Path("."))
    named = Link.to(up, ("a", "n"), False)
    assert named.named is not None and named.index == {}  # no index of every upstream instance
    for values in ({"a": "x", "n": 1}, {"a": "y", "n": 2, "extra": 5}, {"a": "z", "n": 1}, {"a": "x"},
                   {"a": "x", "n": "1"}, {"a": "x", "n": 1.0}, {"a": "x", "n": True}):
        assert named.matches(values) == indexed(up, ("a", "n")).matches(values), values
    assert named.matches({"a": "y", "n": 2}) == ["up[a=y,n=2]"]
    # 1 and True are one key to a dict: such an upstream is indexed, as before
    assert Link.to(expansion("up", {"n": [1, True]}, DOC, Path(".")), ("n",), False).named is None
    assert Link.to(up, ("a",), True).named is None  # fan-in: an index of lists


def test_a_request_is_sized_by_the_bytes_that_are_hashed(write) -> None:
    path = write("""
        version: 1
        name: sized
        jobs:
          j:
            endpoint: samsar/image/enhance
            matrix: {city: [lisbon, tokyo, lima]}
            input: {image_url: "https://cdn.example.com/{{ matrix.city }}.png", resolution: 2k}
        """)
    plan, _ = plan_file(path)
    sizes = [len(jsonfast.canonical({"endpoint": i.endpoint, "body": i.body})) for i in plan.instances]
    assert [canonical_sha256(i.endpoint, i.body) for i in plan.instances] == [i.input_sha256 for i in plan.instances]
    campaign = load_campaign(str(path))
    build_plan(campaign, limits=PlanLimits(max_request_chars=sum(sizes)))  # exactly fits
    check_plan(campaign, PlanLimits(max_request_chars=sum(sizes)))
    with pytest.raises(Invalid) as info:
        check_plan(campaign, PlanLimits(max_request_chars=sum(sizes) - 1))
    assert str(info.value.errors[0]).startswith(f"{path}:7:12: j[city=lima]: the requests of this campaign add up to "
                                                f"more than {sum(sizes) - 1} bytes")


@pytest.mark.parametrize("where", ["matrix", "vars", "input"])
def test_a_float_the_encoders_write_differently_is_hashed_as_the_stdlib_writes_it(write, where: str) -> None:
    """Bodies known to hold no such float skip the search; a plain lookup of one must not."""
    value = "{{ matrix.x }}" if where == "matrix" else "{{ vars.x }}" if where == "vars" else 1e-05
    path = write(f"""
        version: 1
        name: floats
        vars: {{x: 1.0e-05}}
        jobs:
          j:
            endpoint: samsar/video/text_to_video
            matrix: {{x: [1.0e-05]}}
            input:
              prompt: "p"
              image_model: GPTIMAGE2
              video_model: RUNWAYML
              duration: {json.dumps(value)}
        """)
    plan, _ = plan_file(path)
    inst = plan.instances[0]
    text = json.dumps({"endpoint": inst.endpoint, "body": inst.body}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    assert '"duration":1e-05' in text  # orjson writes 0.00001
    assert inst.input_sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_pending_outputs_are_made_when_read() -> None:
    outputs = PendingOutputs("a[x=1]")
    assert outputs.result_url == Pending("a[x=1]", "result_url") == outputs["result_url"]
    assert outputs.session_id == outputs.session_id
    with pytest.raises(AttributeError):
        outputs.nothing  # noqa: B018
    with pytest.raises(KeyError):
        outputs["nothing"]


def test_plain_substitutions_import_neither_jinja_nor_jsonschema(write) -> None:
    flat = write("""
        version: 1
        name: flat
        jobs:
          j:
            endpoint: samsar/image/enhance
            matrix: {city: [lisbon, tokyo]}
            input: {image_url: "https://cdn.example.com/{{ matrix.city }}.png", resolution: 2k}
        """, "flat.yaml")
    filtered = write(flat.read_text().replace("{{ matrix.city }}", "{{ matrix.city | upper }}"), "filtered.yaml")
    probe = ("import sys, io; from renderer.commands.plan import plan; from renderer.commands.validate import validate; "
             "validate([sys.argv[1]]); plan(sys.argv[1], io.StringIO(), fmt='json'); "
             "print(sorted({'jinja2', 'jsonschema'} & set(sys.modules)))")

    def imported(path: Path) -> str:
        return subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True,
                              timeout=120).stdout.strip()

    assert imported(flat) == "[]"  # 7 MB and tens of ms that such a campaign does not need
    assert imported(filtered) == "['jinja2']"
