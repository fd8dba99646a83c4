"""docs/plan-json.md stays true: its field table is generated from schemas/plan.schema.json, and its
example is what `renderer plan --json` prints for the campaign and manifest it shows.

Regenerate the table after changing the schema:  python tests/plan/test_plan_json_doc.py
"""

from __future__ import annotations

import json
import re
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from renderer.campaign.schemas import PLAN_SCHEMA, load_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-json.md"
BEGIN, END = "<!-- fields:begin (generated from schemas/plan.schema.json) -->", "<!-- fields:end -->"
PLACEHOLDERS = {"by_provider": "<provider>", "targets": "<provider>", "endpoint": "<endpoint>", "video_model": "<video_model>"}


def _type(node: dict[str, Any]) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name})"
    if "anyOf" in node:
        return " or ".join(_type(n) for n in node["anyOf"])
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    t = node.get("type", "any")
    if t == "array" and "items" in node and "$ref" not in node["items"] and node["items"].get("type") != "object":
        return f"array of {_type(node['items'])}"
    return " or ".join(t) if isinstance(t, list) else t


def _describe(node: dict[str, Any], defs: dict[str, Any]) -> str:
    text = node.get("description")
    if text is None and "$ref" in node:
        text = defs[node["$ref"].rsplit("/", 1)[-1]].get("description", "")
    return (text or "").replace("|", "\\|")


def _rows(node: dict[str, Any], path: str, defs: dict[str, Any], out: list[str], key: str = "") -> None:
    if path:
        out.append(f"| `{path}` | {_type(node)} | {_describe(node, defs)} |")
    if "$ref" in node:
        return  # the definition has its own table
    for name, child in (node.get("properties") or {}).items():
        _rows(child, f"{path}.{name}" if path else name, defs, out, name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        _rows(extra, f"{path}.{PLACEHOLDERS.get(key, '<key>')}", defs, out, "")
    items = node.get("items")
    if isinstance(items, dict) and items.get("type") == "object":
        for name, child in (items.get("properties") or {}).items():
            _rows(child, f"{path}[].{name}", defs, out, name)


def fields_table() -> str:
    schema = load_schema(PLAN_SCHEMA)

    defs = schema["$defs"]
    head = ["| field | type | meaning |", "|---|---|---|"]
    out = ["### Fields", "", *head]
    _rows(schema, "", defs, out)
    for name, node in defs.items():
        out += ["", f"### {name}", "", node.get("description", ""), ""]
        if node.get("properties"):
            out += head
            _rows({"properties": node["properties"]}, "", defs, out)
        else:
            out.append(f"Type: {_type(node)}.")
    required = ", ".join(f"`{k}`" for k in schema["required"])
    return "\n".join(out + ["", f"Always present at the top level: {required}."])


def _block(text: str, marker: str) -> str:
    m = re.search(rf"<!-- example:{marker} -->\s*```\w*\n(.*?)```", text, re.S)
    assert m, f"no example:{marker} block in {DOC}"
    return m.group(1)


def test_the_field_table_is_generated_from_the_schema() -> None:
    text = DOC.read_text("utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    assert text[start:end].strip() == fields_table(), "run: python tests/plan/test_plan_json_doc.py"


def test_every_schema_property_is_in_the_doc() -> None:
    schema = load_schema(PLAN_SCHEMA)

    text = DOC.read_text("utf-8")
    for name in schema["properties"]:
        assert f"`{name}`" in text
    for name in schema["properties"]["jobs"]["items"]["properties"]:
        assert f"`jobs[].{name}`" in text


def test_the_example_is_real_output(tmp_path: Path) -> None:
    from jsonschema import Draft202012Validator

    from renderer.cli import main
    PLAN_JSON_SCHEMA = load_schema(PLAN_SCHEMA)

    text = DOC.read_text("utf-8")
    campaign = tmp_path / "spring-launch.yaml"
    campaign.write_text(_block(text, "campaign"), "utf-8")
    (tmp_path / "spring-launch.manifest.json").write_text(_block(text, "manifest"), "utf-8")
    out, err = StringIO(), StringIO()
    assert main(["plan", str(campaign), "--json"], out=out, err=err, env={}) == 0, err.getvalue()
    shown = json.loads(_block(text, "output"))
    assert json.loads(out.getvalue()) == shown
    assert list(Draft202012Validator(PLAN_JSON_SCHEMA).iter_errors(shown)) == []


def _regenerate() -> None:  # pragma: no cover - a maintenance script
    text = DOC.read_text("utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + fields_table() + "\n" + text[end:], "utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(DOC.parents[1]))
    _regenerate()
