"""Command line: parse arguments, call a command function, render errors once.

Exit codes (campaign-format.md §2): 0 ok, 1 invalid input or jobs not completed,
2 usage, 3 over budget.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, cast

from renderer.errors import Invalid, RendererError, UsageError, UserError
from renderer.text import printable


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 itself; keep one path
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="renderer", description="Declarative campaigns for generative-media APIs.",
                epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    v = sub.add_parser("validate", help="check campaign files; every error as FILE:LINE:COL")
    v.add_argument("files", nargs="+", metavar="FILE", help="campaign files")
    _limits(v)

    pl = sub.add_parser("plan", help="expand, price and show what a run would do")
    pl.add_argument("file", metavar="FILE", help="the campaign file")
    fmt = pl.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="fmt", action="store_const", const="json", help="one JSON object, for scripts")
    fmt.add_argument("--markdown", dest="fmt", action="store_const", const="markdown",
                     help="Markdown, for a pull-request comment")
    pl.add_argument("--manifest", metavar="PREV", help="compare with this manifest (default: beside the campaign)")
    pl.add_argument("--select", action="append", default=[], metavar="PATTERN",
                    help="only these jobs/instances (fnmatch); PATTERN+ adds dependants, +PATTERN upstreams")
    pl.add_argument("--show-inputs", action="store_true",
                    help="also show the request body of every job to run, and what changed against the manifest")
    pl.add_argument("--out", metavar="PLANFILE", help="save the reviewed plan; `run --plan PLANFILE` runs exactly it")
    pl.add_argument("--full-plan-url", metavar="URL",
                    help="in the Markdown, link the whole plan here (an artifact) for what the comment leaves out")
    pl.add_argument("--rerun-cancelled", action="store_true", help="plan to send cancelled jobs again")
    pl.add_argument("--sandbox", action="store_true",
                    help="plan what `run --sandbox` would do, against the rehearsal's own manifest")
    _state(pl)
    _limits(pl)

    r = sub.add_parser("run", help="submit, poll and write the manifest; re-running resumes")
    r.add_argument("file", metavar="FILE", help="the campaign file")
    r.add_argument("--sandbox", action="store_true", help="run against a local stand-in: no key, no credits")
    r.add_argument("--manifest", metavar="PATH", help=MANIFEST_HELP)
    r.add_argument("--select", action="append", default=[], metavar="PATTERN",
                   help="only these jobs/instances, as for plan")
    r.add_argument("--detach", action="store_true", help="submit and exit; a later run resumes polling")
    r.add_argument("--resubmit-unknown", action="store_true",
                   help="resubmit jobs whose earlier submission has an unknown fate (may pay twice)")
    r.add_argument("--state-dir", default=None, help=STATE_HELP.replace("journal", "journal (and the --sandbox stand-in's state)"))
    r.add_argument("--sandbox-credits", type=_positive, default=None, metavar="N",
                   help="with --sandbox: the starting balance of the stand-in's account (default 100000)")
    r.add_argument("--plan", metavar="PLANFILE",
                   help="run exactly this saved plan (plan --out); refuse if the campaign, manifest or prices changed")
    r.add_argument("--max-credits", type=float, default=None, metavar="N", help="lower budget.max_credits for this run")
    r.add_argument("--rerun-cancelled", action="store_true", help="send jobs cancelled with `renderer cancel` again")
    r.add_argument("--yes", "-y", action="store_true",
                   help="do not ask before paying (on a terminal, run shows what it will send and asks)")
    r.add_argument("--moved-from", metavar="OLD_PATH",
                   help="the campaign file was at OLD_PATH before it moved: keep that record (journal, manifest)")
    r.add_argument("--job-timeout", type=_duration, default=None, metavar="DURATION",
                   help="how long one render may stay pending, e.g. 30m, 2h (default: the campaign's timeouts.job, else 6h)")
    r.add_argument("--run-timeout", type=_duration, default=None, metavar="DURATION",
                   help="how long the whole run may take (default: the campaign's timeouts.run, else 24h)")
    r.add_argument("--outputs", metavar="DIR", help="download every result file into DIR (a folder or fsspec URL)")
    r.add_argument("--junit", metavar="FILE", help="write JUnit XML: one test case per job")
    r.add_argument("--approve", action="append", default=[], metavar="PATTERN",
                   help="let these `approve: manual` jobs continue when they stop (recorded in the approvals file)")
    _state(r)
    _limits(r)

    st = sub.add_parser("status", help="show a run's state from the journal")
    st.add_argument("file", nargs="?", metavar="FILE", help="the campaign file")
    st.add_argument("--all", action="store_true", dest="all_campaigns",
                    help="every campaign of the shared store (RENDERER_STATE): runs, jobs, credits")
    st.add_argument("--state-dir", default=None, help=STATE_HELP)
    st.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    st.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    _state(st)

    rs = sub.add_parser("results", help="each job's status and result URLs or downloaded files")
    rs.add_argument("file", metavar="FILE", help="the campaign file")
    rs.add_argument("--manifest", metavar="PATH", help=MANIFEST_HELP)
    rs.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    rs.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    _state(rs)

    rp = sub.add_parser("report", help="write one self-contained HTML page of a run")
    rp.add_argument("file", metavar="FILE", help="the campaign file")
    rp.add_argument("--output", "-o", metavar="HTMLFILE", default=None,
                    help="where to write the page (default: <campaign stem>.report.html beside the campaign, "
                         "<campaign stem>.sandbox.report.html with --sandbox)")
    rp.add_argument("--manifest", metavar="PATH", help=MANIFEST_HELP)
    rp.add_argument("--state-dir", default=None, help=STATE_HELP)
    rp.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    _state(rp)

    ch = sub.add_parser("changed", help="list the campaigns a diff touches (campaign, data and uploaded files)")
    ch.add_argument("--base", required=True, metavar="REV",
                    help="compare with REV (from its merge base with HEAD to the working tree), e.g. origin/main")
    ch.add_argument("--json", action="store_true", help="one JSON object, for scripts (and CI matrices)")

    ap = sub.add_parser("approve", help="let jobs stopped at their approval point continue on the next run")
    ap.add_argument("file", metavar="FILE", help="the campaign file")
    ap.add_argument("patterns", nargs="*", metavar="PATTERN", help="jobs awaiting approval (names, instance ids, fnmatch)")
    ap.add_argument("--select", action="append", default=[], metavar="PATTERN", help="the same as a PATTERN")
    ap.add_argument("--sandbox", action="store_true", help="approve in a rehearsal's record (a --sandbox run)")
    ap.add_argument("--manifest", metavar="PATH", help="the manifest that records the paused jobs (default: beside the campaign)")

    c = sub.add_parser("cancel", help="cancel pending video renders of a run")
    c.add_argument("file", metavar="FILE", help="the campaign file")
    c.add_argument("--state-dir", default=None, help=STATE_HELP)
    c.add_argument("--sandbox", action="store_true", help="cancel a rehearsal's renders (the run was a --sandbox run)")
    c.add_argument("--manifest", metavar="PATH", help="the manifest to mark the cancelled jobs in (default: beside the campaign)")
    _state(c)

    lg = sub.add_parser("log", help="a campaign's runs (when, where, jobs sent, credits) and its journal's events")
    lg.add_argument("file", nargs="?", metavar="FILE", help="the campaign file")
    lg.add_argument("--all", action="store_true", dest="all_campaigns",
                    help="every campaign of the store (the shared one, or the journals under --state-dir)")
    lg.add_argument("--runs", action="store_true", help="one line per run, without its events")
    lg.add_argument("--state-dir", default=None, help=STATE_HELP)
    lg.add_argument("--sandbox", action="store_true", help=SANDBOX_HELP)
    lg.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    _state(lg)

    ac = sub.add_parser("account", help="set or show account budgets shared by campaigns (budget.account)")
    acs = ac.add_subparsers(dest="account_command", parser_class=_Parser)
    a_set = acs.add_parser("set", help="set an account's cap: every campaign naming it spends from it")
    a_set.add_argument("name", metavar="NAME", help="the account, as campaigns name it in budget.account")
    a_set.add_argument("--max-credits", type=float, required=True, metavar="N", help="most credits all of them may spend")
    a_set.add_argument("--period", choices=("month",), default=None,
                       help="the cap is per calendar month (UTC); default: for all time")
    a_show = acs.add_parser("show", help="accounts: cap, spent, held, left")
    a_show.add_argument("name", nargs="?", metavar="NAME", help="only this account")
    a_show.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    for a in (a_set, a_show):
        a.add_argument("--state-dir", default=None,
                       help="without a shared store: the accounts kept under this directory (default .renderer)")
        _state(a)

    s = sub.add_parser("sandbox", help="serve the local stand-in of every API")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    s.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty key)")
    s.add_argument("--render-seconds", type=float, default=2.0, help="how long each render takes (default 2)")
    s.add_argument("--credits", type=int, default=1_000_000,
                   help="each account's starting balance (default 1,000,000)")
    s.add_argument("--seed", type=int, default=0, help="seed for ids and injected faults")
    s.add_argument("--price-factor", type=float, default=1.0,
                   help="charge this many times the documented prices (rehearse prices that moved)")
    s.add_argument("--tier", default="pro", choices=("pro", "business", "enterprise"),
                   help="EnhanceCraft rate-limit tier to enforce")
    s.add_argument("--state", default=None, metavar="DIR",
                   help="keep sessions, balances and ids in DIR between restarts (default: in memory)")

    pr = sub.add_parser("pricing", help="price table tools")
    prs = pr.add_subparsers(dest="pricing_command", parser_class=_Parser)
    prs.add_parser("refresh", help="compare built-in prices with /video/supported_models")

    i = sub.add_parser("init", help="write a starter campaign")
    i.add_argument("file", nargs="?", default="campaign.yaml", metavar="FILE",
                   help="where to write it (default campaign.yaml)")
    i.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    sc = sub.add_parser("schema", help="print a JSON Schema (the campaign's, or an endpoint's)")
    sc.add_argument("endpoint", nargs="?", metavar="ENDPOINT",
                    help="an endpoint such as samsar/image/enhance (default: the campaign file's schema)")
    sc.add_argument("--list", action="store_true", help="list endpoints")
    return p


MANIFEST_HELP = "the results manifest (default: <campaign stem>.manifest.json beside the campaign)"
STATE_HELP = ("where the run's journal lives (default: where the last run of the campaign kept it, "
              "recorded in the repository's git folder; else .renderer)")
SANDBOX_HELP = "read the rehearsal's record (what `run --sandbox` wrote), not the real one"
EXIT_CODES = """exit codes:
  0    success: files valid, plan within budget, every job of the run completed
  1    invalid campaign or manifest; for run, some job did not complete (or the answer to its
       question before paying was not yes: nothing sent)
  2    usage: bad arguments
  3    over budget: plan, run before it submits, or a run that stopped submitting to stay within it
  130  run stopped by a second Ctrl-C"""


def _state(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", dest="state_url", metavar="URL", default=None,
                   help="a shared PostgreSQL store (postgresql://...) instead of SQLite under --state-dir; "
                        "a secret like a key: prefer the RENDERER_STATE variable")


def _limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-instances", type=_positive, default=None, metavar="N",
                   help="refuse campaigns that expand past N job instances (default 200,000)")


def _positive(text: str) -> int:
    """A count of 1 or more: 0 used to mean "no flag" and -5 refused every campaign."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def _duration(text: str) -> float:
    from renderer.campaign.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


