"""The `airlift-tutorial` command: up, down, status, logs, reset, run."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from . import processes, runner, services
from .airflow import AirflowError
from .dagster import DagsterError
from .progress import WaitTimeout
from .workspace import Workspace, WorkspaceError

EXPECTED_ERRORS = (
    services.ServiceError,
    WorkspaceError,
    AirflowError,
    DagsterError,
    WaitTimeout,
    processes.PortInUseError,
)


def cmd_up(args: argparse.Namespace, ws: Workspace) -> int:
    """Start or reuse the services."""
    started = time.monotonic()
    running = services.up(ws.home, airflow_port=args.airflow_port, dagster_port=args.dagster_port)
    print(
        f"Airflow: {running.airflow_url}  (user {services.AIRFLOW_USER}, password in "
        f"{ws.secrets_dir / 'airflow_password'})"
    )
    print(f"Dagster: {running.dagster_url}")
    print(f"Ready in {time.monotonic() - started:.0f} s. Stop with `airlift-tutorial down`.")
    return 0


def cmd_down(args: argparse.Namespace, ws: Workspace) -> int:
    """Stop the services."""
    stopped = services.down(ws.home)
    left = services.workspace_processes(ws.home)
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
    report = services.status(ws.home)
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
        print(f"{name:8} {health:10} {entry['url']}  pid {entry['pid']}  {entry['processes']} processes")
    return 0


def cmd_logs(args: argparse.Namespace, ws: Workspace) -> int:
    """Print the end of a service's log."""
    print(processes.tail(ws.log_file(args.service), args.lines))
    return 0


def cmd_reset(args: argparse.Namespace, ws: Workspace) -> int:
    """Stop the services and rebuild the workspace from scratch, keeping backups and past runs."""
    services.down(ws.home)
    backup = None
    if ws.dags_dir.exists():
        backup = ws.home / "backups" / time.strftime("%Y%m%d-%H%M%S") / "dags"
        shutil.copytree(ws.dags_dir, backup, ignore=shutil.ignore_patterns("__pycache__"))
    for child in ws.home.iterdir() if ws.home.exists() else []:
        if child.name in ("backups", "runs"):
            continue
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    Workspace(ws.home).ensure()
    print(f"Workspace {ws.home} reset." + (f" Your DAG folder was backed up to {backup}." if backup else ""))
    return 0


def cmd_run(args: argparse.Namespace, ws: Workspace) -> int:
    """Execute stage notebooks headless and print a line per stage."""
    stages = runner.select_stages(args.stages)
    ws.ensure()
    was_running = bool(services.workspace_processes(ws.home))
    try:
        run_dir, results = runner.run_stages(stages, ws)
    finally:
        if not was_running and not args.keep_running:
            services.down(ws.home)
    failed = [result for result in results if result.status != "passed"]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed; notebooks in {run_dir}")
    return 1 if failed else 0


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
    sub.add_parser(
        "reset", help="stop services and rebuild the workspace (backs up your DAG files)"
    ).set_defaults(func=cmd_reset)
    run = sub.add_parser("run", help="execute stage notebooks headless (papermill)")
    run.add_argument(
        "stages", nargs="*", help=f"stages to run (default: all): {', '.join(runner.stage_notebooks())}"
    )
    run.add_argument("--keep-running", action="store_true", help="leave the services up afterwards")
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    ws = Workspace(args.home) if args.home else Workspace()
    try:
        return args.func(args, ws)
    except EXPECTED_ERRORS as exc:
        print(f"airlift-tutorial {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted. Services keep running; `airlift-tutorial down` stops them.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
