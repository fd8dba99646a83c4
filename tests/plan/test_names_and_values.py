"""What you write is what is sent (issue 11): names are the campaign's keys, YAML plain
scalars mean what they look like, a body holds JSON data only, and the messages a new
user needed (needs, URLs, languages)."""

from __future__ import annotations

import json
from io import StringIO

import pytest

from renderer.cli import main
from renderer.errors import Location, TemplateError
from renderer.plan.templates import Compiler, Needs, PendingOutputs

from .conftest import errors_of, plan_file

NAMES = ("items", "keys", "values", "get", "copy", "update", "pop")


def WHERE(path: tuple[object, ...]) -> Location:
    return Location("c.yaml", 3, 5)


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(list(argv), out=out, err=err, env=env if env is not None else {})
    return code, out.getvalue(), err.getvalue()


def render(text: str, ctx: dict) -> object:
    return Compiler().compile(text, WHERE)(ctx)


# -- names are the campaign's keys ---------------------------------------------

@pytest.mark.parametrize("name", NAMES + ("count", "index", "upper", "split", "clear", "setdefault", "fromkeys"))
@pytest.mark.parametrize("root", ["vars", "matrix"])
def test_a_key_named_like_a_method_renders_the_users_value(root: str, name: str) -> None:
    ctx = {"vars": {}, "matrix": {}, "needs": Needs({})}
    ctx[root] = {name: f"user-{name}"}
    # the fast path (one dotted name), Jinja's text path, its native path, and item syntax
    assert render(f"{{{{ {root}.{name} }}}}", ctx) == f"user-{name}"
    assert render(f"x/{{{{ {root}.{name} }}}}.png", ctx) == f"x/user-{name}.png"
    assert render(f"{{{{ {root}.{name} | upper }}}}", ctx) == f"USER-{name.upper()}"
    assert render(f"{{{{ {root}['{name}'] }}}}", ctx) == f"user-{name}"


@pytest.mark.parametrize("name", NAMES)
def test_a_job_named_like_a_method_is_its_outputs_and_outputs_fields_are_keys(name: str) -> None:
    done = {"result_url": f"https://cdn.example.com/{name}.png", "response": {"items": [1], name: 7}}
    ctx = {"vars": {}, "matrix": {}, "needs": Needs({name: done})}
    assert render(f"{{{{ needs.{name}.result_url }}}}", ctx) == f"https://cdn.example.com/{name}.png"
    assert render(f"{{{{ needs.{name}.response.{name} }}}}", ctx) == 7
    assert render(f"{{{{ needs.{name}.response.items }}}}", ctx) == (7 if name == "items" else [1])
    pending = {"vars": {}, "matrix": {}, "needs": Needs({name: PendingOutputs(f"{name}[a=1]")})}
    assert str(render(f"{{{{ needs.{name}.result_url }}}}", pending)) == f"\x00pending:{name}[a=1].result_url\x00"


def test_methods_stay_callable_where_no_key_takes_the_name() -> None:
    ctx = {"vars": {"a": 1, "b": 2}, "matrix": {}, "needs": Needs({})}
    assert render("{% for k, v in vars.items() %}{{ k }}={{ v }};{% endfor %}", ctx) == "a=1;b=2;"
    assert render("{{ vars.keys() | list }}", ctx) == ["a", "b"]


