"""The README (and docs/ci.md) as a test: every example runs and says what it shows.

- The README runs top to bottom in one temporary clone of this repository, as a newcomer
  follows it: Quickstart command 1 (its `renderer` part: tests/cikit/test_newcomer.py runs
  the `pip install .` too), then every example in the order written. Each ```yaml block
  whose first line is `# campaign: PATH` is written at PATH when the reading reaches it;
  each ```console block is a session whose `$ renderer ...` lines run in this process
  (renderer.cli.main); the ```sh block of the dress rehearsal serves a sandbox (on a free
  port instead of 8765) and runs its `renderer` line against it. What cannot run here is
  said where it is skipped: Quickstart command 2 (the whole suite, from inside the suite),
  `renderer pricing refresh` (it needs the network) and the shared store's example (a
  PostgreSQL server: tests/integration/test_shared_state.py runs it).
- docs/ci.md's sessions each run in a fresh directory holding a copy of campaigns/.
- In a session the shell does the word splitting, quoting and globbing (`eval "set -- ..."`
  in bash, in that directory), and leading `NAME=value` words become the environment. The
  exit code must be 0, or the one a trailing `# exit N` comment gives. Output lines shown
  under a command must appear in what it printed (stdout and stderr, trailing spaces
  ignored); a line `…` stands for lines not shown, and `…` within a line for any text
  (timings, credits charged).
- Every `# campaign: PATH` block must validate (`# campaign: PATH, invalid`: must not).
- The environment of every session has RENDERER_EXEC_SETTINGS set to the executor's test
  speed knobs (poll every few milliseconds, sandbox renders instantly): a sandbox run
  then takes about a second instead of ten. Nothing else differs from a user's shell.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from renderer import providers

from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.server import running_sandbox_sync

from .conftest import ROOT, cli
from .test_step_summary import FAST_RUN

DOCS = [ROOT / "README.md", ROOT / "docs" / "ci.md"]
QUICKSTART = [
    "pip install . && renderer run --sandbox campaigns/spring-launch.yaml",
    "pip install -e '.[test]' && python -m pytest",
]
ELLIPSIS = ("…", "...")


@dataclass
class Block:
    doc: Path
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    found: list[Block] = []
    lines = doc.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.fullmatch(r"```(\S*)\s*", lines[i])
        if m:
            end = lines.index("```", i + 1)
            found.append(Block(doc, i + 1, m.group(1), "\n".join(lines[i + 1 : end]) + "\n"))
            i = end + 1
        else:
            i += 1
    return found


ALL = [b for doc in DOCS for b in blocks(doc)]
SESSIONS = [b for b in ALL if b.lang == "console" and re.search(r"^\$ (\w+=\S* )*renderer ", b.text, re.M)]
CAMPAIGNS = [b for b in ALL if b.lang == "yaml" and b.text.startswith("# campaign:")]


def campaign_target(block: Block) -> tuple[str, bool]:
    m = re.fullmatch(r"# campaign: (\S+?)(, invalid)?", block.text.splitlines()[0])
    assert m, f"{block.id}: write `# campaign: PATH` or `# campaign: PATH, invalid`"
    return m.group(1), bool(m.group(2))


def workdir(tmp_path: Path, mentioned_in: str) -> Path:
    """campaigns/ as in a fresh clone, plus the docs' campaigns the session names."""
    shutil.copytree(ROOT / "campaigns", tmp_path / "campaigns", ignore=shutil.ignore_patterns("*.manifest.json"))
    for block in CAMPAIGNS:
        path, _ = campaign_target(block)
        if path in mentioned_in:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(block.text)
    return tmp_path


@dataclass
class Command:
    line: str
    env: dict[str, str]
    words: str  # the command line after the assignments, for the shell to expand
    exit: int
    shown: list[str]


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    for raw in block.text.splitlines():
        if raw.startswith("$ "):
            line = raw[2:]
            m = re.search(r"\s+#\s*exit\s+(\d+)\s*$", line)
            code = int(m.group(1)) if m else 0
            line = line[: m.start()] if m else line
            env: dict[str, str] = {}
            while (a := re.match(r"(\w+)=(\S*)\s+", line)):
                env[a.group(1)] = a.group(2)
                line = line[a.end():]
            assert line.startswith("renderer "), f"{block.id}: only renderer commands run here: {raw}"
            assert not re.search(r"[|;&<>`]|\$\(", line), f"{block.id}: keep examples to one command: {raw}"
            found.append(Command(raw, env, line, code, []))
        elif found and raw.strip() and raw.strip() not in ELLIPSIS:
            found[-1].shown.append(raw.rstrip())
    return found


