"""The import graph docs/architecture.md draws: no circles, every import points down its layer table, and
only the CLI calls a command."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.import_graph import cycles, graph

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def layers() -> list[tuple[str, list[str]]]:
    """The doc's layer table, outermost first: (layer, module names)."""
    text = DOC.read_text("utf-8")
    block = text[text.index("<!-- layers:begin -->"):text.index("<!-- layers:end -->")]
    rows = [line.split("|") for line in block.splitlines() if line.startswith("| ") and "`" in line]
    return [(cells[1].strip(), re.findall(r"`([\w.]+)`", cells[2])) for cells in rows]


def layer_of(module: str, table: list[tuple[str, list[str]]]) -> int:
    """The index (0 outermost) of the layer whose longest listed name the module starts with."""
    best, where = "", -1
    for i, (_, names) in enumerate(table):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, where = name, i
    return where


def test_there_are_no_import_circles() -> None:
    found = cycles(graph())
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_names_a_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]


def test_every_module_has_a_layer() -> None:
    table = layers()
    assert [name for name, _ in table][:2] == ["entry", "commands"] and table[-1][0] == "base"
    edges = graph()
    assert not [m for m, out in edges.items() if out and layer_of(m, table) < 0]  # `renderer` itself is a leaf


def test_imports_point_down_the_layer_table() -> None:
    table = layers()
    edges = graph()
    leaves = {m for m, out in edges.items() if not out}  # they import nothing of ours: usable anywhere
    wrong = [
        f"{m} ({table[layer_of(m, table)][0]}) imports {t} ({table[layer_of(t, table)][0]})"
        for m, out in sorted(edges.items()) for t in sorted(out)
        if t not in leaves and layer_of(t, table) < layer_of(m, table)
    ]
    assert not wrong, "imports against docs/architecture.md's layers:\n" + "\n".join(wrong)


def test_the_doc_names_every_execution_module_with_its_job() -> None:
    text = DOC.read_text("utf-8")
    block = text[text.index("<!-- execute-modules:begin -->"):text.index("<!-- execute-modules:end -->")]
    named = {cells[1].strip().strip("`"): cells[2].strip() for cells in
             (line.split("|") for line in block.splitlines() if line.startswith("| `"))}
    modules = {p.stem for p in (DOC.parents[1] / "renderer" / "execute").glob("*.py") if p.stem != "__init__"}
    assert sorted(modules - set(named)) == [] and sorted(set(named) - modules) == []
    assert all(named.values())


def test_the_sandbox_core_and_the_stand_ins_do_not_reach_the_registry() -> None:
    """What a stand-in builds on must not import what imports the stand-ins (the old circle)."""
    table = layers()
    edges = graph()
    core = {m for m in edges if table[layer_of(m, table)][0] in ("sandbox core", "provider packages")}
    assert core and not [f"{m} -> {t}" for m in sorted(core) for t in edges[m] if t == "renderer.providers"]


SHARED_BY_COMMANDS = {"renderer.commands", "renderer.commands.common"}  # the package, and what commands share
CALLERS_OF_COMMANDS = {"renderer.cli", "renderer.commands"}  # the CLI; the package re-exports `validate`


def wrong_command_imports(edges: dict[str, set[str]]) -> list[str]:
    """Imports of a command (a module of ``renderer.commands`` but the shared ones) by another
    command, or by any module but the CLI."""
    commands = {m for m in edges if m.startswith("renderer.commands.") and m not in SHARED_BY_COMMANDS}
    return [f"{m} imports {t}" for m, out in sorted(edges.items()) for t in sorted(out & commands)
            if m not in CALLERS_OF_COMMANDS]


def test_no_command_imports_another_and_only_the_cli_imports_commands() -> None:
    wrong = wrong_command_imports(graph())
    assert not wrong, "what commands share belongs below them (or in commands/common.py):\n" + "\n".join(wrong)


def test_the_command_rule_names_what_breaks_it() -> None:
    edges = {
        "renderer.cli": {"renderer.commands.run", "renderer.commands.status"},
        "renderer.commands": {"renderer.commands.common", "renderer.commands.validate"},
        "renderer.commands.run": {"renderer.commands.common", "renderer.execute.driver"},
        "renderer.commands.cancel": {"renderer.commands.status"},
        "renderer.commands.status": set(), "renderer.commands.common": set(), "renderer.commands.validate": set(),
        "renderer.ci": {"renderer.commands.run", "renderer.commands.common"},
        "renderer.execute.driver": set(),
    }
    assert wrong_command_imports(edges) == ["renderer.ci imports renderer.commands.run",
                                            "renderer.commands.cancel imports renderer.commands.status"]
