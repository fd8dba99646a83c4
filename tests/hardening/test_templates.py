"""Templates: no way out of the sandbox, no way to the environment, and bounded work.

The corpus holds one campaign per known escape; these tests check the limits are
configurable and named, that ordinary templates still work with the guards in
place, and that no route reaches a variable of the process environment.
"""

from __future__ import annotations

import json
import time

import pytest

from helpers.hardening import CANARIES, OTHER_CANARY, SAMSAR_CANARY, job, run_cli
from renderer.errors import LimitError, Location, TemplateError
from renderer.plan.templates import Compiler, TemplateLimits

WHERE = lambda path: Location("c.yaml", 3, 5)  # noqa: E731
CTX = {"vars": {"brand": "Acme", "tags": ["a", "b"], "n": 3}, "matrix": {"city": "lisbon"}, "needs": {}}


def render(text: str, limits: TemplateLimits = TemplateLimits()) -> object:
    return Compiler(limits).compile(text, WHERE)(CTX)


@pytest.mark.parametrize("text, expected", [
    ("{{ vars.brand ~ '-' ~ matrix.city }}", "Acme-lisbon"),
    ("{{ '%s-%03d' % (vars.brand, 7) }}", "Acme-007"),
    ("{{ '{}-{}'.format(vars.brand, 2) }}", "Acme-2"),
    ("{{ '{b}'.format_map({'b': 1}) }}", "1"),
    ("{{ 'ab' * 3 }}", "ababab"),
    ("{{ [1, 2] + [3] }}", [1, 2, 3]),
    ("{{ vars.tags * 2 }}", ["a", "b", "a", "b"]),
    ("{{ 2 ** 10 }}", 1024),
    ("{{ (10 ** 100) * 3 > 0 }}", True),
    ("{{ vars.brand|center(8) }}", "  Acme  "),
    ("{{ vars.brand.ljust(6, '.') }}", "Acme.."),
    ("{{ vars.tags|join(', ') }}", "a, b"),
    ("{{ ', '.join(vars.tags) }}", "a, b"),
    ("{{ vars.brand|replace('A', 'a') }}", "acme"),
    ("{{ vars.brand.replace('c', 'k') }}", "Akme"),
    ("{{ 'a b c'|wordwrap(3) }}", "a b\nc"),
    ("{{ 'x'|indent(2, true) }}", "  x"),
    ("{{ range(5)|batch(2, 0)|list }}", [[0, 1], [2, 3], [4, 0]]),
    ("{{ range(4)|slice(2)|list }}", [[0, 1], [2, 3]]),
    ("{{ {'a': vars.tags}|tojson }}", '{"a": ["a", "b"]}'),
    ("{{ {'a': 1}|tojson(indent=2) }}", '{\n  "a": 1\n}'),
    ("{{ [1, 2, 3]|sum }}", 6),
    ("{{ '%05.1f'|format(2.5) }}", "002.5"),
    ("x{% for t in vars.tags %}{{ loop.index }}{{ t }}{% endfor %}", "x1a2b"),
    ("{% macro m(s) %}<{{ s }}>{% endmacro %}{{ m(vars.brand) }}", "<Acme>"),
    ("{% set a, b = 1, 2 %}{{ a + b }}", "3"),
    ("{{ {'k': [vars.brand, (1, 2)]} }}", {"k": ["Acme", [1, 2]]}),
])
def test_ordinary_templates_still_work(text: str, expected: object) -> None:
    assert render(text) == expected


@pytest.mark.parametrize("text, limits, message", [
    ("{{ 'a' * 101 }}", TemplateLimits(max_built_chars=100),
     "template builds more than 100 characters; the limit is 100 (max_built_chars)"),
    ("{{ 2 ** 200 }}", TemplateLimits(max_int_bits=100),
     "template builds a number over 100 bits; the limit is 100 (max_int_bits)"),
    ("{{ range(11)|list }}", TemplateLimits(max_range=10), "template not allowed: range of 11 items; the limit is 10"),
    ("x{{ 'a' * 20 }}", TemplateLimits(max_output_chars=10), "template output is 21 characters; the limit is 10"),
    ("{{ ['a' * 6] * 2 }}", TemplateLimits(max_output_chars=10), "template output is more than 10 characters; the limit is 10"),
    ("{{ '" + "x" * 50 + "' }}", TemplateLimits(max_template_chars=20), "template is 58 characters; the limit is 20 (max_template_chars)"),
])
def test_every_limit_is_configurable_and_named(text: str, limits: TemplateLimits, message: str) -> None:
    with pytest.raises((LimitError, TemplateError)) as info:
        render(text, limits)
    assert info.value.message == message
    assert info.value.location == Location("c.yaml", 3, 5)


@pytest.mark.parametrize("text", [
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}",
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{% endfor %}{% endfor %}",
    "{{ range(10000)|map('string')|map('center', 3)|list|length }}{% for i in range(10000) %}{% for j in range(10000) %}"
    "{% for k in (range(10000)|list) %}{% endfor %}{% endfor %}{% endfor %}",
])
def test_render_time_is_bounded_inside_the_render(text: str) -> None:
    limits = TemplateLimits(max_seconds=0.2)
    started = time.process_time()
    with pytest.raises(LimitError) as info:
        render(text, limits)
    assert time.process_time() - started < 1.0
    assert info.value.message in ("template took more than 0.2 s to render",
                                  "template builds more than 8000000 characters; the limit is 8000000 (max_built_chars)")


