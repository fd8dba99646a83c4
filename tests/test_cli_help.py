"""`--help` of every command: every argument says what it is, and the exit codes are listed."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from renderer.cli import build_parser


def _commands(parser: argparse.ArgumentParser, prefix: str = "renderer") -> dict[str, argparse.ArgumentParser]:
    found = {prefix: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, f"{prefix} {name}"))
    return found


def test_every_argument_of_every_command_has_a_help_text() -> None:
    silent = [f"{name} {a.option_strings or a.dest}" for name, p in _commands(build_parser()).items()
              for a in p._actions
              if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
    assert silent == []


def test_the_help_lists_the_exit_codes_the_readme_gives() -> None:
    text = build_parser().format_help()
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| (\d+) \|", section, re.M))
    listed = set(re.findall(r"^  (\d+) ", text.split("exit codes:", 1)[1], re.M))
    assert listed == documented == {"0", "1", "2", "3", "130"}