def test_names_in_a_campaign_and_a_data_file_render_the_users_values(write) -> None:
    write("id,items,keys,values,get,copy,update,pop\nr1,I,K,V,G,C,U,P\n", "rows.csv")
    path = write("""
        version: 1
        name: names
        vars: {items: vi, keys: vk, values: vv, get: vg, copy: vc, update: vu, pop: vp}
        jobs:
          items:
            endpoint: samsar/image/enhance
            matrix:
              keys: [mk]
              update: [mu]
              row: {from: rows.csv}
            input:
              image_url: "https://cdn.example.com/{{ matrix.keys }}-{{ matrix.update }}/{{ matrix.row.items }}{{ matrix.row.keys }}{{ matrix.row.values }}{{ matrix.row.get }}{{ matrix.row.copy }}{{ matrix.row.update }}{{ matrix.row.pop }}/{{ vars.items }}{{ vars.keys }}{{ vars.values }}{{ vars.get }}{{ vars.copy }}{{ vars.update }}{{ vars.pop }}.png"
          copy:
            endpoint: samsar/image/enhance
            input:
              image_url: "{{ vars.pop }}"
        """)
    path.write_text(path.read_text().replace('"{{ vars.pop }}"', '"https://x.example/{{ vars.pop }}"'))
    plan, _ = plan_file(path)
    assert plan.by_id["items[keys=mk,update=mu,row=r1]"].body == {
        "image_url": "https://cdn.example.com/mk-mu/IKVGCUP/vivkvvvgvcvuvp.png"}
    assert plan.by_id["copy"].body == {"image_url": "https://x.example/vp"}


# -- YAML plain scalars ----------------------------------------------------------

def test_no_on_012_and_1_20_stay_text_in_matrix_vars_input_and_yaml_data(write) -> None:
    write("- {id: a, country: NO, switch: on, zip: 012, at: 1:20, yes: y, flag: true}\n", "rows.yaml")
    path = write("""
        version: 1
        name: scalars
        vars: {country: NO, switch: on, zip: 012, at: 1:20, empty: , truth: TRUE, n: 12, f: 1.5}
        jobs:
          t:
            endpoint: samsar/video/image_list_to_video
            matrix:
              country: [NO, SE]
              switch: [on, Off]
              zip: [012]
              at: [1:20]
              row: {from: rows.yaml}
            input:
              prompt: "{{ [matrix.country, matrix.switch, matrix.zip, matrix.at, vars.country, vars.switch, vars.zip, vars.at, matrix.row.country, matrix.row.switch, matrix.row.zip, matrix.row.at, matrix.row.yes] | join(' ') }}"
              image_urls: [https://x.example/a.png]
              metadata: {country: NO, switch: on, zip: 012, at: 1:20, y: n, t: "{{ vars.truth }}", e: "{{ vars.empty }}", n: "{{ vars.n }}", f: "{{ vars.f }}", flag: "{{ matrix.row.flag }}"}
        """)
    plan, _ = plan_file(path)
    ids = [i.id for i in plan.instances]
    assert ids[0] == "t[country=NO,switch=on,zip=012,at=1:20,row=a]" and len(ids) == 4
    body = plan.instances[0].body["input"]
    assert body["prompt"] == "NO on 012 1:20 NO on 012 1:20 NO on 012 1:20 y"
    assert body["metadata"] == {"country": "NO", "switch": "on", "zip": "012", "at": "1:20", "y": "n",
                                "t": True, "e": None, "n": 12, "f": 1.5, "flag": True}
    assert plan.by_id["t[country=SE,switch=Off,zip=012,at=1:20,row=a]"].body["input"]["prompt"].startswith("SE Off ")


def test_language_no_is_norwegian_and_a_warning_not_false(write) -> None:
    path = write("""
        version: 1
        name: no
        jobs:
          t:
            endpoint: samsar/video/text_to_video
            matrix:
              language: [en, no]
            input:
              prompt: hi
              image_model: GPTIMAGE2
              video_model: RUNWAYML
              duration: 10
              language: "{{ matrix.language }}"
        """)
    code, out, err = cli("validate", str(path))
    assert code == 0 and out == "1 file(s) valid, 1 warning(s)\n"
    assert err == (f"{path}:13:17: warning: t[language=no]: language: 'no' is not one the docs list for "
                   "samsar/video/text_to_video (auto, en, es, fr, de, pt, it, nl, sv, hi, ar, ru, ja, ko, th, zh); "
                   "the server may refuse it\n")
    code, _, err = cli("plan", str(path), env={"GITHUB_ACTIONS": "true"})
    assert code == 0 and f"::warning file={path},line=13,col=17::t[language=no]: language: 'no'" in err


