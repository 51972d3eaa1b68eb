"""The `airlift-tutorial` command: up, down, status, logs, reset, run, notebooks, doctor, hub-setup."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path

from tutorial_lib import log_excerpts, services, stages
from tutorial_lib.cli import runner
from tutorial_lib.clients.airflow import AirflowError
from tutorial_lib.clients.dagster import DagsterError
from tutorial_lib.errors import LearnerError
from tutorial_lib.progress import WaitTimeout
from tutorial_lib.services import passthrough as passthrough_tools
from tutorial_lib.workspace import Workspace

# Printed as one line (exit code 2): what a learner can fix, and a service that failed or did not answer.
EXPECTED_ERRORS = (LearnerError, AirflowError, DagsterError, WaitTimeout)


def cmd_up(args: argparse.Namespace, ws: Workspace) -> int:
    """Start or reuse the services."""
    started = time.monotonic()
    running = services.up(ws, airflow_port=args.airflow_port, dagster_port=args.dagster_port)
    links = running.links()
    print(f"Airflow: {links['airflow']}")
    print(f"Dagster: {links['dagster']}")
    password = ws.secrets_dir / "airflow_password"
    print(f"Both ask for the user {services.AIRFLOW_USER} and the password in {password}.")
    if links["dagster"].startswith("/"):
        print("(UI links go through your Jupyter server: open them from the JupyterLab page's address.)")
    print(f"Ready in {time.monotonic() - started:.0f} s. Stop with `airlift-tutorial down`.")
    return 0


def cmd_down(args: argparse.Namespace, ws: Workspace) -> int:
    """Stop the services."""
    stopped = services.down(ws)
    left = services.workspace_processes(ws)
    print(
        ", ".join(f"{name}: {count} processes stopped" for name, count in stopped.items())
        or "Nothing was running."
    )
    if left:
        print(f"Still running: {left}", file=sys.stderr)
        return 1
    return 0


def cmd_status(args: argparse.Namespace, ws: Workspace) -> int:
    """Show services, health, ports, URLs and stage."""
    report = services.status(ws)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"workspace: {report['home']}\nstage: {report['stage'] or '-'}")
    for name, entry in report["services"].items():
        if not entry.get("pid"):
            print(f"{name:8} not running")
            continue
        health = (
            "healthy" if entry.get("healthy") else ("running, not answering" if entry["running"] else "dead")
        )
        print(f"{name:8} {health:10} {entry['link']}  pid {entry['pid']}  {entry['processes']} processes")
    return 0


def cmd_logs(args: argparse.Namespace, ws: Workspace) -> int:
    """Print the end of a service's log."""
    print(log_excerpts.tail(ws.log_file(args.service), args.lines, cleaned=False))
    return 0


def cmd_reset(args: argparse.Namespace, ws: Workspace) -> int:
    """Rebuild the workspace from scratch, or bring it to the start of one stage; back up edited files."""
    if args.stage:
        return _reset_to_stage(args.stage, ws)
    if ws.home.exists() and not ws.is_marked:
        ws.claim()  # refuses, naming the fix, unless the folder is empty: nothing there is the workbench's
    services.down(ws)
    backups = [found for found in (ws.backup_dags(), ws.backup_project()) if found]
    kept = ws.remove_created()
    ws.ensure()
    saved = " and ".join(str(found) for found in backups)
    print(
        f"Workspace {ws.home} reset."
        + (f" Your DAG folder and project were backed up to {saved}." if saved else "")
    )
    if kept:
        print(f"Left as they were (not the workbench's): {', '.join(kept)}.")
    return 0


def _reset_to_stage(stage: str, ws: Workspace) -> int:
    """Start (or reuse) the services and put the workspace at the start of `stage`, as its notebook does."""
    from tutorial_lib.notebook import workbench

    wb = workbench.up(ws, show=sys.stderr.isatty())
    wb.start_stage(stage)
    print(
        f"Workspace {ws.home} is at the start of stage {stage}: earlier stages' code in place where you had "
        f"not written it (your edits kept), every task back in Airflow, no runs, no outputs, the {stage} "
        "definitions in Dagster. "
        f"Open notebooks/{stages.get(stage).notebook}."
    )
    return 0


