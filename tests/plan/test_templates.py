"""Templates: native types, located errors, the sandbox, pending values, run-time resolve."""

from __future__ import annotations

import pytest

from renderer.errors import Invalid, LimitError, Location, SchemaError, TemplateError
from renderer.plan.planner import canonical_sha256
from renderer.plan.templates import Compiler, PendingOutputs
from renderer.vocabulary import Outputs, Pending

from .conftest import credits, errors_of, plan_file

WHERE = lambda path: Location("c.yaml", 3, 5)  # noqa: E731
CTX = {"vars": {"brand": "Acme", "n": 3, "on": True, "tags": ["a", "b"]}, "matrix": {"city": "lima", "k": 2}, "needs": {}}


def render(text, ctx=CTX):
    return Compiler().compile(text, WHERE)(ctx)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("{{ vars.tags }}", ["a", "b"]),  # a list stays a list
        ("{{ vars.tags + [matrix.city] }}", ["a", "b", "lima"]),
        ("{{ vars.n }}", 3),  # a number stays a number
        ("{{ vars.n * matrix.k + 0.5 }}", 6.5),
        ("{{ vars.on }}", True),  # a bool stays a bool
        ("{{ matrix.city == 'lima' }}", True),
        ("  {{ vars.n }}  ", 3),  # surrounding blanks do not make it text
        ("{{ {'a': vars.n} }}", {"a": 3}),
        ("{{ none }}", None),
        ("{{ vars.brand }}", "Acme"),
        ("{{ vars.n }}s", "3s"),  # anything else is a string
        ("{{ vars.n }}{{ matrix.k }}", "32"),
        ("{{ vars.tags }} and more", "['a', 'b'] and more"),
        ("{% if vars.on %}yes{% endif %}", "yes"),
        ("{{ matrix.city | upper }}-{{ vars.brand | lower }}", "LIMA-acme"),
        ("plain text", "plain text"),
        ("{{ '{{' }}", "{{"),
    ],
)
def test_native_types_for_a_single_expression_strings_otherwise(text, expected) -> None:
    out = render(text)
    assert out == expected and type(out) is type(expected)


def test_constant_trees_are_returned_as_written() -> None:
    value = {"a": [1, {"b": "c"}], "d": None}
    assert Compiler().compile(value, WHERE)(CTX) == value


@pytest.mark.parametrize(
    "text,message",
    [
        ("{{ nope }}", "template: 'nope' is undefined; templates see vars, matrix and needs"),
        ("{{ vars.nope }}", "template: no key 'nope' here (keys: brand, n, on, tags)"),
        ("x-{{ matrix.nope }}", "template: no key 'nope' here (keys: city, k)"),
        ("{{ env }}", "template: 'env' is undefined; templates see vars, matrix and needs"),
        ("{{ environ.HOME }}", "template: 'environ' is undefined; templates see vars, matrix and needs"),
        ("{{ cycler }}", "template: 'cycler' is undefined; templates see vars, matrix and needs"),
        ("{{ lipsum() }}", "template: 'lipsum' is undefined; templates see vars, matrix and needs"),
        ("{{ joiner }}", "template: 'joiner' is undefined; templates see vars, matrix and needs"),
        ("{{ namespace }}", "template: 'namespace' is undefined; templates see vars, matrix and needs"),
        ("{{ dict(a=1) }}", "template: 'dict' is undefined; templates see vars, matrix and needs"),
        ("{{ range.__class__ }}", "template not allowed: access to attribute '__class__' of 'method' object is unsafe."),
        ("x{{ range.__class__ }}", "template not allowed: access to attribute '__class__' of 'method' object is unsafe."),
        ("{{ matrix.__class__ }}", "template not allowed: access to attribute '__class__' of 'dict' object is unsafe."),
        ("{{ vars.brand.__class__.__mro__ }}", "template not allowed: access to attribute '__class__' of 'str' object is unsafe."),
        # str.format is Jinja's sandboxed formatter: fields cannot reach attributes either
        ("{{ '{0.__class__}'.format(vars.brand) }}", "template not allowed: access to attribute '__class__' of 'str' object is unsafe."),
        ("{{ vars.tags.append(1) }}", "template not allowed: access to attribute 'append' of 'list' object is unsafe."),
        ("{{ range(20000) | list }}", "template not allowed: range of 20000 items; the limit is 10000"),
    ],
)
def test_undefined_names_and_the_sandbox(text, message) -> None:
    with pytest.raises(TemplateError) as exc:
        render(text)
    assert exc.value.message == message
    assert exc.value.location == Location("c.yaml", 3, 5)