def shell_words(words: str, cwd: Path) -> list[str]:
    """The arguments bash would pass for this command line, run in ``cwd``."""
    proc = subprocess.run(["bash", "-c", 'eval "set -- $1"; printf "%s\\0" "$@"', "_", words],
                          cwd=cwd, capture_output=True, check=True)
    return proc.stdout.decode().split("\0")[:-1]


def test_there_are_examples():
    assert len(SESSIONS) >= 8 and len(CAMPAIGNS) >= 4


def run_session(block: Block, cwd: Path, env: dict[str, str] | None = None) -> None:
    for command in commands(block):
        argv = shell_words(command.words, cwd)
        assert argv[0] == "renderer"
        r = cli(argv[1:], env={"RENDERER_EXEC_SETTINGS": FAST_RUN, **(env or {}), **command.env})
        printed = [line.rstrip() for line in (r.out + r.err).splitlines()]
        assert r.code == command.exit, f"{block.id}: {command.line}\n{r.out}{r.err}"
        for line in command.shown:  # … within a line stands for any text
            pattern = re.compile(".*".join(re.escape(part) for part in line.split("…")))
            seen = any(pattern.fullmatch(p) for p in printed)
            assert seen, f"{block.id}: {command.line}\nnot printed: {line!r}\n{r.out}{r.err}"


def test_the_other_docs_sessions_each_in_a_fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for n, block in enumerate(b for b in SESSIONS if b.doc.name != "README.md"):
        cwd = workdir(tmp_path / str(n), block.text)
        monkeypatch.chdir(cwd)
        run_session(block, cwd)


