"""dbt's locks without multiprocessing's resource tracker, in every process of the workspace that runs dbt.

dbt makes its locks from a "spawn" multiprocessing context (`dbt/mp_context.py`). A lock of that context is
registered with multiprocessing's resource tracker, which Python starts for it as an interpreter of its own
(6-10 MB) in each process that runs dbt: Airflow's scheduler, a backfill's task, the `dbt` of a Dagster run.
The tracker only removes the semaphores of a process that crashed. dbt starts no process from that context;
its locks are thread locks, and a "fork" context makes the same ones without a tracker (its semaphores are
unlinked at once). Applied as `tutorial_lib/tuning.py` allows (`dbt_locks_without_tracker`); imports nothing
of the workbench but that, so that Airflow's executor and Dagster's start-up hooks can use it.
"""

from __future__ import annotations

import multiprocessing
from types import ModuleType


def use_fork_context(mp_context: ModuleType) -> bool:
    """Make dbt's `mp_context` module hand out a fork context; False (stock) if it is not as expected."""
    current = getattr(mp_context, "_MP_CONTEXT", None)
    if current is None or not callable(getattr(mp_context, "get_mp_context", None)):
        return False
    mp_context._MP_CONTEXT = multiprocessing.get_context("fork")
    return True


def apply() -> bool:
    """Apply it in this process, before dbt makes its first lock; whether it is applied."""
    from tutorial_lib import tuning

    if not tuning.use("dbt_locks_without_tracker"):
        return False
    try:
        from dbt import mp_context
    except ImportError:
        return False
    return use_fork_context(mp_context)