@pytest.mark.parametrize("text", ["{{ self }}", "x {{ self }}", "{{ self.__class__ }}", "{% if self %}x{% endif %}"])
def test_self_is_not_a_name_templates_see(text) -> None:
    with pytest.raises(TemplateError) as exc:
        Compiler().compile(text, WHERE)
    assert exc.value.message == "template: 'self' is undefined; templates see vars, matrix and needs"


def test_syntax_errors_are_located_at_compile_time() -> None:
    with pytest.raises(TemplateError) as exc:
        Compiler().compile("{{ matrix.city ", WHERE)
    assert exc.value.message.startswith("template syntax: ")
    assert exc.value.location == Location("c.yaml", 3, 5)


def test_pending_values_stay_pending() -> None:
    ctx = dict(CTX, needs={"a": PendingOutputs("a[x=1]"), "b": [PendingOutputs("b[y=1]"), PendingOutputs("b[y=2]")]})
    assert render("{{ needs.a.result_url }}", ctx) == Pending("a[x=1]", "result_url")
    assert render("{{ needs.a.result_url }}?w=1", ctx) == Pending("a[x=1]", "result_url")  # text built on it
    assert render("{{ needs.a['session_id'] }}", ctx) == Pending("a[x=1]", "session_id")
    assert render("{{ needs.b | map(attribute='session_id') | list }}", ctx) == [
        Pending("b[y=1]", "session_id"), Pending("b[y=2]", "session_id"),
    ]
    assert render("{{ needs.b | length }}", ctx) == 2
    # a field of a pending output is pending on the same upstream
    assert render("{{ needs.a.response.resolution }}", ctx) == Pending("a[x=1]", "response")
    assert render("{{ needs.a.result_urls[0] }}", ctx) == Pending("a[x=1]", "result_urls")
    assert render("{{ needs.a.response['meta']['w'] }}px", ctx) == Pending("a[x=1]", "response")
    with pytest.raises(TemplateError) as exc:
        render("{{ needs.a.response.__class__ }}", ctx)
    assert exc.value.message == "template not allowed: access to attribute '__class__' of 'Pending' object is unsafe."


def test_undefined_output_of_needs() -> None:
    ctx = dict(CTX, needs={"a": PendingOutputs("a")})
    with pytest.raises(TemplateError) as exc:
        render("{{ needs.a.url }}", ctx)
    assert exc.value.message == (
        "template: needs outputs have no 'url' (outputs: request_id, session_id, status, result_url, "
        "result_urls, thumbnail_url, credits_charged, duration, response)"
    )


# -- in a campaign: located with the instance ---------------------------------------


def test_undefined_name_in_a_campaign_names_file_line_col_and_instance(write) -> None:
    p = write("""
        version: 1
        name: t
        jobs:
          a:
            endpoint: samsar/image/remove_branding
            matrix:
              city: [lisbon, tokyo]
            input:
              image_url: "https://x/{{ matrix.town }}.png"
        """)
    assert errors_of(p) == [
        f"{p}:9:18: a[city=lisbon]: template: no key 'town' here (keys: city) (and in 1 more instance(s))",
    ]


def test_rendered_values_are_schema_checked_with_the_instance(write) -> None:
    p = write("""
        version: 1
        name: t
        jobs:
          a:
            endpoint: samsar/image/enhance
            matrix:
              res: [2k, 8k]
            input:
              image_url: https://x/a.png
              resolution: "{{ matrix.res }}"
        """)
    [error] = errors_of(p)
    assert error.startswith(f"{p}:10:19: a[res=8k]: resolution: \"8k\" is not allowed")


PENDING = """
version: 1
name: pending
jobs:
  probe:
    endpoint: samsar/image/enhance
    input:
      image_url: https://x/a.png
  sharp:
    endpoint: samsar/image/enhance
    needs: [probe]
    input:
      image_url: "{{ needs.probe.result_url }}"
      resolution: "{{ needs.probe.response.resolution }}"
"""


