"""A room of learners at a real JupyterHub: each runs the same stage at the same moment, from their terminal.

    make room N=3                       # or: python benchmarks/room.py --learners 3 [--stage peer]

Starts JupyterHub with the shipped configuration (as `tests/services/test_jupyterhub.py` does), adds N
throw-away local users, logs each in and has the hub spawn their server. First one learner runs the stage
alone (`airlift-tutorial --home ~/alone run STAGE` typed into a terminal, cold: no services running), then all
N run it at once, each in a fresh workspace of their own, and the first learner runs it alone once more (the
lone wall time is the mean of those two). While they run, every process of the learners (Jupyter servers,
terminals, kernels, services) is sampled for PSS twice a second.

Prints JSON, and a table on stderr: each learner's wall time and slowdown against the lone run, failures, the
peak PSS of the room and per learner, and the busy CPU seconds one learner's run took (the figures `doctor
--learners N` uses to size a host).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tutorial_lib.clients.hub import HubLearner  # noqa: E402
from tutorial_lib.services import hub  # noqa: E402


class PssSampler(threading.Thread):
    """Samples the PSS of every process of the given users; keeps the peak total and each user's peak."""

    def __init__(self, uids: dict[int, str], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.uids, self.interval = uids, interval
        self.peak_total = 0.0
        self.peak_by_user: dict[str, float] = defaultdict(float)
        self.halt = threading.Event()

    def sample(self) -> None:
        """One pass over the process table."""
        by_user: dict[str, float] = defaultdict(float)
        for process in psutil.process_iter(["uids"]):
            try:
                uid = process.info["uids"].real
                if uid in self.uids:
                    by_user[self.uids[uid]] += process.memory_full_info().pss / 2**20
            except (psutil.Error, AttributeError):
                continue
        self.peak_total = max(self.peak_total, sum(by_user.values()))
        for user, pss in by_user.items():
            self.peak_by_user[user] = max(self.peak_by_user[user], pss)

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.interval)


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def run_stage(
    learner: HubLearner, home: str, stage: str, results: dict[str, Any], gate: threading.Barrier
) -> None:
    """Type the stage's run into the learner's terminal once everyone is ready; record how it went."""
    gate.wait()
    try:
        done = learner.terminal(f"airlift-tutorial --home ~/{home} run {stage}", timeout=1200)
        results[learner.name] = {
            "wall_s": round(done.seconds, 1),
            "exit": done.status,
            "tail": done.output[-600:],
        }
    except Exception as exc:  # a failure is a figure here
        results[learner.name] = {"wall_s": None, "exit": None, "tail": f"{type(exc).__name__}: {exc}"}


def room(count: int, stage: str) -> dict[str, Any]:
    """Set up the hub and the learners, run the lone run and the room run, and return the figures."""
    root = Path(tempfile.mkdtemp(prefix="aroom-"))
    root.chmod(0o755)
    learners = hub.add_learners(root / "h", count)
    running = None
    try:
        running = hub.start(root / "hub", learners)
        seats = []
        spawn = []
        for learner in learners:
            seat = HubLearner(running.url, learner.name, learner.password)
            seat.log_in()
            spawn.append(round(seat.start_server(), 1))
            seats.append(seat)
        uids = {learner.uid: learner.name for learner in learners}

        alone: dict[str, Any] = {}
        sampler = PssSampler({learners[0].uid: learners[0].name})
        sampler.start()
        busy = busy_cpu_seconds()
        run_stage(seats[0], "alone", stage, alone, threading.Barrier(1))
        alone_cpu = busy_cpu_seconds() - busy
        sampler.halt.set()
        sampler.join()
        alone_peak = sampler.peak_total

        together: dict[str, Any] = {}
        sampler = PssSampler(uids)
        sampler.start()
        gate = threading.Barrier(count)
        threads = [threading.Thread(target=run_stage, args=(s, "room", stage, together, gate)) for s in seats]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sampler.halt.set()
        sampler.join()

        again: dict[str, Any] = {}
        run_stage(seats[0], "alone-again", stage, again, threading.Barrier(1))
        lone_runs = [alone[learners[0].name]["wall_s"], again[learners[0].name]["wall_s"]]
        lone = round(sum(lone_runs) / 2, 1) if all(lone_runs) else None
        per_learner = []
        for learner in learners:
            result = together[learner.name]
            wall = result["wall_s"]
            per_learner.append(
                {
                    "learner": learner.name,
                    "wall_s": wall,
                    "slowdown": round(wall / lone, 2) if wall and lone else None,
                    "passed": result["exit"] == 0,
                    "peak_pss_mb": round(sampler.peak_by_user[learner.name]),
                    **({} if result["exit"] == 0 else {"tail": result["tail"]}),
                }
            )
        return {
            "stage": stage,
            "learners": count,
            "cores": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "server_spawn_s": spawn,
            "alone": {
                "wall_s": lone,
                "runs_s": lone_runs,
                "passed": alone[learners[0].name]["exit"] == 0 and again[learners[0].name]["exit"] == 0,
                "busy_cpu_s": round(alone_cpu, 1),
                "peak_pss_mb": round(alone_peak),
                **({} if alone[learners[0].name]["exit"] == 0 else {"tail": alone[learners[0].name]["tail"]}),
            },
            "room": per_learner,
            "failures": sum(not entry["passed"] for entry in per_learner),
            "peak_pss_total_mb": round(sampler.peak_total),
            "peak_pss_per_learner_mb": round(sampler.peak_total / count),
        }
    finally:
        if running is not None:
            running.stop()
        hub.remove_learners(learners)


def table(figures: dict[str, Any]) -> str:
    """The figures as a short table for a person."""
    lone = figures["alone"]
    lines = [
        f"{figures['learners']} learner(s), stage {figures['stage']}, {figures['cores']} cores, "
        f"{figures['memory_gb']} GB",
        f"alone: {lone['wall_s']} s (runs {lone['runs_s']}), peak {lone['peak_pss_mb']} MB PSS, "
        f"{lone['busy_cpu_s']} busy CPU s",
        f"{'learner':<28} {'wall s':>7} {'slowdown':>9} {'peak MB':>8} passed",
    ]
    for entry in figures["room"]:
        lines.append(
            f"{entry['learner']:<28} {entry['wall_s']!s:>7} {entry['slowdown']!s:>9} "
            f"{entry['peak_pss_mb']:>8} {entry['passed']}"
        )
    lines.append(
        f"room peak: {figures['peak_pss_total_mb']} MB PSS "
        f"({figures['peak_pss_per_learner_mb']} MB per learner); "
        f"failures: {figures['failures']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the room and print its figures; exit 1 if a learner's run failed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=3)
    parser.add_argument("--stage", default="peer")
    args = parser.parse_args(argv)
    reason = hub.missing()
    if reason:
        print(f"room: cannot start JupyterHub here: {reason}", file=sys.stderr)
        return 2
    figures = room(args.learners, args.stage)
    print(table(figures), file=sys.stderr)
    print(json.dumps(figures, indent=2))
    return 1 if figures["failures"] or not figures["alone"]["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
