"""The run-all report without services: stage selection, parameters, the summary table and files."""

from __future__ import annotations

import json
import os
import pwd
import sys
from pathlib import Path

import pytest

from tutorial_lib import cli
from tutorial_lib.cli import doctor, runner
from tutorial_lib.workspace import WorkspaceError


def test_from_runs_the_named_stage_and_every_later_one() -> None:
    assert runner.select_stages(None, start="migrate") == ["migrate", "decommission"]
    assert runner.select_stages(["decommission", "peer"]) == ["peer", "decommission"]
    assert runner.select_stages(None) == ["peer", "observe", "partitions", "migrate", "decommission"]


def test_the_variants_run_with_all_or_when_named() -> None:
    everything = list(runner.stage_notebooks())
    assert runner.select_stages(None, variants=True) == everything
    assert runner.select_stages(["component", "peer"]) == ["peer", "component"]
    assert runner.select_stages(None, start="decommission", variants=True) == [
        "decommission",
        "dag_level",
        "component",
    ]
    assert runner.select_stages(None, start="dag_level") == ["dag_level"]


def test_a_list_and_from_together_or_an_unknown_stage_are_refused() -> None:
    with pytest.raises(WorkspaceError, match="either a list of stages or --from"):
        runner.select_stages(["peer"], start="observe")
    with pytest.raises(WorkspaceError, match="Unknown stage.*nope.*peer"):
        runner.select_stages(None, start="nope")


def test_parameters_are_json_values_or_strings_and_bad_pairs_name_the_form() -> None:
    assert runner.parse_parameters(["RUN_TIMEOUT=600", "DAY=2026-04-05", "X=[1]"]) == {
        "RUN_TIMEOUT": 600,
        "DAY": "2026-04-05",
        "X": [1],
    }
    with pytest.raises(WorkspaceError, match="NAME=VALUE"):
        runner.parse_parameters(["RUN_TIMEOUT"])


def test_the_parser_knows_the_run_and_reset_options() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["run", "--from", "migrate", "-p", "RUN_TIMEOUT=5", "--keep-running"])
    assert (args.start, args.parameter, args.keep_running) == ("migrate", ["RUN_TIMEOUT=5"], True)
    assert parser.parse_args(["run", "--stage", "peer", "--stage", "migrate"]).stage == ["peer", "migrate"]
    assert parser.parse_args(["reset", "--stage", "migrate"]).stage == "migrate"
    with pytest.raises(SystemExit):
        parser.parse_args(["reset", "--stage", "nope"])


def test_doctor_fails_memory_for_too_many_learners_and_names_how_many_fit(capsys) -> None:
    assert cli.main(["doctor", "--no-services", "--learners", "100000", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    by_name = {check["name"]: check for check in result["checks"]}
    assert not by_name["memory"]["passed"] and "at most" in by_name["memory"]["fix"]
    assert by_name["python"]["passed"] and by_name["packages"]["passed"], by_name
    assert "services" not in by_name


def test_doctor_passes_for_one_learner_without_services(capsys) -> None:
    checks = doctor.run_checks(1, None, services=False)
    learner = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert [check.name for check in checks] == [
        "python",
        "packages",
        "jupyter kernel",
        "speed tunings",
        "memory",
        "disk",
        "cpu",
        "file permissions",
        "ui links",
        *[f"as {learner}: {name}" for name in ("python", "kernel", "command in a terminal", "workspace")],
    ]
    assert doctor.report(checks)["passed"], [check.line() for check in checks if not check.passed]


def test_the_notebook_kernel_is_registered_when_jupyter_has_none(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    manager = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    assert runner.ensure_kernel(prefix=str(tmp_path), manager=manager) is True
    spec = manager.get_kernel_spec(runner.KERNEL_NAME)
    assert spec.argv[0] == sys.executable and spec.display_name == runner.KERNEL_NAME
    assert runner.ensure_kernel(prefix=str(tmp_path), manager=manager) is False
