"""The DAG a campaign expands into: exact instance ids, their order, and each one's needs."""

from __future__ import annotations

from helpers.campaign_files import SPRING
from renderer.vocabulary import Pending

from .conftest import credits, errors_of, plan_file, shape


TEASERS = [
    "teaser[city=lisbon,language=en]", "teaser[city=lisbon,language=es]",
    "teaser[city=tokyo,language=en]", "teaser[city=tokyo,language=es]",
    "teaser[city=lima,language=en]", "teaser[city=lima,language=es]",
]


def test_contract_example_shape_and_credits(write) -> None:
    plan, _ = plan_file(write(SPRING))
    assert shape(plan) == [
        ("stills[city=lisbon]", ()),
        ("stills[city=tokyo]", ()),
        ("stills[city=lima]", ()),
        # one-to-one on the shared key: each teaser needs the still of its city only
        ("teaser[city=lisbon,language=en]", ("stills[city=lisbon]",)),
        ("teaser[city=lisbon,language=es]", ("stills[city=lisbon]",)),
        ("teaser[city=tokyo,language=en]", ("stills[city=tokyo]",)),
        ("teaser[city=tokyo,language=es]", ("stills[city=tokyo]",)),
        ("teaser[city=lima,language=en]", ("stills[city=lima]",)),
        ("teaser[city=lima,language=es]", ("stills[city=lima]",)),
        # fan-in over `city`, which spanish_cut lacks: the three Spanish teasers, in matrix order
        ("spanish_cut[language=es]", ("teaser[city=lisbon,language=es]", "teaser[city=tokyo,language=es]",
                                      "teaser[city=lima,language=es]")),
    ]
    # 3 x 50 (2k enhance) + 6 x 30 s x 30/s (RUNWAYML) + 90 s x 3/s (join) = 150 + 5,400 + 270 = 5,820
    total = plan.credits()
    assert (total.min, total.max) == (5820, 5820)
    assert credits(plan, "spanish_cut[language=es]") == (270, 270)


def test_one_to_one_bodies_carry_the_matching_upstream(write) -> None:
    plan, _ = plan_file(write(SPRING))
    t = plan.by_id["teaser[city=tokyo,language=es]"]
    assert t.pending is True and t.input_sha256 is None
    assert t.body == {"input": {
        "image_urls": [Pending("stills[city=tokyo]", "result_url")],
        "video_model": "RUNWAYML", "aspect_ratio": "9:16", "language": "es",
        "generate_outro_image": True, "cta_url": "https://example.com/book?city=tokyo",
    }}


def test_fan_in_template_yields_a_list_of_the_right_length(write) -> None:
    plan, _ = plan_file(write(SPRING))
    cut = plan.by_id["spanish_cut[language=es]"]
    assert cut.body == {"input": {"session_ids": [
        Pending("teaser[city=lisbon,language=es]", "session_id"),
        Pending("teaser[city=tokyo,language=es]", "session_id"),
        Pending("teaser[city=lima,language=es]", "session_id"),
    ]}}


CHAIN = """
version: 1
name: chain
jobs:
  render:
    endpoint: samsar/video/text_to_video
    matrix:
      city: [lisbon, tokyo, lima]
    input:
      prompt: "A day in {{ matrix.city }}"
      image_model: GPTIMAGE2
      video_model: RUNWAYML
      duration: 30
  translate:
    endpoint: samsar/video/translate_video
    needs: [render]
    matrix:
      city: [lisbon, tokyo, lima]
    input:
      videoSessionId: "{{ needs.render.session_id }}"
      language: es
  join:
    endpoint: samsar/video/join_videos
    needs: [translate]
    input:
      session_ids: "{{ needs.translate | map(attribute='session_id') | list }}"
  join_fr:
    endpoint: samsar/video/translate_video
    needs: [join]
    input:
      videoSessionId: "{{ needs.join.session_id }}"
      language: fr
  outro:
    endpoint: samsar/video/add_outro_image
    needs: [join_fr]
    input:
      videoSessionId: "{{ needs.join_fr.session_id }}"
      outro_image_url: https://cdn.example.com/outro.png
  outro_es:
    endpoint: samsar/video/translate_video
    needs: [outro]
    input:
      videoSessionId: "{{ needs.outro.session_id }}"
      language: de
"""


def test_chain_shape(write) -> None:
    plan, _ = plan_file(write(CHAIN))
    assert shape(plan) == [
        ("render[city=lisbon]", ()),
        ("render[city=tokyo]", ()),
        ("render[city=lima]", ()),
        ("translate[city=lisbon]", ("render[city=lisbon]",)),
        ("translate[city=tokyo]", ("render[city=tokyo]",)),
        ("translate[city=lima]", ("render[city=lima]",)),
        # a job without matrix needing a matrix job: all of them, as a list
        ("join", ("translate[city=lisbon]", "translate[city=tokyo]", "translate[city=lima]")),
        ("join_fr", ("join",)),
        ("outro", ("join_fr",)),
        ("outro_es", ("outro",)),
    ]