def test_pending_values_are_not_schema_checked_until_run_time(write) -> None:
    plan, _ = plan_file(write(PENDING))
    sharp = plan.by_id["sharp"]
    assert sharp.pending is True
    assert sharp.input_sha256 is None
    assert sharp.body == {"image_url": Pending("probe", "result_url"), "resolution": Pending("probe", "response")}
    assert credits(plan, "sharp") == (30, 60)  # the resolution is not known: 1k..4k
    assert sharp.price.assumptions == ("resolution known at run time",)


def test_known_values_beside_pending_ones_are_still_checked(write) -> None:
    p = write(PENDING.replace('resolution: "{{ needs.probe.response.resolution }}"', "resolution: 3k"))
    [error] = errors_of(p)
    assert error.startswith(f"{p}:13:19: sharp: resolution: \"3k\" is not allowed")


def test_resolve_renders_a_pending_instance_from_outputs(write) -> None:
    plan, planner = plan_file(write(PENDING))
    outputs = Outputs(request_id="img_1", session_id="img_1", status="COMPLETED", result_url="https://cdn/a.png",
                      response={"resolution": "4k"})
    body, sha, price = planner.resolve("sharp", {"probe": outputs})
    assert body == {"image_url": "https://cdn/a.png", "resolution": "4k"}
    assert sha == canonical_sha256("samsar/image/enhance", body)
    assert (price.credits.min, price.credits.max) == (60, 60)


def test_resolve_validates_the_rendered_body(write) -> None:
    _, planner = plan_file(write(PENDING))
    bad = Outputs(session_id="img_1", result_url="https://cdn/a.png", response={"resolution": "16k"})
    with pytest.raises(Invalid) as exc:
        planner.resolve("sharp", {"probe": bad})
    [error] = exc.value.errors
    assert isinstance(error, SchemaError)
    assert error.location.instance == "sharp" and (error.location.line, error.location.col) == (13, 19)
    assert error.message.startswith('resolution: "16k" is not allowed')


def test_resolve_a_fan_in_and_price_from_upstream_durations(write) -> None:
    p = write("""
        version: 1
        name: r
        jobs:
          clip:
            endpoint: samsar/video/text_to_video
            matrix: {city: [a, b]}
            input: {prompt: "{{ matrix.city }}", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}
          join:
            endpoint: samsar/video/join_videos
            needs: [clip]
            input:
              session_ids: "{{ needs.clip | map(attribute='session_id') | list }}"
        """)
    plan, planner = plan_file(p)
    assert credits(plan, "join") == (60, 60)  # 2 x 10 s x 3/s
    up = {"clip[city=a]": Outputs(session_id="s_a", duration=12.0), "clip[city=b]": Outputs(session_id="s_b")}
    body, _, price = planner.resolve("join", up)
    assert body == {"input": {"session_ids": ["s_a", "s_b"]}}
    # a measured 12 s and, where the status did not say, the planned 10 s: 22 s x 3/s
    assert (price.credits.min, price.credits.max) == (66, 66)


def test_slow_templates_are_stopped() -> None:
    from renderer.plan.templates import TemplateLimits

    compiler = Compiler(TemplateLimits(max_output_chars=10))
    with pytest.raises(LimitError) as exc:
        compiler.compile("{{ matrix.city }}{{ matrix.city }}{{ matrix.city }}", WHERE)({"matrix": {"city": "lisbon"}})
    assert exc.value.message == "template output is 18 characters; the limit is 10"


def test_random_is_refused_so_inputs_stay_reproducible(tmp_path):
    """A random input would never match the manifest: the job would be paid for on every run."""
    import io

    from renderer.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n  shot:\n    endpoint: samsar/image/enhance\n    input:\n"
        "      image_url: \"https://e.com/{{ ['a', 'b'] | random }}.png\"\n"
    )
    err = io.StringIO()
    assert main(["validate", str(path)], out=io.StringIO(), err=err, env={}) == 1
    assert err.getvalue().startswith(f"{path}:7:18: template syntax: No filter named 'random'")