def test_a_translate_language_outside_the_translate_docs_is_a_warning(write) -> None:
    path = write("""
        version: 1
        name: tr
        jobs:
          tr:
            endpoint: samsar/video/translate_video
            input: {videoSessionId: abc, language: de}
        """)
    plan, _ = plan_file(path)
    assert [str(w) for w in plan.warnings] == [
        (f"{path}:6:44: warning: tr: language: 'de' is not one the docs list for samsar/video/translate_video "
        "(en, es, fr, ja, th, zh, bn, hi, sa, la); the server refuses it")]  # x-unknown: refuse (the sandbox answers 400)



def test_run_prints_the_campaigns_warnings_too(write, tmp_path, monkeypatch) -> None:
    """What validate and plan warn about, run says as well: it is the command CI runs last."""
    monkeypatch.chdir(tmp_path)
    path = write("""
        version: 1
        name: tr
        jobs:
          tr:
            endpoint: samsar/video/translate_video
            input: {videoSessionId: abc, language: de}
        """)
    code, _, err = cli("run", "--sandbox", "--state-dir", str(tmp_path / "state"), str(path),
                       env={"RENDERER_EXEC_SETTINGS": '{"poll": {"initial": 0.01}, "sandbox_render_seconds": 0.05}'})
    assert f"{path}:6:44: warning: tr: language: 'de' is not one the docs list" in err
    assert err.count("warning:") == 1, err


# -- a body holds JSON data only ---------------------------------------------------

@pytest.mark.parametrize("template,words", [
    ("https://x/{{ vars.get }}.png", "'get', a method of a dict, not a key here (keys: a); to call it write get()"),
    ("{{ vars.keys }}", "'keys', a method of a dict, not a key here (keys: a)"),
    ("https://x/{{ vars.a | map('upper') }}", "a generator (the result of map, select...); add `| list`"),
    ("https://x/{{ range(3) }}", "a range; write it as a list with `| list`"),
    ("https://x/{{ vars.items | string }}", "'items', a method of a dict"),
    ("https://x/{{ 'a' ~ vars.values }}", "'values', a method of a dict"),
    ("https://x/{{ '%s' % vars.copy }}", "'copy', a method of a dict"),
    ("https://x/{{ [vars.get] | join(',') }}", "'get', a method of a dict"),
    ("https://x/{{ [vars.keys] }}", "'keys', a method of a dict"),
    ("{{ [vars.items] }}", "'items', a method of a dict"),
    ("https://x/{{ vars.a.upper | e }}", "'upper', a method of a str"),
])
def test_a_non_json_value_is_a_located_error_never_a_body(write, template: str, words: str) -> None:
    path = write(f"""
        version: 1
        name: j
        vars: {{a: b}}
        jobs:
          j:
            endpoint: samsar/image/enhance
            matrix: {{n: [1, 2]}}
            input:
              resolution: 2k
              image_url: "{template}"
        """)
    errors = errors_of(path)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:10:18: j[n=1]: template: "), errors[0]
    assert words in errors[0] and "(and in 1 more instance(s))" in errors[0], errors[0]
    assert "0x" not in errors[0] and "built-in" not in errors[0]


def test_non_finite_numbers_and_non_text_keys_are_located_errors(write) -> None:
    path = write("""
        version: 1
        name: j
        vars: {big: .inf}
        jobs:
          a:
            endpoint: samsar/video/image_list_to_video
            input:
              image_urls: [https://x.example/a.png]
              metadata: {ratio: .nan}
          b:
            endpoint: samsar/video/image_list_to_video
            input:
              image_urls: [https://x.example/a.png]
              metadata: {big: "{{ vars.big }}", 1: one}
          c:
            endpoint: samsar/video/image_list_to_video
            input:
              image_urls: [https://x.example/a.png]
              metadata: {big: "{{ vars.big }}"}
        """)
    assert errors_of(path) == [
        f"{path}:9:25: a request holds JSON data only; this is the number nan (JSON has no NaN or infinity)",
        f"{path}:14:44: key 1 must be text in a request; quote it: \"1\"",
        f"{path}:19:23: c: template yields the number inf; JSON has no NaN or infinity",
    ]