def test_durations_propagate_down_the_chain(write) -> None:
    plan, _ = plan_file(write(CHAIN))
    assert credits(plan, "render[city=lisbon]") == (900, 900)  # 30 s x 30/s
    assert credits(plan, "translate[city=lisbon]") == (90, 90)  # 30 s source x 3/s
    assert credits(plan, "join") == (270, 270)  # 3 x 30 s = 90 s, x 3/s
    assert credits(plan, "join_fr") == (270, 270)  # the 90 s join, translated: 90 x 3
    assert credits(plan, "outro") == (75, 75)  # flat
    assert credits(plan, "outro_es") == (270, 270)  # an outro keeps the 90 s: 90 x 3
    for iid in ("join", "join_fr", "outro", "outro_es"):
        d = plan.by_id[iid].price.duration
        assert (d.min, d.max) == (90, 90), iid
    total = plan.credits()
    # 3 x 900 + 3 x 90 + 270 + 270 + 75 + 270 = 3,855
    assert (total.min, total.max) == (3855, 3855)


def test_duration_ranges_propagate(write) -> None:
    text = CHAIN.replace("      duration: 30\n", "      duration: \"{{ 20 if matrix.city == 'lima' else 30 }}\"\n")
    plan, _ = plan_file(write(text))
    assert credits(plan, "render[city=lima]") == (600, 600)  # 20 s x 30/s
    assert credits(plan, "translate[city=lima]") == (60, 60)  # 20 s x 3/s
    assert credits(plan, "join") == (240, 240)  # 30 + 30 + 20 = 80 s x 3/s


def test_fan_in_over_two_keys_and_many_upstreams(write) -> None:
    p = write("""
        version: 1
        name: grid
        jobs:
          a:
            endpoint: samsar/image/enhance
            matrix: {x: [1, 2], y: [p, q]}
            input: {image_url: "https://x/{{ matrix.x }}{{ matrix.y }}.png"}
          b:
            endpoint: samsar/image/remove_branding
            matrix: {y: [p, q]}
            input: {image_url: "https://x/{{ matrix.y }}.png"}
          c:
            endpoint: samsar/image/add_image_set
            needs: [a, b]
            matrix: {y: [q, p]}
            input:
              image_urls: "{{ needs.a | map(attribute='result_url') | list + [needs.b.result_url] }}"
          d:
            endpoint: samsar/image/add_image_set
            needs: [c, a]
            input:
              image_urls: "{{ (needs.c + needs.a) | map(attribute='result_url') | list }}"
        """)
    plan, _ = plan_file(p)
    assert shape(plan) == [
        ("a[x=1,y=p]", ()), ("a[x=1,y=q]", ()), ("a[x=2,y=p]", ()), ("a[x=2,y=q]", ()),
        ("b[y=p]", ()), ("b[y=q]", ()),
        # needs in the order the job lists them; fan-in in upstream matrix order; one-to-one on y
        ("c[y=q]", ("a[x=1,y=q]", "a[x=2,y=q]", "b[y=q]")),
        ("c[y=p]", ("a[x=1,y=p]", "a[x=2,y=p]", "b[y=p]")),
        ("d", ("c[y=q]", "c[y=p]", "a[x=1,y=p]", "a[x=1,y=q]", "a[x=2,y=p]", "a[x=2,y=q]")),
    ]
    assert credits(plan, "c[y=q]") == (150, 150)  # 3 urls x 50
    assert credits(plan, "d") == (300, 300)  # 2 + 4 urls = 6 x 50
    assert plan.by_id["c[y=q]"].body["image_urls"] == [
        Pending("a[x=1,y=q]", "result_url"), Pending("a[x=2,y=q]", "result_url"), Pending("b[y=q]", "result_url"),
    ]


def test_no_matching_upstream_instance_is_a_located_error(write) -> None:
    p = write("""
        version: 1
        name: gaps
        jobs:
          stills:
            endpoint: samsar/image/enhance
            matrix:
              city: [lisbon, tokyo]
            input: {image_url: "https://x/{{ matrix.city }}.png"}
          teaser:
            endpoint: samsar/image/remove_branding
            needs: [stills]
            matrix:
              city: [lisbon, paris]
              language: [en]
            input: {image_url: "{{ needs.stills.result_url }}"}
        """)
    assert errors_of(p) == [
        f"{p}:11:13: teaser[city=paris,language=en]: no instance of 'stills' matches this one (city=paris)",
    ]