def cmd_run(args: argparse.Namespace, ws: Workspace) -> int:
    """Execute stage notebooks headless and print a line per stage."""
    chosen = runner.select_stages([*args.stages, *(args.stage or [])], start=args.start, variants=args.all)
    parameters = {**runner.DEFAULT_PARAMETERS, **runner.parse_parameters(args.parameter or [])}
    ws.ensure()
    was_running = bool(services.workspace_processes(ws))
    try:
        run_dir, results = runner.run_stages(chosen, ws, parameters=parameters)
    finally:
        if not was_running and not args.keep_running:
            services.down(ws)
    failed = [result for result in results if result.status != "passed"]
    print()
    print(runner.format_table(results))
    print(f"\nNotebooks, summary.json and summary.md in {run_dir}")
    if args.keep_running or was_running:
        print("Services keep running: `airlift-tutorial status` lists them, `down` stops them.")
    for result in failed:
        cell = f" at cell [{result.failed_cell}]" if result.failed_cell else ""
        print(f"FAILED: stage {result.stage}{cell}: {result.error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_tool(args: argparse.Namespace, ws: Workspace) -> int:
    """Run airflow, dagster or dagster-airlift with the workspace's environment (homes, database, ports)."""
    from tutorial_lib.services import passthrough as commands

    return commands.run(ws, args.command, args.args).returncode


def cmd_doctor(args: argparse.Namespace, ws: Workspace) -> int:
    """Preflight for a workshop: packages, memory and disk for N learners, services that start."""
    from tutorial_lib.cli import doctor

    checks = doctor.run_checks(
        args.learners, args.home, services=not args.no_services, as_learner=args.as_learner, hub=args.hub
    )
    needed = doctor.host_needed(args.learners, args.hub)
    result = doctor.report(checks, needed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("\n".join(check.line() for check in checks))
        print("\n" + doctor.host_line(needed))
        print("\nReady." if result["passed"] else "\nNot ready: fix the FAIL lines above.")
    return 0 if result["passed"] else 1


def cmd_notebooks(args: argparse.Namespace, ws: Workspace) -> int:
    """A copy of the notebooks (and the docs they link to) that is the learner's own; keeps existing files."""
    from tutorial_lib.cli import notebooks_copy

    try:
        copied = notebooks_copy.copy(args.target)
    except OSError as exc:
        print(
            f"airlift-tutorial notebooks: cannot write {exc.filename}: {exc.strerror}. Name a folder you can "
            "write to, e.g. `airlift-tutorial notebooks ~/airlift-tutorial`.",
            file=sys.stderr,
        )
        return 2
    print(copied.summary())
    return 0


def _dags_source(args: argparse.Namespace) -> tuple[Path | None, tuple[str, str, str] | None]:
    """The DAG folder, or the running Airflow's URL, user and password (from $AIRFLOW_PASSWORD or a prompt,
    never the command line). Exactly one must be named."""
    if (args.folder is None) == (args.airflow_url is None):
        raise LearnerError("Name a DAG folder, or --airflow-url (not both).")
    if args.folder is not None:
        return args.folder, None
    password = os.environ.get("AIRFLOW_PASSWORD") or getpass.getpass(f"Airflow password for {args.user}: ")
    return None, (args.airflow_url, args.user, password)


def cmd_assess(args: argparse.Namespace, ws: Workspace) -> int:
    """Each DAG and task of a folder (or a running Airflow, read-only): its recipe, proxied alone or not."""
    from tutorial_lib.cli import assess

    folder, airflow = _dags_source(args)
    result = assess.assess_folder(folder) if folder else assess.assess_airflow(*airflow)
    print(json.dumps(result, indent=2) if args.json else assess.table(result))
    return 0


def cmd_scaffold(args: argparse.Namespace, ws: Workspace) -> int:
    """A starter Dagster project for a folder of DAGs (or a running Airflow's), written only inside --into."""
    from tutorial_lib.cli import scaffold

    folder, airflow = _dags_source(args)
    if folder:
        done = scaffold.scaffold(folder, args.into)
    else:
        done = scaffold.scaffold_from_airflow(*airflow, args.into)
    print(done.summary())
    return 0


def cmd_peer_project(args: argparse.Namespace, ws: Workspace) -> int:
    """A scaffolded project peered live: its DAGs in a throw-away Airflow, its definitions in Dagster."""
    from tutorial_lib.cli import peer_project

    print(peer_project.peer(args.project, ws, args.run).summary())
    return 0


def cmd_hub_setup(args: argparse.Namespace, ws: Workspace) -> int:
    """As root, once: the kernel and the command for every learner of a hub; the checkout read-only."""
    from tutorial_lib.cli import hub_setup

    return hub_setup.run(args.prefix)


def cmd_lab(args: argparse.Namespace, ws: Workspace) -> int:
    """JupyterLab on the repository, its terminals able to run `airlift-tutorial` (root too)."""
    from tutorial_lib.cli import lab

    return lab.run()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command."""
    parser = argparse.ArgumentParser(prog="airlift-tutorial", description=__doc__)
    parser.add_argument(
        "--home", type=Path, help="workspace folder (default: $AIRLIFT_TUTORIAL_HOME or .workbench)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (or reuse) Airflow and Dagster")
    up.add_argument("--airflow-port", type=int)
    up.add_argument("--dagster-port", type=int)
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop every service of the workspace").set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="services, health, ports, URLs, stage")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="the end of a service's log")
    logs.add_argument("service", choices=["airflow", "dagster", "airflow-setup"])
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.set_defaults(func=cmd_logs)
    reset = sub.add_parser(
        "reset", help="stop services and rebuild the workspace, or go to a stage's start (backs up edits)"
    )
    reset.add_argument("--stage", choices=stages.names(), help="go to this stage's start")
    reset.set_defaults(func=cmd_reset)
    doctor = sub.add_parser("doctor", help="instructor preflight: can this host run N learners?")
    doctor.add_argument("--learners", type=int, default=1, help="how many learners share this host")
    doctor.add_argument("--no-services", action="store_true", help="skip starting Airflow and Dagster")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=cmd_doctor)
    doctor.add_argument(
        "--as-learner",
        metavar="USER",
        help="as root: also check as this local user (default: nobody), as a learner sees the host",
    )
    doctor.add_argument(
        "--hub", action="store_true", help="the learners come through a JupyterHub: check what it needs too"
    )
    notebooks = sub.add_parser(
        "notebooks", help="copy the notebooks into a folder of your own (keeps your files)"
    )
    notebooks.add_argument("target", nargs="?", type=Path, default=Path("~/airlift-tutorial"))
    notebooks.set_defaults(func=cmd_notebooks)
    assess_ = sub.add_parser(
        "assess", help="your DAGs: each task's migration recipe, proxied alone or not, partitions, datasets"
    )
    assess_.add_argument("folder", nargs="?", type=Path, help="a folder of DAG files (never changed)")
    assess_.add_argument("--airflow-url", help="instead, a running Airflow 2 (read over REST, GET only)")
    assess_.add_argument(
        "--user", default="admin", help="its user (the password: $AIRFLOW_PASSWORD, else a prompt)"
    )
    assess_.add_argument("--json", action="store_true")
    assess_.set_defaults(func=cmd_assess)
    scaffold_ = sub.add_parser("scaffold", help="a starter Dagster project that peers a folder of DAGs")
    scaffold_.add_argument("folder", nargs="?", type=Path, help="a folder of DAG files (never changed)")
    scaffold_.add_argument("--airflow-url", help="instead, a running Airflow 2 (read over REST, GET only)")
    scaffold_.add_argument(
        "--user", default="admin", help="its user (the password: $AIRFLOW_PASSWORD, else a prompt)"
    )
    scaffold_.add_argument("--into", type=Path, required=True, help="the new project's folder")
    scaffold_.set_defaults(func=cmd_scaffold)
    peer_ = sub.add_parser(
        "peer-project",
        help="a scaffolded project, live: its DAGs in a throw-away Airflow, Dagster peering it",
    )
    peer_.add_argument("project", type=Path, help="the folder `scaffold --into` wrote")
    peer_.add_argument("--run", metavar="DAG_ID", help="trigger this DAG and wait until Dagster mirrors it")
    peer_.set_defaults(func=cmd_peer_project)
    hub_setup = sub.add_parser(
        "hub-setup", help="as root, once per host: the kernel and the command for every JupyterHub learner"
    )
    hub_setup.add_argument("--prefix", type=Path, default=Path("/usr/local"), help="default: /usr/local")
    hub_setup.set_defaults(func=cmd_hub_setup)
    for tool in passthrough_tools.TOOLS:
        passthrough = sub.add_parser(
            tool,
            help=f"run the `{tool}` command on this workspace, e.g. `airlift-tutorial {tool} --help`",
            add_help=False,
        )
        passthrough.set_defaults(func=cmd_tool)  # its arguments are split off before parsing (see main)
    sub.add_parser(
        "lab", help="JupyterLab on the repository, whose terminals run airlift-tutorial, airflow and dagster"
    ).set_defaults(func=cmd_lab)
    run = sub.add_parser("run", help="execute stage notebooks headless (papermill)")
    run.add_argument(
        "stages",
        nargs="*",
        help="stages to run (default: the core stages): "
        + "; ".join(f"{stage.name} ({stage.summary})" for stage in stages.STAGES),
    )
    run.add_argument(
        "--all",
        action="store_true",
        help="run the variants too: " + ", ".join(s.name for s in stages.STAGES if s.variant),
    )
    run.add_argument("--stage", action="append", help="a stage to run (repeatable); same as listing it")
    run.add_argument("--from", dest="start", metavar="STAGE", help="run this stage and every later one")
    run.add_argument(
        "-p", "--parameter", action="append", metavar="NAME=VALUE", help="set a notebook parameter"
    )
    run.add_argument("--keep-running", action="store_true", help="leave the services up afterwards")
    run.set_defaults(func=cmd_run)
    return parser


def _split_passthrough(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `[--home DIR] <tool> ARGS...` (airflow, dagster, dagster-airlift): ARGS (options too) reach the
    tool untouched."""
    index = 0
    while index < len(argv) and argv[index].startswith("--home"):
        index += 1 if "=" in argv[index] else 2
    if index < len(argv) and argv[index] in passthrough_tools.TOOLS:
        return argv[: index + 1], argv[index + 1 :]
    return argv, []


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    ours, passed_on = _split_passthrough(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(ours)
    if args.command in passthrough_tools.TOOLS:
        args.args = passed_on
    ws = Workspace.of(args.home)
    try:
        ws.check_not_a_file()
        return args.func(args, ws)
    except EXPECTED_ERRORS as exc:
        print(f"airlift-tutorial {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted. Services keep running; `airlift-tutorial down` stops them.", file=sys.stderr)
        return 130