def test_reading_needs_of_a_job_not_listed_says_add_needs(write) -> None:
    path = write("""
        version: 1
        name: n
        jobs:
          hero:
            endpoint: samsar/image/enhance
            input: {image_url: "https://x.example/a.png"}
          teaser:
            endpoint: samsar/image/enhance
            input: {image_url: "{{ needs.hero.result_url }}"}
          other:
            endpoint: samsar/image/enhance
            input: {image_url: "{{ needs.heroo.result_url }}"}
        """)
    assert errors_of(path) == [
        (f"{path}:9:24: teaser: template: needs.hero: this job does not wait for 'hero'; "
        "add `needs: [hero]` to it (it needs: none)"),
        f"{path}:12:24: other: template: needs.heroo: there is no job 'heroo' (this job needs: none)",
    ]


# -- URL fields ----------------------------------------------------------------------

def test_a_url_without_a_scheme_or_with_a_space_is_a_located_error(write) -> None:
    path = write("""
        version: 1
        name: u
        jobs:
          a:
            endpoint: samsar/image/enhance
            input: {image_url: cdn.example.com/x.png}
          b:
            endpoint: samsar/video/image_list_to_video
            matrix: {n: [1]}
            input:
              image_urls: ["https://cdn.example.com/a b.png", "data:image/png;base64,AAAA", {url: "//cdn.example.com/c.png"}]
              outro_image_url: "https://cdn.example.com/{{ matrix.n }} .png"
          c:
            endpoint: samsar/video/image_list_to_video
            input:
              image_urls: [https://cdn.example.com/a.png]
              generate_outro_image: true
              cta_url: www.example.com/book
        """)
    assert errors_of(path) == [
        (f'{path}:6:24: a: image_url: "cdn.example.com/x.png" is not a URL: it has no scheme; '
        "write https://cdn.example.com/x.png"),
        (f'{path}:11:20: b[n=1]: image_urls[0]: "https://cdn.example.com/a b.png" is not a URL: '
        "it contains a space or a line break (write a space as %20)"),
        (f'{path}:11:91: b[n=1]: image_urls[2].url: "//cdn.example.com/c.png" is not a URL: it has no scheme; '
        "write https://cdn.example.com/c.png"),
        (f'{path}:12:24: b[n=1]: outro_image_url: "https://cdn.example.com/1 .png" is not a URL: '
        "it contains a space or a line break (write a space as %20)"),
        f'{path}:18:16: c: cta_url: "www.example.com/book" is not an http(s) URL: it needs https:// (or http://) in front',
    ]


def test_an_error_is_never_hashed_nor_planned(write) -> None:
    """The JSON-only check runs before the hash: an instance that fails has no plan entry."""
    path = write("""
        version: 1
        name: h
        vars: {a: 1}
        jobs:
          a:
            endpoint: samsar/image/enhance
            input: {image_url: "https://x.example/{{ vars.items }}"}
        """)
    code, out, err = cli("plan", str(path), "--json")
    assert code == 1 and out == "" and f"{path}:7:24: a: template: a request holds JSON data only" in err


def test_the_text_filter_check_leaves_generators_that_are_listed_alone() -> None:
    ctx = {"vars": {"a": ["x", "y"]}, "matrix": {}, "needs": Needs({})}
    assert render("{{ vars.a | map('upper') | join('-') }}", ctx) == "X-Y"
    assert render("{{ vars.a | map('upper') }}", ctx) == ["X", "Y"]  # a whole value: its items
    with pytest.raises(TemplateError, match="a generator"):
        render("n={{ vars.a | map('upper') }}", ctx)
    assert json.dumps(render("{{ vars }}", ctx)) == '{"a": ["x", "y"]}'