if TYPE_CHECKING:
    from renderer.commands.common import Settings
    from renderer.execute.scrub import Scrubber


def _settings(args: argparse.Namespace) -> Settings:
    from renderer.commands.common import Settings

    s = Settings()
    if getattr(args, "max_instances", None):
        s = replace(s, plan=replace(s.plan, matrix=replace(s.plan.matrix, max_instances=args.max_instances)))
    return s


def dispatch(args: argparse.Namespace, out: TextIO, env: Mapping[str, str], err: TextIO | None = None) -> int:
    """Call the command ``args`` names (commands are imported when called: startup stays quick).

    Warnings the command found go to ``err`` whatever it returns or raises."""
    if getattr(args, "state_url", None) and getattr(args, "sandbox", False) and args.command != "run":
        raise UsageError(f"renderer {args.command}: --state names the shared store, and a rehearsal's state "
                         "(--sandbox) is always local: drop one of them")
    checking = _CHECKING.get(args.command or "")
    if checking is not None:
        warnings: list[UserError] = []
        try:
            return checking(args, out, env, warnings)
        finally:
            render_warnings(warnings, err, env)
    command = _COMMANDS.get(args.command or "")
    if command is None:
        raise UsageError("renderer: choose a command (validate, plan, run, results, report, changed, sandbox, status, cancel, "
                         "log, account, pricing, init, schema)")
    return command(args, out, env)


