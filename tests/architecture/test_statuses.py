"""Status words live in one place (``renderer.vocabulary``: ``JobStatus``, ``SubmissionState``,
``ApiState``): no module compares a status with a bare string, and the enums write the very
strings manifests and journals always held."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from renderer.execute import records as J
from renderer.manifest import STATUSES
from renderer.vocabulary import PUBLIC_STATUSES, UNSETTLED, ApiState, JobStatus, SubmissionState, public_status

ROOT = Path(__file__).resolve().parents[2] / "renderer"
WORDS = {s.value for s in (*JobStatus, *SubmissionState, *ApiState)}
# They speak an API's own words (and map them onto ApiState there); a plan's action and a
# client's answer kind are vocabularies of their own that share a word or two.
AWAY = ("providers", "sandbox")
OTHER_WORDS = ("action", "kind")


def _strings(node: ast.expr) -> list[str]:
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [e.value for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def _other_vocabulary(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in OTHER_WORDS


def bare_comparisons(path: Path, root: Path = ROOT.parent) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(_other_vocabulary(s) for s in sides):
            continue
        words = sorted({w for s in sides for w in _strings(s) if w in WORDS})
        if words:
            found.append(f"{path.relative_to(root)}:{node.lineno}: compares with {', '.join(words)}")
    return found


def test_no_module_compares_a_status_with_a_bare_string() -> None:
    files = [p for p in sorted(ROOT.rglob("*.py")) if p.relative_to(ROOT).parts[0] not in AWAY]
    found = [hit for p in files for hit in bare_comparisons(p)]
    assert not found, "use renderer.vocabulary's JobStatus / SubmissionState / ApiState:\n" + "\n".join(found)


def test_the_checker_finds_a_bare_comparison(tmp_path: Path) -> None:
    src = tmp_path / "mod.py"
    src.write_text("def f(e, st, inst):\n"
                   "    a = e.status == 'completed'\n"
                   "    b = st.status in ('queued', 'waiting')\n"
                   "    c = inst.action == 'cancelled'\n"
                   "    return a, b, c, st.status == 'rendered'\n", "utf-8")
    assert bare_comparisons(src, tmp_path) == ["mod.py:2: compares with completed",
                                               "mod.py:3: compares with queued, waiting"]


def test_the_enums_are_the_strings_manifests_and_journals_hold() -> None:
    assert STATUSES == ("completed", "failed", "cancelled", "pending", "not_submitted", "unknown", "awaiting_approval")
    assert PUBLIC_STATUSES == STATUSES and set(UNSETTLED) == {"waiting", "queued", "submitting"}
    assert [J.PREPARED, J.SENDING, J.ACCEPTED, J.COMPLETED, J.FAILED, J.CANCELLED, J.REJECTED, J.UNKNOWN,
            J.AWAITING, J.APPROVING] == [
        "prepared", "sending", "accepted", "completed", "failed", "cancelled", "rejected", "unknown",
        "awaiting_approval", "approving"]
    assert json.dumps({JobStatus.NOT_SUBMITTED: [JobStatus.PENDING, SubmissionState.SENDING]}) == \
        '{"not_submitted": ["pending", "sending"]}'
    assert f"{JobStatus.UNKNOWN} / {SubmissionState.REJECTED}" == "unknown / rejected"
    assert "completed" in frozenset({SubmissionState.COMPLETED}) and {"failed": 1}[JobStatus.FAILED] == 1


def test_public_status_maps_every_journal_state() -> None:
    assert {s.value: public_status(s) for s in SubmissionState} == {
        "prepared": "not_submitted", "sending": "unknown", "accepted": "pending", "completed": "completed",
        "failed": "failed", "cancelled": "cancelled", "rejected": "not_submitted", "unknown": "unknown",
        "awaiting_approval": "awaiting_approval", "approving": "pending"}
    assert public_status(SubmissionState.REJECTED, 400) == JobStatus.FAILED
    assert public_status(SubmissionState.REJECTED, 402) == JobStatus.NOT_SUBMITTED
    assert public_status("no such state") == JobStatus.UNKNOWN  # a row no run wrote: its fate is not established
    assert all(type(public_status(s, 500)) is JobStatus for s in SubmissionState)