def test_a_whole_needs_entry_is_not_a_value(write) -> None:
    p = write("""
        version: 1
        name: whole
        jobs:
          a:
            endpoint: samsar/image/enhance
            input: {image_url: "https://x/a.png"}
          b:
            endpoint: samsar/image/remove_branding
            needs: [a]
            input:
              image_url: "{{ needs.a }}"
        """)
    assert errors_of(p) == [
        f"{p}:11:18: b: a template yields a whole needs entry; pick one output, e.g. .result_url",
    ]


def test_single_upstream_is_not_a_list(write) -> None:
    p = write("""
        version: 1
        name: single
        jobs:
          render:
            endpoint: samsar/video/text_to_video
            input: {prompt: x, image_model: GPTIMAGE2, video_model: VEO3.1I2V, duration: 8}
          fr:
            endpoint: samsar/video/translate_video
            needs: [render]
            matrix:
              language: [fr, de]
            input:
              videoSessionId: "{{ needs.render.session_id }}"
              language: "{{ matrix.language }}"
        """)
    plan, _ = plan_file(p)
    assert shape(plan) == [("render", ()), ("fr[language=fr]", ("render",)), ("fr[language=de]", ("render",))]
    assert credits(plan, "render") == (480, 480)  # 8 s x 60/s
    assert credits(plan, "fr[language=de]") == (24, 24)  # 8 s x 3/s
    assert plan.by_id["fr[language=de]"].body == {"input": {"videoSessionId": Pending("render", "session_id"), "language": "de"}}


def test_include_added_values_do_not_turn_a_link_into_fan_in(write) -> None:
    p = write("""
        version: 1
        name: include-links
        jobs:
          stills:
            endpoint: samsar/image/enhance
            matrix:
              city: [lisbon, tokyo]
              include:
                - {city: lisbon, resolution: 4k}
            input:
              image_url: "https://x/{{ matrix.city }}.png"
              resolution: "{{ matrix.resolution | default('1k') }}"
          teaser:
            endpoint: samsar/image/remove_branding
            needs: [stills]
            matrix:
              city: [lisbon, tokyo]
              language: [en]
              include:
                - {city: tokyo, language: ja}
            input:
              image_url: "{{ needs.stills.result_url }}"
        """)
    plan, _ = plan_file(p)
    assert shape(plan) == [
        ("stills[city=lisbon]", ()),
        ("stills[city=tokyo]", ()),
        ("teaser[city=lisbon,language=en]", ("stills[city=lisbon]",)),
        ("teaser[city=tokyo,language=en]", ("stills[city=tokyo]",)),
        ("teaser[city=tokyo,language=ja]", ("stills[city=tokyo]",)),  # a combination the include added
    ]
    assert credits(plan, "stills[city=lisbon]") == (60, 60)  # 4k
    assert credits(plan, "stills[city=tokyo]") == (30, 30)  # 1k


def test_include_added_combination_lacking_a_shared_key(write) -> None:
    p = write("""
        version: 1
        name: include-partial
        jobs:
          stills:
            endpoint: samsar/image/enhance
            matrix:
              city: [lisbon]
              language: [en]
            input: {image_url: "https://x/{{ matrix.city }}.png"}
          teaser:
            endpoint: samsar/image/remove_branding
            needs: [stills]
            matrix:
              city: [lisbon]
              language: [en]
              include:
                - {city: lima}
            input:
              image_url: "{{ needs.stills.result_url }}"
        """)
    assert errors_of(p) == [
        f"{p}:12:13: teaser[city=lima]: no instance of 'stills' matches this one (city=lima)",
    ]


def test_pending_values_do_not_hide_errors_about_what_is_known(tmp_path):
    """A missing field, or a fan-in list that is too short, is an error before run time."""
    import io

    from renderer.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n"
        "  clip:\n    endpoint: samsar/video/text_to_video\n    matrix:\n      city: [lisbon]\n"
        "    input: {prompt: p, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}\n"
        "  cut:\n    endpoint: samsar/video/join_videos\n    needs: [clip]\n"
        "    input:\n      session_ids: \"{{ needs.clip | map(attribute='session_id') | list }}\"\n"
        "  subs:\n    endpoint: samsar/video/translate_video\n    needs: [clip]\n    matrix:\n      city: [lisbon]\n"
        "    input:\n      videoSessionId: \"{{ needs.clip.session_id }}\"\n"
    )
    err = io.StringIO()
    assert main(["validate", str(path)], out=io.StringIO(), err=err, env={}) == 1
    assert err.getvalue().splitlines()[:2] == [
        f"{path}:13:7: cut: session_ids needs at least 2 item(s), it has 1",
        f"{path}:19:5: subs[city=lisbon]: missing required field language",
    ]
