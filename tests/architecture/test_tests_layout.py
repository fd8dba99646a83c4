"""tests/README.md's rules that code can check: no test edits ``sys.path``, and no test imports
another folder's test module or conftest by an absolute name, which works only through whatever
``sys.path`` holds (what folders share is the ``tests/helpers`` package; a folder that is a
package may import its own ``conftest`` relatively, ``from .conftest import ...``)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _is_main_block(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``: a test module run as a script may set up its own path."""
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _edits_path(func: ast.expr) -> bool:
    """``sys.path.insert(...)`` (append, extend, remove) or ``monkeypatch.syspath_prepend(...)``."""
    if not isinstance(func, ast.Attribute):
        return False
    target = func.value
    return func.attr == "syspath_prepend" or (
        func.attr in ("insert", "append", "extend", "remove") and isinstance(target, ast.Attribute)
        and target.attr == "path" and isinstance(target.value, ast.Name) and target.value.id == "sys")


def layout_breaks(path: Path, source: str) -> list[str]:
    """Where ``source`` edits ``sys.path`` or imports a test module or a conftest."""
    out: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_main_block(child):
                continue
            if isinstance(child, ast.Call) and _edits_path(child.func):
                out.append(f"{path.name}:{child.lineno}: edits sys.path")
            names = ([a.name for a in child.names] if isinstance(child, ast.Import)
                     else [child.module or ""] if isinstance(child, ast.ImportFrom) and child.level == 0 else [])
            out.extend(f"{path.name}:{child.lineno}: imports {n}" for n in names
                       if n.split(".")[-1].startswith(("test_", "conftest")))
            visit(child)

    visit(ast.parse(source, str(path)))
    return out


def test_no_test_edits_sys_path_or_imports_another_test() -> None:
    found = [b for p in sorted(TESTS.rglob("*.py")) if "data" not in p.relative_to(TESTS).parts
             for b in layout_breaks(p, p.read_text("utf-8"))]
    assert not found, "tests/README.md: helpers are the tests/helpers package\n" + "\n".join(found)


def test_the_checker_names_what_breaks_the_rules() -> None:
    source = ("import sys\nfrom test_other import helper\nimport conftest\nsys.path.insert(0, 'x')\n"
              "from .conftest import ROOT\n"
              "def f(monkeypatch):\n    monkeypatch.syspath_prepend('y')\n"
              "if __name__ == '__main__':\n    sys.path.insert(0, 'ok')\n")
    assert layout_breaks(Path("t.py"), source) == [
        "t.py:2: imports test_other", "t.py:3: imports conftest", "t.py:4: edits sys.path", "t.py:7: edits sys.path"]
