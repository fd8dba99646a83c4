"""Functions that fit on a screen, classes that fit in one sitting: in renderer/execute/, no
function over 50 lines and no class over 300 (issue 23), counted from the ``def``/``class``
line (decorators excluded) to the last line of its body, docstring and nested functions
included."""

from __future__ import annotations

import ast
from pathlib import Path

EXECUTE = Path(__file__).resolve().parents[2] / "renderer" / "execute"
MAX_FUNCTION, MAX_CLASS = 50, 300


def oversized(path: Path) -> list[tuple[str, int]]:
    """(``file:Qualified.name``, its lines) for every function and class in ``path`` over its limit."""
    out: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                lines = (child.end_lineno or child.lineno) - child.lineno + 1
                limit = MAX_CLASS if isinstance(child, ast.ClassDef) else MAX_FUNCTION
                if lines > limit:
                    out.append((f"{path.name}:{name}", lines))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text("utf-8"), str(path)), "")
    return out


def test_no_function_or_class_in_execute_is_over_its_size() -> None:
    found = [f"{name}: {n} lines" for p in sorted(EXECUTE.rglob("*.py")) for name, n in oversized(p)]
    assert not found, (f"over {MAX_FUNCTION} lines (a function) or {MAX_CLASS} (a class) in renderer/execute/:\n"
                     + "\n".join(found))


def test_the_counter_names_an_oversized_function_and_class(tmp_path: Path) -> None:
    def function(name: str, lines: int, indent: str = "") -> str:  # ``lines`` in all, the def line included
        return f"{indent}def {name}():\n" + "".join(f"{indent}    x = {i}\n" for i in range(lines - 1))

    methods = "".join(function(f"m{i}", 2, "    ") for i in range(150))  # 300 lines
    src = tmp_path / "big.py"
    src.write_text(function("fits", MAX_FUNCTION) + function("grown", MAX_FUNCTION + 1)
                   + "class Fits:\n" + methods[: -len(function("m149", 2, "    "))]
                   + "class Grown:\n" + methods + "    async def inner_grown(self):\n"
                   + "".join(f"        y = {i}\n" for i in range(MAX_FUNCTION)), "utf-8")
    assert oversized(src) == [("big.py:grown", MAX_FUNCTION + 1), ("big.py:Grown", 1 + 300 + MAX_FUNCTION + 1),
                              ("big.py:Grown.inner_grown", MAX_FUNCTION + 1)]