def _validate(args: argparse.Namespace, out: TextIO, env: Mapping[str, str], warnings: list[UserError]) -> int:
    from renderer.commands.validate import validate

    code = validate(args.files, _settings(args), warnings)
    out.write(f"{len(args.files)} file(s) valid" + (f", {len(warnings)} warning(s)" if warnings else "") + "\n")
    return code


def _plan(args: argparse.Namespace, out: TextIO, env: Mapping[str, str], warnings: list[UserError]) -> int:
    from renderer.commands.plan import plan
    from renderer.ui import plan_table

    return plan(args.file, out, fmt=args.fmt or "table", manifest=args.manifest, select=args.select,
                env=env, settings=_settings(args), table_renderer=plan_table, show_inputs=args.show_inputs,
                warnings=warnings, plan_out=args.out, rerun_cancelled=args.rerun_cancelled, sandbox=args.sandbox,
                full_plan=args.full_plan_url)


def _run(args: argparse.Namespace, out: TextIO, env: Mapping[str, str], warnings: list[UserError]) -> int:
    from renderer.commands.run import RunRequest, run

    request = RunRequest(
        args.file, settings=_settings(args), manifest=args.manifest, select=tuple(args.select), sandbox=args.sandbox,
        detach=args.detach, resubmit_unknown=args.resubmit_unknown, rerun_cancelled=args.rerun_cancelled,
        moved_from=args.moved_from, state_dir=args.state_dir, sandbox_credits=args.sandbox_credits,
        job_timeout=args.job_timeout, run_timeout=args.run_timeout, reviewed_plan=args.plan,
        max_credits=args.max_credits, outputs=args.outputs, junit=args.junit, approve=tuple(args.approve),
        yes=args.yes)
    return run(request, out, env, warnings=warnings, ask=_ask(args, out))


