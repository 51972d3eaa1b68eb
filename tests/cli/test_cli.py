"""The airlift-tutorial command without services: parsing, status of an idle workspace, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutorial_lib import cli
from tutorial_lib.cli import runner


def test_status_of_a_new_workspace_lists_no_running_service(tmp_path: Path, capsys) -> None:
    assert cli.main(["--home", str(tmp_path), "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["services"] == {"airflow": {"running": False}, "dagster": {"running": False}}


def test_down_with_nothing_running_says_so(tmp_path: Path, capsys) -> None:
    assert cli.main(["--home", str(tmp_path), "down"]) == 0
    assert "Nothing was running" in capsys.readouterr().out


def test_run_of_an_unknown_stage_names_the_known_ones(tmp_path: Path, capsys) -> None:
    assert cli.main(["--home", str(tmp_path), "run", "nope"]) == 2
    err = capsys.readouterr().err
    assert "Unknown stage(s): nope" in err and "peer" in err


def test_up_with_an_occupied_port_fails_before_starting_anything(tmp_path: Path, capsys) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert cli.main(["--home", str(tmp_path), "up", "--airflow-port", str(port)]) == 2
    assert f"Port {port} asked for Airflow is already in use" in capsys.readouterr().err
    assert cli.main(["--home", str(tmp_path), "status", "--json"]) == 0
    assert not json.loads(capsys.readouterr().out)["services"]["airflow"]["running"]


def test_reset_backs_up_edited_dag_files(tmp_path: Path, capsys) -> None:
    from tutorial_lib.workspace import Workspace

    ws = Workspace(tmp_path).ensure()
    state_file = ws.proxied_state_dir / "rebuild_customers_list.yaml"
    state_file.parent.mkdir()  # as `dagster-airlift proxy scaffold` makes it, then edited
    state_file.write_text("tasks: [{id: build_dbt_models, proxied: true}]\n")
    dag_file = ws.dags_dir / "rebuild_customers_list.py"
    dag_file.write_text(dag_file.read_text() + "\n# mine\n")
    assert cli.main(["--home", str(tmp_path), "reset"]) == 0
    assert "backed up to" in capsys.readouterr().out
    backups = list((tmp_path / "backups").glob("*/dags/proxied_state/rebuild_customers_list.yaml"))
    assert [b.read_text() for b in backups] == ["tasks: [{id: build_dbt_models, proxied: true}]\n"]
    assert [b.read_text().endswith("# mine\n") for b in (tmp_path / "backups").glob("*/dags/*.py")] == [True]
    assert not state_file.exists()  # a new workspace: the learner scaffolds it in stage 4
    assert "# TODO (migrate)" in dag_file.read_text()


def test_stage_notebooks_are_found_in_tutorial_order_core_stages_then_variants() -> None:
    stages = list(runner.stage_notebooks())
    assert stages == ["peer", "observe", "partitions", "migrate", "decommission", "dag_level", "component"]


def test_run_all_asks_for_the_variants_too() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["run", "--all"]).all is True
    assert parser.parse_args(["run"]).all is False


def test_the_parser_knows_every_command() -> None:
    parser = cli.build_parser()
    for command in (["up"], ["down"], ["status", "--json"], ["logs", "airflow"], ["reset"], ["run", "peer"]):
        assert parser.parse_args(command).command == command[0]
    with pytest.raises(SystemExit):
        parser.parse_args(["logs", "nosuchservice"])
