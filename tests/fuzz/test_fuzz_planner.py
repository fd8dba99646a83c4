"""Mutated campaigns through the planner: a located error or a valid plan, never a crash.

Seeds are the example campaigns of campaigns/*.yaml. A mutation deletes,
duplicates or retypes a key anywhere in the document, drops a template (a
well-formed one, a hostile one, or random Jinja-ish text) into any string, or
writes a random matrix, include/exclude and needs for a job.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from helpers.fuzz import FUZZ, SEEDS, outcome, write
from renderer.plan.model import Plan

SEED_DATA = {p.name: yaml.safe_load(p.read_text("utf-8")) for p in SEEDS}

TEMPLATES = [
    "{{ matrix.city }}", "{{ vars.brand }}", "{{ vars.brand|upper }}", "{{ needs.stills.result_url }}",
    "{{ needs.teaser | map(attribute='session_id') | list }}", "{{ matrix }}", "{{ vars }}", "{{ needs }}",
    "{{ range(3)|list }}", "{{ 1/0 }}", "{{ [1][5] }}", "{{ none.x }}", "{{ {'a': 1}.b }}", "{{ 'x'|int }}",
    "{{ ''.__class__ }}", "{{ '{0.__class__}'.format(1) }}", "{{ 'a' * 10**9 }}", "{{ 9 ** (9 ** 9) }}",
    "{% for i in range(10**9) %}{% endfor %}", "{{ lipsum() }}", "{{ self }}", "{% include 'x' %}", "{{", "}}",
    "{% if %}", "{% endfor %}", "{# unclosed", "{{ range(3)|map('center', 10**9)|list }}", "{{ 1 if }}",
    "{{ needs.nope.x }}", "{{ matrix.city ~ needs.stills.result_url }}", "{{ (needs.teaser|list)[0] }}",
    "{{ true }}", "{{ 3.5 }}", "{{ none }}", "{{ [1, 2] }}", "{{ {'k': [1]} }}", "{{ -1 }}", "{{ 10 ** 300 }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "{{ '%s' % vars }}", "{{ vars|tojson }}",
]
JINJA_CHARS = "abcxyz019_.|()[]'\"+-*/%~ ,:{}!=<>#"
RANDOM_TEMPLATES = st.builds(lambda s: "{{ " + s + " }}", st.text(JINJA_CHARS, max_size=25)) | st.builds(
    lambda s: "{% " + s + " %}", st.text(JINJA_CHARS, max_size=25))
VALUES = (
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=15)
    | st.sampled_from(TEMPLATES) | RANDOM_TEMPLATES | st.lists(st.integers(0, 3), max_size=3)
    | st.dictionaries(st.sampled_from(["a", "id", "from", "min", "max"]), st.integers(0, 3) | st.text(max_size=5), max_size=3)
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, prefix + (i,))
    return out


def parent_of(doc: Any, path: tuple) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


BENIGN = st.sampled_from(["{{ 'x' }}", "{{ 1 + 1 }}", "{% if true %}a{% endif %}", "{{ 'a'|upper }}",
                          "{{ range(2)|join(',') }}", "{# note #}", "{{ '%s' % 1 }}", "{% for i in range(2) %}{{ i }}{% endfor %}"])


def job_paths(doc: Any) -> list[tuple]:
    """Paths inside jobs (where the planner works) more often than the head of the file."""
    inner = [p for p in paths(doc) if len(p) >= 3 and p[0] == "jobs"]
    return inner or [p for p in paths(doc) if p]


@FUZZ
@given(st.sampled_from(sorted(SEED_DATA)), st.data())
def test_mutated_seed_campaigns(name: str, data) -> None:
    doc = copy.deepcopy(SEED_DATA[name])
    for _ in range(data.draw(st.integers(1, 2))):
        anywhere = data.draw(st.integers(0, 9)) == 0
        candidates = [p for p in paths(doc) if p] if anywhere else job_paths(doc)
        if not candidates:
            break
        path = data.draw(st.sampled_from(candidates))
        parent = parent_of(doc, path)
        op = data.draw(st.sampled_from(["delete", "retype", "template", "benign", "benign", "duplicate", "wrap"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "retype":
            parent[path[-1]] = data.draw(VALUES)
        elif op == "template":
            current = parent[path[-1]]
            tpl = data.draw(st.sampled_from(TEMPLATES) | RANDOM_TEMPLATES)
            parent[path[-1]] = (current + tpl) if isinstance(current, str) and data.draw(st.booleans()) else tpl
        elif op == "benign" and isinstance(parent[path[-1]], str):  # keeps the file valid: the planner runs on
            parent[path[-1]] += data.draw(BENIGN)
        elif op == "duplicate" and isinstance(parent, dict):
            parent[f"{path[-1]}_copy"] = copy.deepcopy(parent[path[-1]])
        elif op == "wrap":
            parent[path[-1]] = [parent[path[-1]]] if data.draw(st.booleans()) else {"from": parent[path[-1]]}
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if data.draw(st.integers(0, 7)) == 0:  # a duplicated line: often a duplicate key, always a located error
        lines = text.splitlines(keepends=True)
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)))
        text = "".join(lines[: i + 1] + lines[i:])
    outcome(write("mutant.yaml", text))


CITY = st.sampled_from(["lisbon", "tokyo", "lima", "a,b", "x=y", "[z]", "é", "\x1b[2J"]) | st.integers(0, 3)
ROW = st.fixed_dictionaries({"id": CITY}, optional={"x": st.integers(0, 2) | st.text(max_size=3)})
MATRIX_VALUES = st.lists(CITY, min_size=1, max_size=4) | st.lists(ROW, min_size=1, max_size=3)
MATRICES = st.dictionaries(st.sampled_from(["city", "language", "k"]), MATRIX_VALUES | st.sampled_from(
    [{"from": "data/listings.csv"}, {"from": "../x.csv"}, {"from": "data/missing.json"}]), max_size=3)
INCLUDES = st.lists(st.dictionaries(st.sampled_from(["city", "language", "k", "extra"]), CITY, min_size=1, max_size=3), max_size=3)
GOOD_TEMPLATES = st.sampled_from([t for t in TEMPLATES if "matrix" in t or "needs" in t or "vars" in t][:12])


@FUZZ
@given(st.lists(st.tuples(MATRICES, INCLUDES, INCLUDES, st.sets(st.integers(0, 3), max_size=2),
                          GOOD_TEMPLATES | st.sampled_from(TEMPLATES) | RANDOM_TEMPLATES), min_size=1, max_size=4))
def test_random_matrices_includes_and_needs(jobs: list) -> None:
    doc: dict[str, Any] = {"version": 1, "name": "fuzz", "vars": {"brand": "Acme"}, "jobs": {}}
    for i, (matrix, include, exclude, needs, tpl) in enumerate(jobs):
        job: dict[str, Any] = {"endpoint": "samsar/image/enhance",
                               "input": {"image_url": f"https://x/{tpl}.png", "resolution": "2k"}}
        if matrix:
            job["matrix"] = dict(matrix, **({"include": include} if include else {}), **({"exclude": exclude} if exclude else {}))
        upstream = sorted(f"j{n}" for n in needs if n < i)  # earlier jobs only: a DAG
        if upstream:
            job["needs"] = upstream
        doc["jobs"][f"j{i}"] = job
    result = outcome(write("matrices.yaml", yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)))
    if isinstance(result, Plan):
        ids = [i.id for i in result.instances]
        assert len(ids) == len(set(ids)), "two instances share an id"
