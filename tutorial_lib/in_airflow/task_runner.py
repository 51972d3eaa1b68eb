"""An Airflow task runner that runs the task in the supervising process instead of a fork of it.

Stock, `airflow tasks run --local` starts a LocalTaskJob, which forks once more to run the task (`--raw`) and
heartbeats while it waits. Python writes reference counts into the pages a fork shares, so that second process
kept 35-45 MB of its own during every task. Here the task runs in the LocalTaskJob's own process, which is
already a fork of the scheduler or of a backfill command (`executor.py`), and LocalTaskJob then does what it
always does after a task: the state, the callbacks, the follow-on scheduling of downstream tasks.

What the forked heartbeat did meanwhile is not needed with one task at a time: the scheduler (or the backfill
command) waits for the task before it does anything else, zombie checks included. A task marked failed in the
UI while it runs is therefore not stopped before it ends, as with the stock SequentialExecutor's scheduler.
"""

from __future__ import annotations

import logging
import os

from airflow.models.taskinstance import TaskReturnCode
from airflow.task.task_runner.standard_task_runner import StandardTaskRunner
from airflow.utils.dag_parsing_context import _airflow_parsing_context_manager
from setproctitle import setproctitle

from tutorial_lib import forks

log = logging.getLogger(__name__)


class InProcessTaskRunner(StandardTaskRunner):
    """Runs `airflow tasks run --raw ...` (the command LocalTaskJob built) in this process, to its end."""

    def start(self) -> None:
        """Run the task now; `return_code` then has its exit code."""
        self.process = None
        self._rc = self._run_here()

    def _run_here(self) -> int:
        from airflow.cli.cli_parser import get_parser

        args = get_parser().parse_args(self._command[1:])
        ti = self._task_instance
        log.info("Running the task in this process (the workbench's task runner): %s", self._command)
        setproctitle(f"airflow task runner: {args.dag_id} {args.task_id} {args.execution_date_or_run_id}")
        try:
            with _airflow_parsing_context_manager(dag_id=ti.dag_id, task_id=ti.task_id):
                returned = args.func(args, dag=self.dag)
        except SystemExit as leaving:  # as the stock runner's fork reports it
            return forks.exit_code(leaving)
        except Exception:
            log.exception("Failed to execute task %s", ti.task_id)
            return 1
        return returned.value if isinstance(returned, TaskReturnCode) else 0

    def return_code(self, timeout: float = 0) -> int | None:
        """The task's exit code (it has ended by the time anyone asks)."""
        return self._rc

    def terminate(self) -> None:
        """Nothing to stop: the task ran in this process, and has ended."""

    def get_process_pid(self) -> int:
        """This process: the one the task ran in."""
        return os.getpid()
