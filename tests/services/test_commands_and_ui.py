"""Upstream's commands run on a workspace (`airlift-tutorial airflow ...`); links to exact UI pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tutorial_lib.notebook import ui
from tutorial_lib.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tutorial_lib.cli", "--home", str(home), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_airflow_passthrough_acts_on_the_workspace(tmp_path: Path) -> None:
    done = _cli(tmp_path / "ws", "airflow", "config", "get-value", "core", "dags_folder")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str((tmp_path / "ws" / "dags").resolve())
    # A command may have triggered a run: the scheduler is woken to see it now (airflow_scheduler_wake).
    assert (tmp_path / "ws" / "airflow" / "scheduler_wake").exists()


def test_the_airflow_passthrough_prints_no_deprecation_noise_unless_asked(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    done = _cli(tmp_path / "ws", "airflow", "config", "get-value", "core", "dags_folder")
    assert done.returncode == 0 and "Warning" not in done.stdout + done.stderr, done.stderr[-2000:]
    monkeypatch.setenv(
        "PYTHONWARNINGS", "default"
    )  # asked for: Airflow 2.11's own deprecation notes come back
    noisy = _cli(tmp_path / "ws", "airflow", "config", "get-value", "core", "dags_folder")
    assert "Warning" in noisy.stdout + noisy.stderr


def test_the_dagster_passthrough_uses_the_workspace_dagster_home(tmp_path: Path) -> None:
    script = "import os; print(os.environ['DAGSTER_HOME']); print(os.getcwd())"
    home = (tmp_path / "ws").resolve()
    ws = Workspace(home).ensure()
    from tutorial_lib import services
    from tutorial_lib.services import passthrough as commands

    done = subprocess.run(
        [str(services.BIN / "python"), "-c", script],
        env=commands.environment(ws, "dagster"),
        cwd=ws.dagster_home,
        capture_output=True,
        text=True,
    )
    assert done.stdout.split() == [str(ws.dagster_home), str(ws.dagster_home)]
    assert _cli(home, "dagster", "--version").stdout.startswith("dagster, version 1.13")


def test_ui_links_point_at_the_exact_pages(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").ensure()
    ws.update_state(
        services={
            "dagster": {"port": 3333, "path_prefix": ""},
            "airflow": {"port": 8888, "path_prefix": "/user/a/proxy/absolute/8888"},
        }
    )
    assert ui.asset_graph(ws) == "http://127.0.0.1:3333/asset-groups"
    assert ui.asset_partitions(ws, "raw_data/raw_customers") == (
        "http://127.0.0.1:3333/assets/raw_data/raw_customers?view=partitions"
    )
    assert (
        ui.schedule(ws, "s") == "http://127.0.0.1:3333/locations/__repository__@airlift_tutorial/schedules/s"
    )
    assert ui.task_log(ws, "d", "manual__1", "t") == (
        "/user/a/proxy/absolute/8888/dags/d/grid?dag_run_id=manual__1&task_id=t&tab=logs"
    )
