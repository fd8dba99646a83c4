"""Random bytes, random text and random YAML structures: a located error or a valid plan."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from helpers.fuzz import FUZZ, SEEDS, outcome, write

YAMLISH = "abcxyz019 -:,[]{}&*!|>'\"#%@`?\n\t\\.<=~$^()_+"


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    outcome(write("bytes.yaml", data))


@FUZZ
@given(st.text(alphabet=YAMLISH, max_size=400))
def test_yaml_looking_text(text: str) -> None:
    outcome(write("text.yaml", text))


@FUZZ
@given(st.text(max_size=300))
def test_any_unicode_text(text: str) -> None:
    outcome(write("unicode.yaml", text))


SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
    | st.sampled_from(["{{ matrix.city }}", "{{ vars.x }}", "{{ needs.a.result_url }}", "samsar/image/enhance",
                       "{% for i in range(3) %}{{ i }}{% endfor %}", "{{ '{0.__class__}'.format(1) }}", "{{"])
)
KEYS = st.sampled_from(["version", "name", "jobs", "vars", "matrix", "input", "endpoint", "needs", "budget",
                        "max_credits", "estimate", "include", "exclude", "from", "providers", "pricing", "a", "b"]) | st.text(max_size=8)
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5), max_leaves=40)


@FUZZ
@given(TREES)
def test_random_structures_dumped_as_yaml(tree: object) -> None:
    outcome(write("tree.yaml", yaml.safe_dump(tree, allow_unicode=True)))


@FUZZ
@given(st.dictionaries(KEYS, TREES, max_size=6))
def test_random_structures_under_a_campaign_head(extra: dict) -> None:
    doc = {"version": 1, "name": "fuzz", "jobs": {"a": {"endpoint": "samsar/image/enhance",
                                                        "input": {"image_url": "https://x/a.png", "resolution": "2k"}}}}
    doc.update(extra)
    outcome(write("head.yaml", yaml.safe_dump(doc, allow_unicode=True)))


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_seed_campaigns_cut_and_spliced(seed, data) -> None:
    raw = seed.read_bytes()
    cut = data.draw(st.integers(0, len(raw)))
    junk = data.draw(st.binary(max_size=40) | st.sampled_from([b"\t", b"&a ", b"*a", b"!!python/object:os.system ", b"<<: *a\n",
                                                               b"[" * 80, b"{{ ", b"\xff", b"\n---\n", b"\x00"]))
    keep = data.draw(st.booleans())
    mutated = raw[:cut] + junk + (raw[cut:] if keep else b"")
    outcome(write("spliced.yaml", mutated))
