"""`renderer account set/show`: an account budget's cap, kept in the local book (``--state-dir``)."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.shared_store import cli


def test_account_set_and_show_locally(tmp_path: Path) -> None:
    state = str(tmp_path / ".renderer")
    code, out, err = cli(["account", "set", "team", "--max-credits", "300", "--period", "month", "--state-dir", state], {})
    assert code == 0 and "account team: 300 of 300 credits left this month" in out, out + err
    code, out, _ = cli(["account", "show", "--json", "--state-dir", state], {})
    [acc] = json.loads(out)["accounts"]
    assert (code, acc["max_credits"], acc["remaining"], acc["period"]) == (0, 300, 300, "month")
    assert cli(["account", "show", "other", "--state-dir", state], {})[0] == 1
    assert cli(["account", "set", "bad name", "--max-credits", "3", "--state-dir", state], {})[0] == 2
    assert cli(["account", "set", "team", "--max-credits", "-1", "--state-dir", state], {})[0] == 2
