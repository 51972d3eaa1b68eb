"""Failure modes on real services: a run that fails half-way, interrupted and killed kernels, a dead
service, steps taken out of order, a failing DAG run. Each ends with a clear message and no orphan."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

import tutorial_lib
from tutorial_lib import cli, services
from tutorial_lib.cli.runner import KERNEL_NAME
from tutorial_lib.clients.airflow import DagRunFailed
from tutorial_lib.clients.dagster import DagsterError
from tutorial_lib.workspace import Workspace, WorkspaceError

pytestmark = pytest.mark.stage


def _leaders(home: Path) -> dict[str, int]:
    return {name: rec["pid"] for name, rec in Workspace(home).read_state()["services"].items()}


def test_a_run_failing_half_way_names_the_cell_keeps_the_notebook_and_leaves_no_process(
    tmp_path: Path, capsys
) -> None:
    code = cli.main(["--home", str(tmp_path), "run", "peer", "-p", "RUN_TIMEOUT=0.01"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "FAILED: stage peer at cell [" in err and "WaitTimeout" in err, err
    summary = json.loads(next((tmp_path / "runs").glob("*/summary.json")).read_text())
    assert summary[0]["status"] == "failed" and "wb.run_dag" in summary[0]["failed_source"]
    assert Path(summary[0]["notebook"]).is_file()
    assert "failed at cell" in next((tmp_path / "runs").glob("*/summary.md")).read_text()
    assert any(line.split()[:2] == ["peer", "failed"] for line in out.splitlines()), out
    assert services.workspace_processes(tmp_path) == []


def test_interrupted_and_killed_kernels_leave_the_services_to_the_next_kernel(
    running: services.Services,
) -> None:
    from jupyter_client.manager import start_new_kernel

    home = running.workspace.home
    before = _leaders(home)
    setup = f"import tutorial_lib as tutorial\nwb = tutorial.up({str(home)!r}, show=False)"
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME)
    try:
        assert client.execute_interactive(setup, timeout=120)["content"]["status"] == "ok"
        waiting = "tutorial.wait_until(lambda: None, what='a run that never ends', timeout=600)"
        client.execute(waiting)
        time.sleep(3)
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=60)["content"]
        assert (reply["status"], reply.get("ename")) == ("error", "KeyboardInterrupt")
        assert _leaders(home) == before
        manager.shutdown_kernel(now=True)  # killed, not asked to exit
    finally:
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)
    report = services.status(home)["services"]
    assert all(entry["running"] and entry["healthy"] for entry in report.values()), report
    manager, client = start_new_kernel(kernel_name=KERNEL_NAME)
    try:
        assert client.execute_interactive(setup, timeout=120)["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert _leaders(home) == before


def test_a_helper_call_after_dagster_died_says_to_run_up_instead_of_hanging(
    running: services.Services,
) -> None:
    home = running.workspace.home
    dead = Workspace(home).read_state()["services"]["dagster"]
    os.killpg(dead["pgid"], signal.SIGKILL)
    psutil.wait_procs([psutil.Process(dead["pid"])], timeout=10)
    started = time.monotonic()
    # Its process group is gone: the wait says so before its first poll, with the fix.
    with pytest.raises(services.ServiceStopped, match="Dagster stopped.*airlift-tutorial up"):
        services.dagster_client(Workspace(home), dead).wait_for_materializations(
            ["customers_csv"], after=0, timeout=300
        )
    assert time.monotonic() - started < 5
    services.up(home, show=False)
    assert services.status(home)["services"]["dagster"]["healthy"]


def test_a_code_location_that_failed_to_load_is_loaded_again_once_its_cause_is_fixed(
    running: services.Services, capsys: pytest.CaptureFixture[str]
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("observe")
    wb.workspace.update_state(definitions="no_such_definitions")  # the next load fails, as a broken file does
    with pytest.raises(DagsterError, match="(?s)failed to load.*no_such_definitions"):
        running.dagster.reload_location(show=False)
    # Still broken: said in a note, not hidden, and the first stage's definitions are served meanwhile.
    tutorial_lib.up(running.workspace.home, show=False)
    assert "Note: your no_such_definitions definitions do not load" in capsys.readouterr().err
    assert wb.workspace.read_state().get("definitions") is None
    wb.workspace.update_state(definitions="no_such_definitions")
    with pytest.raises(DagsterError, match="(?s)failed to load.*no_such_definitions"):
        running.dagster.reload_location(show=False)
    wb.workspace.update_state(definitions="observe")  # fixed: the next call sees it, with no restart
    again = tutorial_lib.up(running.workspace.home, show=False)
    assert len(again.dagster.asset_keys()) == 10


def test_a_broken_definitions_file_of_the_workspace_is_named_by_line_and_its_fix_counts_at_once(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("observe")
    learner_file = wb.workspace.definitions_dir / "observe.py"
    original = learner_file.read_text()
    reference = (Path(__file__).resolve().parents[2] / "dagster_defs" / "observe.py").read_text()
    learner_file.write_text(original + "\nthis is not python\n")
    try:
        with pytest.raises(DagsterError) as broken:
            wb.use_definitions("observe")
    finally:
        learner_file.write_text(original)
    assert "NameError" in str(broken.value), broken.value
    assert "project/dagster_defs/observe.py, line " in str(broken.value), broken.value
    tutorial_lib.up(running.workspace.home, show=False).use_definitions("observe")
    assert len(wb.dagster.asset_keys()) == 10
    assert (Path(__file__).resolve().parents[2] / "dagster_defs" / "observe.py").read_text() == reference


def test_a_broken_dag_file_is_named_by_line_at_once_and_its_fix_counts_at_the_next_wait(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("observe")
    dag_file = wb.workspace.dags_dir / "rebuild_customers_list.py"
    original = dag_file.read_text()
    dag_file.write_text(original + "\nthis is not python\n")
    started = time.monotonic()
    try:
        with pytest.raises(WorkspaceError) as broken:
            wb.wait_for_proxied_state(show=False)
    finally:
        dag_file.write_text(original)
    assert time.monotonic() - started < 60  # not the 90 s a wait for a parse would run out
    message = str(broken.value)
    assert "rebuild_customers_list.py" in message and "NameError" in message and "line " in message, message
    assert wb.wait_for_proxied_state(show=False) == dict.fromkeys(
        ("load_raw_customers", "build_dbt_models", "export_customers"), False
    )


def test_steps_taken_out_of_order_are_refused_with_the_stage_to_run(running: services.Services) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("observe")
    proxied_file = wb.workspace.proxied_state_dir / "rebuild_customers_list.yaml"
    committed = proxied_file.read_text()
    with pytest.raises(WorkspaceError, match="migrate stage's definitions.*reset --stage migrate"):
        wb.set_proxied({"build_dbt_models": True})
    assert proxied_file.read_text() == committed
    with pytest.raises(WorkspaceError, match="no DAG 'not_a_dag'.*first cell"):
        wb.run_dag("not_a_dag")


def test_a_failing_dag_run_names_the_task_and_the_bad_line_and_the_csv_is_restored(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("observe")
    original = wb.workspace.raw_customers_csv.read_bytes()
    with wb.broken_raw_customers(), pytest.raises(DagRunFailed) as failure:
        wb.run_dag(timeout=300)
    message = str(failure.value)
    assert "load_raw_customers" in message and "line 101" in message, message
    assert wb.workspace.raw_customers_csv.read_bytes() == original
    assert wb.run_dag(timeout=300).state == "success"


def test_a_stage_start_during_a_run_stops_the_run_first_and_airflow_keeps_scheduling(
    running: services.Services,
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("peer")
    finished = wb.run_dag(timeout=120).run_id
    wb.cli("airflow", "dags", "trigger", tutorial_lib.DAG_ID)  # as the peer exercise asks, from a terminal
    [pending] = {run["dag_run_id"] for run in wb.airflow.dag_runs(tutorial_lib.DAG_ID)} - {finished}
    # Not started yet, and with no queued time (the command line sets none): still the newest run.
    assert wb.latest_run().run_id == pending
    deadline = time.monotonic() + 60
    while wb.airflow.dag_run(tutorial_lib.DAG_ID, pending).state != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    wb.start_stage("peer")  # a run deleted while the scheduler schedules it once killed Airflow's scheduler
    assert wb.airflow.dag_runs(tutorial_lib.DAG_ID) == []
    assert wb.run_dag(timeout=120).state == "success"  # the scheduler is alive
    wb.start_stage("peer")


def _process_of(ws: Workspace, service: str, word: str) -> psutil.Process:
    """The service's process named `word`, or else the one whose command line has it and that the service's
    shell started (the code server forks its fork server, webserver and daemon: the last two are named)."""
    leader = services.service_record(ws, service)["pid"]
    found = [psutil.Process(pid) for pid in services.service_processes(ws, service)]
    named = [proc for proc in found if proc.name() == word]
    started = [proc for proc in found if word in " ".join(proc.cmdline()) and proc.ppid() == leader]
    if named or started:
        return (named or started)[0]
    raise AssertionError(f"no {word} process in {service}")


# For two of the three, the recovery is proven by a whole DAG run; for the other, by both services answering
# (the same `up`, for a minute less of the suite). Dagster's webserver and daemon are threads of its code
# server: killing that process kills all three (test_tuning proves a thread that ends stops the service).
@pytest.mark.parametrize(
    ("service", "process", "waits_for", "then_run"),
    [
        ("airflow", "scheduler", "the run", True),
        ("airflow", "airflow-webserv", "the run", False),
        ("dagster", "dagster api grpc", "materializations", True),
    ],
)
def test_a_killed_service_is_named_within_seconds_and_the_next_up_brings_it_back(
    running: services.Services, service: str, process: str, waits_for: str, then_run: bool
) -> None:
    wb = tutorial_lib.up(running.workspace.home, show=False)
    wb.start_stage("peer")
    run_id = wb.airflow.trigger(tutorial_lib.DAG_ID)
    os.kill(_process_of(wb.workspace, service, process).pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(services.ServiceStopped) as stopped:
        if waits_for == "the run":
            wb.airflow.wait_for_run(tutorial_lib.DAG_ID, run_id, timeout=120, show=False)
        else:
            wb.dagster.wait_for_materializations(
                ["airflow/dag/rebuild_customers_list"], after=time.time(), timeout=120, show=False
            )
    said_after = time.monotonic() - started
    message = str(stopped.value)
    print(f"kill -9 of {process}: said after {said_after:.1f} s: {message}")
    assert said_after < 15 and message.startswith(f"{service.capitalize()} stopped"), message
    assert "first code cell of this notebook again" in message and "Your files" in message
    wb = tutorial_lib.up(running.workspace.home, show=False)  # the notebook's first cell, run again
    wb.start_stage("peer")
    if then_run:
        assert wb.run_dag(timeout=120).state == "success"
    else:
        assert wb.airflow.list_dags() and wb.dagster.location_ready()


def test_up_serves_the_first_stage_when_the_learners_last_definitions_do_not_load(
    running: services.Services, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = running.workspace
    observe = ws.definitions_dir / "observe.py"
    kept = observe.read_text()
    try:
        observe.write_text(kept + "\nthis line does not parse\n")
        ws.update_state(definitions="observe")
        services.stop_service(ws, "dagster")  # a kernel restart the next morning: Dagster loads it anew
        wb = tutorial_lib.up(ws.home, show=False)
        note = capsys.readouterr().err
        assert "Note: your observe definitions do not load: SyntaxError" in note, note
        assert "project/dagster_defs/observe.py, line" in note
        assert ws.read_state().get("definitions") is None and wb.check("observe").load_error
    finally:
        observe.write_text(kept)
    tutorial_lib.up(ws.home, show=False).start_stage("peer")
