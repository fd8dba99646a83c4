"""The starter campaign `renderer init` writes, and where it puts the schemas."""

from __future__ import annotations

SCHEMA_FOLDER = "renderer-schemas"  # beside .git: one copy per repository, committed with it

STARTER = """\
# yaml-language-server: $schema={schema}
# A starter campaign. From {root}: `renderer validate {name}` checks it,
# `renderer plan {name}` prices it, and `renderer run --sandbox {name}` runs it
# for free on this machine.
version: 1
name: {stem}
description: One still per city, then a short teaser per city and language
budget:
  max_credits: 5000
vars:
  book_url: https://example.com/book
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo]
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.city }}}}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, tokyo]
      language: [en, es]
    estimate:
      duration: 10
    input:
      image_urls: ["{{{{ needs.stills.result_url }}}}"]
      video_model: RUNWAYML
      aspect_ratio: "9:16"
      language: "{{{{ matrix.language }}}}"
      generate_outro_image: true
      cta_url: "{{{{ vars.book_url }}}}?city={{{{ matrix.city }}}}"
"""
