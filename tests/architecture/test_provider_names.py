"""Outside providers/ and sandbox/, the code does not name a provider (it asks the registry).

Code means identifiers and string literals; docstrings and comments may give
examples. The CLI's help and the starter campaign are the exceptions the issue allows.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import renderer

PACKAGE = Path(renderer.__file__).parent
ALLOWED = {"cli.py", "starter.py"}  # the CLI's help, the starter campaign
NAMES = re.compile(r"samsar|enhancecraft", re.I)


def _docstring_lines(source: str) -> set[int]:
    """Lines of string statements that stand alone (docstrings)."""
    import ast

    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _namings(path: Path) -> list[str]:
    source = path.read_text("utf-8")
    docs = _docstring_lines(source)
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)) and tok.start[0] not in docs:
            if NAMES.search(tok.string):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{tok.start[0]}: {tok.string[:60]}")
    return found


def test_only_providers_and_the_sandbox_name_a_provider() -> None:
    found: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("providers", "sandbox") or str(rel) in ALLOWED:
            continue
        found += _namings(path)
    assert not found, "provider names outside providers/ and sandbox/:\n" + "\n".join(found)