def test_the_whole_campaign_has_a_time_budget() -> None:
    """200,000 instances at just under max_seconds each would take days: the total stops them."""
    compiler = Compiler(TemplateLimits(max_seconds=0.2, max_total_seconds=0.5))
    slow = compiler.compile("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", WHERE)
    started = time.process_time()
    messages = set()
    for _ in range(20):
        with pytest.raises(LimitError) as info:
            slow(CTX)
        messages.add(info.value.message)
    assert time.process_time() - started < 1.5
    assert "templates took more than 0.5 s in all; the limit is 0.5 (max_total_seconds)" in messages
    with pytest.raises(LimitError):  # and compiling more is refused too
        compiler.compile("{{ vars.brand|upper }}", WHERE)


def test_constant_folding_does_not_run_the_work_at_compile_time() -> None:
    started = time.process_time()
    fn = Compiler().compile("{{ 'a' * 10**9 }}", WHERE)  # Jinja would fold this into a 1 GB constant
    assert time.process_time() - started < 0.5
    with pytest.raises(LimitError):
        fn(CTX)


def test_a_template_over_max_template_chars_in_a_campaign(campaign) -> None:
    path = campaign(job(f"      image_url: \"{{{{ '{'x' * 200_000}' }}}}\"\n      resolution: 2k\n"))
    r = run_cli("validate", path)
    assert r.code == 1 and r.seconds < 2.0
    assert "the limit is 100000 (max_template_chars)" in r.err


ROUTES = [
    "{{ environ }}", "{{ env }}", "{{ os.environ }}", "{{ namespace() }}", "{{ joiner() }}", "{{ cycler() }}",
    "{{ lipsum() }}", "{{ self }}", "{{ config }}", "{{ request }}", "{{ range.__globals__.os.environ }}",
    "{{ range.__self__.globals }}", "{{ vars.__class__.__init__.__globals__ }}", "{{ ''.__class__.__mro__ }}",
    "{{ range|string }}", "{{ range|pprint }}", "{{ vars|pprint }}", "{{ vars|tojson }}", "{{ matrix|string }}",
    "{{ needs|pprint }}", "{{ vars|attr('environ') }}", "{{ range|attr('__globals__') }}",
    "{% for k, v in vars.items() %}{{ k }}={{ v }};{% endfor %}", "{{ vars.get('SAMSAR_API_KEY', 'none') }}",
    "{{ matrix.SAMSAR_API_KEY|default('none') }}", "{{ vars.RENDERER_CANARY|default('none') }}",
    "{{ '%(SAMSAR_API_KEY)s' % vars }}", "{{ '{SAMSAR_API_KEY}'.format_map(vars) }}",
    "{% include 'env:SAMSAR_API_KEY' %}", "{% import 'os' as os %}{{ os.environ }}",
]


@pytest.mark.parametrize("text", ROUTES)
def test_no_route_reaches_the_process_environment(text: str, campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    # in os.environ (the process) and in the env the CLI was given: neither may show up
    monkeypatch.setenv("SAMSAR_API_KEY", SAMSAR_CANARY)
    monkeypatch.setenv("RENDERER_CANARY", OTHER_CANARY)
    path = campaign(job(f"      image_url: {json.dumps(text)}\n      resolution: 2k\n"))
    for command in (("validate",), ("plan", "--json")):
        r = run_cli(*command, path)  # run_cli fails on any canary in out or err
        assert r.code in (0, 1)
        if r.code == 1:
            r.assert_located(path)
        for canary in CANARIES:
            assert canary not in r.out + r.err


def test_the_whole_campaign_has_a_text_budget() -> None:
    """200,000 instances of a 1 MB prompt are 200 GB, though each is within max_output_chars."""
    compiler = Compiler(TemplateLimits(max_total_chars=1000))
    fast = compiler.compile("x{{ vars.brand }}", WHERE)  # the plain-substitution path
    slow = compiler.compile("{{ vars.brand|upper }}", WHERE)  # Jinja's
    with pytest.raises(LimitError) as info:
        for _ in range(1000):
            fast(CTX)
            slow(CTX)
    assert info.value.message == "templates produce more than 1000 characters in all; the limit is 1000 (max_total_chars)"


def test_a_big_value_substituted_in_every_instance_is_refused_without_copying_it(campaign) -> None:
    big = "y" * 2_000_000
    text = (f"version: 1\nname: big\nvars:\n  big: {big}\njobs:\n  a:\n    endpoint: samsar/image/enhance\n"
            "    matrix:\n      i: [" + ", ".join(str(i) for i in range(5000)) + "]\n"
            "    input:\n      image_url: \"x{{ vars.big }}\"\n      resolution: 2k\n")
    r = run_cli("validate", campaign(text))
    assert r.code == 1 and r.seconds < 3.0, r.seconds
    assert "template output is 2000001 characters; the limit is 1000000 (and in 4999 more instance(s))" in r.err