def _ask(args: argparse.Namespace, out: TextIO) -> Callable[[str], bool] | None:
    """The question before paying, when someone is at a terminal to answer it (``run`` asks it
    unless --yes or --sandbox)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return None
    from renderer.execute.spending import is_yes

    def ask(question: str) -> bool:
        out.write(question)
        out.flush()
        return is_yes(sys.stdin.readline())  # "" at end of input: no

    return ask


def _approve(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.approve import approve

    return approve(args.file, [*args.patterns, *args.select], out, sandbox=args.sandbox, manifest=args.manifest)


def _results(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.results import results

    return results(args.file, out, manifest=args.manifest, as_json=args.json, sandbox=args.sandbox, env=env)


def _report(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.report import report

    return report(args.file, out, output=args.output, manifest=args.manifest, state_dir=args.state_dir,
                  sandbox=args.sandbox, env=env)


def _changed(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.changed import changed

    return changed(out, base=args.base, as_json=args.json)


def _status(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.status import status

    return status(args.file, out, state_dir=args.state_dir, as_json=args.json, sandbox=args.sandbox, env=env,
                  all_campaigns=args.all_campaigns)


def _cancel(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.cancel import cancel

    return cancel(args.file, out, env, state_dir=args.state_dir, sandbox=args.sandbox, manifest=args.manifest)


def _sandbox(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.sandbox import sandbox
    from renderer.sandbox.config import SandboxConfig

    config = SandboxConfig(render_seconds=args.render_seconds, api_key=args.api_key, credits=args.credits,
                           seed=args.seed, provider_settings={"enhancecraft": {"tier": args.tier}},
                           price_factor=args.price_factor,
                           state_dir=Path(args.state) if args.state else None)
    return sandbox(args.host, args.port, config)


def _log(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.log import log

    return log(args.file, out, env=env, state_dir=args.state_dir, as_json=args.json, sandbox=args.sandbox,
               all_campaigns=args.all_campaigns, events=not args.runs)


def _account(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.account import account_set, account_show

    if args.account_command == "set":
        return account_set(args.name, out, env, max_credits=args.max_credits, period=args.period,
                           state_dir=args.state_dir)
    if args.account_command == "show":
        return account_show(args.name, out, env, as_json=args.json, state_dir=args.state_dir)
    raise UsageError("renderer account: choose a subcommand: set, show")


def _pricing(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.pricing_refresh import pricing_refresh

    if args.pricing_command != "refresh":
        raise UsageError("renderer pricing: choose a subcommand: refresh")
    return pricing_refresh(out, env)


def _init(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.init import init

    return init(args.file, out, force=args.force)


def _schema(args: argparse.Namespace, out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.commands.schema import schema

    return schema(args.endpoint, out, list_only=args.list)


# commands that check a campaign, and so may find warnings (allowed, but worth a look)
_CHECKING: dict[str, Callable[[argparse.Namespace, TextIO, Mapping[str, str], list[UserError]], int]] = {
    "validate": _validate, "plan": _plan, "run": _run,
}
_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, Mapping[str, str]], int]] = {
    "status": _status, "cancel": _cancel, "approve": _approve, "account": _account, "log": _log,
    "sandbox": _sandbox, "pricing": _pricing, "init": _init, "schema": _schema,
    "results": _results, "report": _report, "changed": _changed,
}


def render_warnings(warnings: Sequence[UserError], err: TextIO | None, env: Mapping[str, str]) -> None:
    """``FILE:LINE:COL: warning: message`` each; on GitHub Actions also a warning annotation."""
    if err is None:
        return
    for w in warnings:
        err.write(printable(str(w)) + "\n")
        if env.get("GITHUB_ACTIONS") == "true":
            err.write(_annotation("warning", w, env))


def render_error(error: RendererError, err: TextIO, env: Mapping[str, str]) -> None:
    """Print an error once; on GitHub Actions also as annotations on the diff."""
    errors: list[RendererError] = list(error.errors) if isinstance(error, Invalid) else [error]
    for e in errors:
        err.write(printable(f"{e}" if isinstance(e, UserError) else f"error: {e}") + "\n")
    if env.get("GITHUB_ACTIONS") == "true":
        for e in errors:
            if isinstance(e, UserError):
                err.write(_annotation("error", e, env))
            else:
                err.write("::error::" + _escape_data(printable(str(e), keep="\r\n")) + "\n")
    if isinstance(error, Invalid) and len(errors) > 1:
        err.write(f"{len(errors)} errors\n")


def _annotation(kind: str, e: UserError, env: Mapping[str, str]) -> str:
    """``::error file=,line=,col=::message`` (or ``::warning``). Messages keep newlines:
    _escape_data encodes them as %0A; every other control character is escaped."""
    loc = e.location
    msg = printable((f"{loc.instance}: " if loc.instance else "") + e.message, keep="\r\n")
    props = f"file={_escape_prop(printable(_workspace_path(loc.file, env)))}"
    if loc.line:  # 0: the whole file
        props += f",line={loc.line},col={loc.col}"
    return f"::{kind} {props}::{_escape_data(msg)}\n"


def _workspace_path(file: str, env: Mapping[str, str]) -> str:
    """An annotation's file as GitHub wants it: relative to the workspace (the repository)."""
    workspace = env.get("GITHUB_WORKSPACE")
    if not workspace:
        return file
    try:
        rel = os.path.relpath(os.path.abspath(file), os.path.abspath(workspace))
    except ValueError:  # another drive
        return file
    return file if rel == ".." or rel.startswith(".." + os.sep) else rel.replace(os.sep, "/")


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         env: Mapping[str, str] | None = None) -> int:
    if out is None or err is None:  # no character of a campaign may crash the console: write \udc80 instead
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):
                pass
    out = out or sys.stdout
    err = err or sys.stderr
    env = dict(os.environ) if env is None else env
    out, err = _redacting(out, err, env)
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "state_url", None):  # --state URL: as RENDERER_STATE, and a secret like it
            from renderer.execute.stateurl import STATE_ENV

            env = {**env, STATE_ENV: args.state_url}
            out, err = _redacting(out, err, env)
        if args.version:
            from importlib.metadata import version

            out.write(f"renderer {version('renderer')}\n")
            return 0
        if env.get("RENDERER_PROVIDERS"):  # provider plugins (renderer.providers.load_plugins)
            from renderer.providers import load_plugins

            load_plugins(env["RENDERER_PROVIDERS"])
        return dispatch(args, out, env, err)
    except RendererError as exc:
        render_error(exc, err, env)
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130
    except BrokenPipeError:  # `renderer plan | head`
        from renderer.execute.console import silence

        silence(sys.stdout)  # the interpreter's last flush must not fail on the closed pipe
        return 0
    except Exception as exc:  # a bug of ours: say so in one line, keep the details for a report
        if env.get("RENDERER_DEBUG"):
            raise
        err.write(f"internal error: {type(exc).__name__}: {printable(_one_line(str(exc)))[:300]}\n"
                  "this is a bug in renderer; set RENDERER_DEBUG=1 for the traceback and report it\n")
        return 1


def _redacting(out: TextIO, err: TextIO, env: Mapping[str, str]) -> tuple[TextIO, TextIO]:
    """The last line of defence: an exception's text may quote a header, or the store's URL."""
    from renderer.execute.scrub import Scrubber

    scrubber = Scrubber.from_env(env)  # every key in every form an echo takes, every credential-named value
    if not scrubber.secrets:
        return out, err
    while isinstance(out, _Redacting):  # one layer, with every secret
        out = out._stream
    while isinstance(err, _Redacting):
        err = err._stream
    return cast(TextIO, _Redacting(out, scrubber)), cast(TextIO, _Redacting(err, scrubber))


class _Redacting:
    """A text stream that writes ``[redacted]`` for any secret (``renderer.execute.scrub``); the rest passes through."""

    def __init__(self, stream: TextIO, scrubber: Scrubber) -> None:
        self._stream = stream
        self._scrubber = scrubber

    def write(self, text: str) -> int:
        return self._stream.write(self._scrubber.text(text))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding... as the stream has them
        return getattr(self._stream, name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