def clone(dest: Path) -> Path:
    """A fresh clone of this repository (its last commit), as a newcomer makes one."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of renderer")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dest)], check=True, capture_output=True)
    return dest


def test_the_readme_top_to_bottom_in_one_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cwd = clone(tmp_path / "renderer")
    monkeypatch.chdir(cwd)
    ran = []
    for block in blocks(ROOT / "README.md"):
        text = block.text.strip()
        if text == QUICKSTART[0]:  # its `pip install .` is tests/cikit/test_newcomer.py's
            r = cli(["run", "--sandbox", "campaigns/spring-launch.yaml"], env={"RENDERER_EXEC_SETTINGS": FAST_RUN})
            assert r.code == 0 and "run finished" in r.out, r.out + r.err
        elif text == QUICKSTART[1] or text == "renderer pricing refresh" or text.startswith("export RENDERER_STATE"):
            continue  # the whole suite from inside itself; the network; a PostgreSQL server (test_shared_state.py)
        elif block.lang == "yaml" and text.startswith("# campaign:"):
            path, _ = campaign_target(block)
            (cwd / path).write_text(block.text)
        elif block.lang == "sh" and text.startswith("renderer sandbox"):
            dress_rehearsal(block, cwd)
        elif block.lang == "sh":
            raise AssertionError(f"{block.id}: a shell example this test neither runs nor says why it skips")
        elif block in SESSIONS:
            run_session(block, cwd)
            ran.append(block)
    assert ran == [b for b in SESSIONS if b.doc.name == "README.md"]
    # what a newcomer's rehearsals leave behind is not for git: the example campaigns' own
    # files are unchanged and no manifest of a rehearsal would be committed
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "campaigns"], cwd=cwd,
                            check=True, capture_output=True, text=True).stdout
    written = {f"campaigns/{b}" for b in ("flags.yaml", "listings.yaml", "studio.yaml", "too-big.yaml", "typo.yaml",
                                          "autumn.yaml")}
    assert {line[3:] for line in status.splitlines()} - written == {"campaigns/spring-launch.manifest.json"}


def dress_rehearsal(block: Block, cwd: Path) -> None:
    """`renderer sandbox --port 8765 ... &`, its exports, then `renderer run`: on a free port."""
    lines = block.text.splitlines()
    port = re.search(r"--port (\d+)", lines[0]).group(1)
    with running_sandbox_sync(SandboxConfig(render_seconds=0)) as sb:
        env: dict[str, str] = {}
        for line in lines[1:]:
            line = line.replace(f"127.0.0.1:{port}", f"127.0.0.1:{sb.port}")
            if line.startswith("export "):
                env.update(word.split("=", 1) for word in line.removeprefix("export ").split())
            else:
                argv = shell_words(line, cwd)
                r = cli(argv[1:], env={"RENDERER_EXEC_SETTINGS": FAST_RUN, **env})
                assert r.code == 0, f"{block.id}: {line}\n{r.out}{r.err}"
        assert sb.state.counters.snapshot()["accepted_total"] == 12  # a run against it is a real run: all sent


@pytest.mark.parametrize("block", CAMPAIGNS, ids=lambda b: b.id)
def test_campaign_block_validates(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path, invalid = campaign_target(block)
    cwd = workdir(tmp_path, path)
    monkeypatch.chdir(cwd)
    r = cli(["validate", path])
    assert r.code == (1 if invalid else 0), r.err


# -- what the README promises ------------------------------------------------------------

README = (ROOT / "README.md").read_text("utf-8")


def section(title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.M | re.S)
    assert m, f"no section {title!r}"
    return m.group(1)


def test_quickstart_is_exactly_the_two_commands():
    code = [b for b in blocks(ROOT / "README.md") if f"\n{b.text}" in section("Quickstart")]
    assert [b.text.strip() for b in code] == QUICKSTART


def test_ci_runs_the_second_quickstart_command_verbatim():
    assert QUICKSTART[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_endpoint_is_listed():
    missing = [e for e in providers.ROUTES if f"`{e}`" not in section("The campaign file")]
    assert not missing


def test_every_campaign_key_is_in_a_table():
    schema = json.loads((ROOT / "schemas" / "campaign.schema.json").read_text())
    job = schema["$defs"]["job"]["properties"]
    keys = set(schema["properties"]) | set(job) | set(job["estimate"]["properties"])
    keys |= set(schema["properties"]["budget"]["properties"])
    for provider in schema["properties"]["providers"]["properties"].values():
        keys |= set(provider["properties"])
    keys |= {"include", "exclude", "from"}
    text = section("The campaign file")
    assert not [k for k in sorted(keys) if f"`{k}`" not in text]


def test_price_tables_match_the_built_in_table():
    prices = providers.price_table()
    text = section("Pricing and estimates")
    samsar = prices["samsar"]
    for model, rate in samsar["video_model_per_second"].items():
        units = ", ".join(str(u) for u in samsar["video_model_units_seconds"][model])
        assert f"| `{model}` | {rate} | {units} |" in text
    for source in ("samsar", "samsar_create_movie", "enhancecraft"):
        assert f"| {prices[source]['as_of']} |" in text
    enhance = samsar["image_enhance"]
    assert "30 (1k), 50 (2k), 60 (4k)" in text and enhance == {"1k": 30, "2k": 50, "4k": 60}
    for model, rate in prices["samsar_create_movie"]["per_second"].items():
        assert f"`{model}`" in text and (rate is None or rate == 10)


def test_environment_variables_are_the_ones_the_code_reads():
    text = section("Environment variables")
    for module in providers.all_providers():
        assert f"| `{module.ENV_KEY}` |" in text
        assert f"| `{module.ENV_BASE_URL}` |" in text and f"`{module.DEFAULT_BASE_URL}`" in text
    code = "\n".join(p.read_text() for p in (ROOT / "renderer").rglob("*.py") if p.name != "ci.py")
    for name in set(re.findall(r'env\.get\("([A-Z_]+)"', code)):
        assert f"`{name}`" in README, name


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if re.match(r"\w+://", target):
            continue
        path = (doc.parent / target).resolve()
        assert path.exists(), f"{doc.name}: broken link {target}"
