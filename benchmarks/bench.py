"""Benchmark the workbench on this machine and print JSON figures (medians over repeats).

    make bench                      # or: python benchmarks/bench.py --repeats 3 --dag-runs 10

Measures, each in throw-away workspaces under a temporary folder:
- floor: the DAG's three steps run in-process (load CSV, dbt build, export), warm (second pass);
- cold_start: a fresh workspace's `up` (Airflow ready, Dagster ready, total);
- dag_run: one Airflow DAG run's wall time (trigger to end), next to the floor;
- observation_latency: from a DAG run's end (Airflow) to all of its assets' materializations being
  visible in Dagster's GraphQL API (polled every 0.1 s), median and p95 over `--dag-runs` runs;
- full_run: `airlift-tutorial run` of all five stages with cold services, and each stage's wall time;
- memory: peak summed RSS (and PSS, which counts shared pages once) of the workspace's service processes and,
  in the full run, the notebook kernels, with each kind of process's PSS at the peak and each stage's own peak
  (BENCH_DETAIL=1: every process's PSS and USS at the peak of each stage, on stderr);
- idle: CPU of an idle workspace (observe stage loaded) over a minute, in percent of one core;
- stage_start: `start_stage` of stages 2-5 with the services up (what each notebook's first cell waits for).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
# The targets of issue #14 (a crowded workshop host).
TARGETS = {
    "full_run_seconds": 180,
    "stage_start_median_seconds": 3.0,
    "dag_run_over_floor": 3.0,
    "observation_latency_median_seconds": 2.0,
    "peak_pss_mb": 1024,
    "idle_cpu_percent_of_one_core": 5.0,
}


def median(values: list[float]) -> float | None:
    """The median, rounded, or None for no values."""
    return round(statistics.median(values), 2) if values else None


def p95(values: list[float]) -> float | None:
    """The 95th percentile (nearest rank), rounded."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered) + 0.5)) - 1)], 2)


class MemorySampler:
    """Samples the summed RSS and PSS of a workspace's service processes, and of the process trees under
    `roots` (the `airlift-tutorial run` command: its notebook kernels), in a background thread."""

    def __init__(self, home: Path, interval: float = 1.0, roots: list[int] | None = None) -> None:
        self.home, self.interval, self.roots = home, interval, roots or []
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self.peak_breakdown: dict[str, int] = {}
        self.peak_detail: list[tuple[int, int, str]] = []
        self.stage = ""  # set by the caller as stages begin: each stage's own peak is kept too
        self.stage_peaks: dict[str, int] = {}
        self.stage_details: dict[str, list[tuple[int, int, str]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _pids(self) -> list[int]:
        from tutorial_lib import services

        pids = set(services.workspace_processes(self.home))
        for root in self.roots:
            try:
                pids.update(child.pid for child in psutil.Process(root).children(recursive=True))
            except psutil.Error:
                continue
        return sorted(pids)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = pss = 0
            breakdown: dict[str, int] = {}
            detail: list[tuple[int, int, str]] = []
            pids = self._pids()
            for pid in pids:
                try:
                    proc = psutil.Process(pid)
                    info = proc.memory_full_info()
                    label = NAMED.get(proc.name()) or label_of(proc.cmdline())
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
                breakdown[label] = breakdown.get(label, 0) + getattr(info, "pss", info.rss)
                detail.append(
                    (
                        getattr(info, "pss", info.rss),
                        getattr(info, "uss", info.rss),
                        f"[{proc.name()}] " + " ".join(proc.cmdline())[:100],
                    )
                )
            self.peak_rss = max(self.peak_rss, rss)
            if self.stage and pss > self.stage_peaks.get(self.stage, 0):
                self.stage_peaks[self.stage], self.stage_details[self.stage] = pss, detail
            if pss > self.peak_pss:
                self.peak_pss, self.peak_breakdown, self.peak_detail = pss, breakdown, detail
            self.peak_processes = max(self.peak_processes, len(pids))

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def figures(self) -> dict[str, Any]:
        """Peaks in MB, and the PSS of each kind of process at the PSS peak (each process, on stderr, with
        BENCH_DETAIL=1)."""
        if os.environ.get("BENCH_DETAIL"):
            for stage, detail in [("all", self.peak_detail), *self.stage_details.items()]:
                print(f"At the peak of {stage}:\n   PSS    USS (MB)  process", file=sys.stderr)
                for pss, uss, command in sorted(detail, reverse=True):
                    print(f"{round(pss / 2**20):6d} {round(uss / 2**20):6d}  {command}", file=sys.stderr)
        return {
            "peak_rss_mb": round(self.peak_rss / 2**20),
            "peak_pss_mb": round(self.peak_pss / 2**20),
            "peak_processes": self.peak_processes,
            "peak_pss_mb_by_stage": {stage: round(pss / 2**20) for stage, pss in self.stage_peaks.items()},
            "pss_at_peak_mb": {
                label: round(value / 2**20)
                for label, value in sorted(self.peak_breakdown.items(), key=lambda item: -item[1])
            },
        }


# Processes named by the workbench (their command line is the code server's: they are its forks).
NAMED = {"dagster-webserv": "dagster webserver", "dagster-daemon": "dagster daemon"}
LABELS = (
    ("ipykernel", "notebook kernel"),
    ("papermill", "papermill"),
    ("tutorial_lib.cli", "airlift-tutorial run"),
    ("dagster_webserver", "dagster webserver"),
    ("scheduler", "airflow scheduler"),
    ("in_airflow.webserver", "airflow webserver"),
    ("webserver", "airflow webserver"),
    ("airflow", "airflow (other)"),
    ("dagster._daemon", "dagster daemon"),
    ("api grpc", "dagster code server"),
    ("code-server", "dagster code server"),
    ("forkserver", "dagster fork server"),
    ("resource_tracker", "resource tracker"),
    ("execute_run", "dagster run"),
    ("dagster", "dagster (other)"),
    ("dbt", "dbt"),
    ("bash", "bash"),
)


def label_of(cmdline: list[str]) -> str:
    """A short name for a process of the workspace, from its command line."""
    text = " ".join(cmdline)
    return next((label for word, label in LABELS if word in text), text[:60] or "?")


@contextmanager
def fresh_home(root: Path, name: str):
    """A new workspace folder; its services are stopped and the folder removed afterwards."""
    from tutorial_lib import services

    home = root / name
    try:
        yield home
    finally:
        services.down(home)
        shutil.rmtree(home, ignore_errors=True)


def bench_floor(root: Path, repeats: int) -> dict[str, Any]:
    """The three DAG steps in one warm process, in a fresh workspace, `repeats` times."""
    # The steps run twice in one process and the second pass is timed: imports and dbt's parse are done,
    # as they are in the workbench's warm Airflow scheduler.
    code = r"""
import json, time
from customers_pipeline import logic, paths
from tutorial_lib.workspace import Workspace
Workspace(paths.home()).ensure()
for _ in range(2):
    times = {}
    started = time.perf_counter()
    logic.load_csv_to_duckdb(paths.raw_customers_csv(), paths.duckdb_path(), "raw_data", "raw_customers",
                             ["id", "first_name", "last_name"])
    times["load"] = time.perf_counter() - started
    started = time.perf_counter()
    logic.run_dbt_build(paths.DBT_PROJECT_DIR, paths.dbt_target_path(), paths.dbt_log_path())
    times["dbt_build"] = time.perf_counter() - started
    started = time.perf_counter()
    logic.export_table_to_csv(paths.duckdb_path(), "customers", paths.customers_csv())
    times["export"] = time.perf_counter() - started
print(json.dumps(times))
"""
    samples: dict[str, list[float]] = {"load": [], "dbt_build": [], "export": [], "total": []}
    for index in range(repeats):
        with fresh_home(root, f"floor{index}") as home:
            env = {**os.environ, "AIRLIFT_TUTORIAL_HOME": str(home)}
            command = [sys.executable, "-c", code]
            done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
            times = json.loads(done.stdout.strip().splitlines()[-1])
            for step, seconds in times.items():
                samples[step].append(seconds)
            samples["total"].append(sum(times.values()))
    return {f"{step}_seconds": median(values) for step, values in samples.items()}


def bench_cold_start(root: Path, repeats: int) -> dict[str, Any]:
    """`up` of a fresh workspace, then `down` and `up` again (a warm restart: no database set-up)."""
    from tutorial_lib import services
    from tutorial_lib.workspace import Workspace

    figures: dict[str, list[float]] = {"airflow_ready": [], "dagster_ready": [], "up": [], "restart": []}
    for index in range(repeats):
        with fresh_home(root, f"cold{index}") as home:
            started = time.monotonic()
            services.up(home, show=False)
            figures["up"].append(time.monotonic() - started)
            state = Workspace(home).read_state()["services"]
            figures["airflow_ready"].append(state["airflow"]["ready_after"])
            figures["dagster_ready"].append(state["dagster"]["ready_after"])
            services.down(home)
            started = time.monotonic()
            services.up(home, show=False)
            figures["restart"].append(time.monotonic() - started)
    return {f"{name}_seconds": median(values) for name, values in figures.items()}


def bench_dag_runs(root: Path, runs: int) -> dict[str, Any]:
    """Wall time of DAG runs and their observation latency, with the observe stage's definitions."""
    from tutorial_lib.clients.airflow import parse_time
    from tutorial_lib.notebook import workbench

    walls: list[float] = []
    durations: list[float] = []
    latencies: list[float] = []
    event_latencies: list[float] = []
    with fresh_home(root, "dagruns") as home:
        wb = workbench.up(home, show=False)
        wb.start_stage("observe")
        wb.use_solution("observe")  # a new workspace holds the learner's starter, which maps no task yet
        keys = [node["assetKey"]["path"] for node in wb.dagster.asset_nodes()]
        keys = [key for key in keys if key[:2] != ["airflow", "dag"]]
        with MemorySampler(home) as memory:
            for _ in range(runs):
                started = time.time()
                run_id = wb.airflow.trigger(workbench.DAG_ID)
                run = wb.airflow.wait_for_run(workbench.DAG_ID, run_id, show=False)
                ended = parse_time(run.end_date).timestamp()
                walls.append(ended - started)
                durations.append(run.duration or 0)
                seen = set()
                newest: dict[str, float] = {}
                deadline = time.time() + 120
                while len(seen) < len(keys) and time.time() < deadline:
                    for key in keys:
                        label = "/".join(key)
                        if label not in seen:
                            found = wb.dagster.materializations(key, after=ended - 60, limit=5)
                            mine = [m for m in found if m.timestamp >= started]
                            if mine:
                                seen.add(label)
                                newest[label] = max(m.timestamp for m in mine)
                    if len(seen) < len(keys):
                        time.sleep(0.1)
                if len(seen) == len(keys):
                    latencies.append(time.time() - ended)
                    event_latencies.append(max(newest.values()) - ended)
    return {
        "runs": runs,
        "assets_per_run": len(keys),
        "dag_run_wall_seconds": median(walls),
        "dag_run_wall_p95_seconds": p95(walls),
        "dag_run_duration_seconds": median(durations),
        "observation_latency_median_seconds": median(latencies),
        "observation_latency_p95_seconds": p95(latencies),
        "observation_latency_max_seconds": round(max(latencies), 2) if latencies else None,
        "observed_runs": len(latencies),
        "event_recorded_latency_median_seconds": median(event_latencies),
        "memory_during_dag_runs": memory.figures(),
    }


def bench_full_run(root: Path, repeats: int) -> dict[str, Any]:
    """`airlift-tutorial run` of all stages from a fresh workspace (services cold), `repeats` times."""
    walls: list[float] = []
    stages: dict[str, list[float]] = {}
    statuses: list[str] = []
    peaks: list[dict[str, float]] = []
    for index in range(repeats):
        with fresh_home(root, f"full{index}") as home:
            command = [sys.executable, "-m", "tutorial_lib.cli", "--home", str(home), "run"]
            started = time.monotonic()
            with tempfile.TemporaryFile("w+") as errors:
                run = subprocess.Popen(
                    command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=errors, text=True
                )
                lines = []
                with MemorySampler(home, roots=[run.pid]) as memory:
                    for line in run.stdout:  # "[peer] stage 1/5 running ...": later samples are that stage's
                        lines.append(line)
                        if line.startswith("[") and " running" in line:
                            memory.stage = line[1 : line.index("]")]
                    run.wait()
                errors.seek(0)
                stdout, stderr = "".join(lines), errors.read()
            done = subprocess.CompletedProcess(command, run.returncode, stdout, stderr)
            walls.append(time.monotonic() - started)
            peaks.append(memory.figures())
            statuses.append("passed" if done.returncode == 0 else f"failed ({done.returncode})")
            summaries = sorted((home / "runs").glob("*/summary.json"))
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
            for result in json.loads(summaries[-1].read_text()) if summaries else []:
                stages.setdefault(result["stage"], []).append(result["seconds"])
    return {
        "repeats": repeats,
        "statuses": statuses,
        "full_run_seconds": median(walls),
        "full_run_all_seconds": [round(wall, 1) for wall in walls],
        "stage_seconds": {stage: median(values) for stage, values in stages.items()},
        "memory": {
            "peak_rss_mb": max(peak["peak_rss_mb"] for peak in peaks),
            "peak_pss_mb": max(peak["peak_pss_mb"] for peak in peaks),
            "peak_processes": max(peak["peak_processes"] for peak in peaks),
            "peak_pss_mb_by_stage": {
                stage: max(peak["peak_pss_mb_by_stage"].get(stage, 0) for peak in peaks) for stage in stages
            },
            "pss_at_peak_mb": max(peaks, key=lambda peak: peak["peak_pss_mb"])["pss_at_peak_mb"],
        },
    }


def bench_idle(root: Path, seconds: float = 60.0) -> dict[str, Any]:
    """CPU of an idle workspace (observe stage loaded, no runs) over `seconds`, in percent of one core."""
    from tutorial_lib import services
    from tutorial_lib.notebook import workbench

    with fresh_home(root, "idle") as home:
        wb = workbench.up(home, show=False)
        wb.start_stage("observe")
        time.sleep(10)  # let start-up work settle
        procs = [psutil.Process(pid) for pid in services.workspace_processes(home)]

        def cpu() -> float:
            total = 0.0
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    total += times.user + times.system + times.children_user + times.children_system
                except psutil.Error:
                    pass
            return total

        before, started = cpu(), time.monotonic()
        time.sleep(seconds)
        used, wall = cpu() - before, time.monotonic() - started
        return {
            "seconds": round(wall, 1),
            "processes": len(procs),
            "idle_cpu_percent_of_one_core": round(100 * used / wall, 1),
        }


def bench_stage_start(root: Path, repeats: int) -> dict[str, Any]:
    """`start_stage` of stages 2-5 with the services already up, `repeats` times each."""
    from tutorial_lib.notebook import workbench

    figures: dict[str, list[float]] = {}
    with fresh_home(root, "stagestart") as home:
        wb = workbench.up(home, show=False)
        wb.start_stage("peer")
        for _ in range(repeats):
            for stage in ("observe", "partitions", "migrate", "decommission"):
                started = time.monotonic()
                wb.start_stage(stage)
                figures.setdefault(stage, []).append(time.monotonic() - started)
    every = [value for values in figures.values() for value in values]
    return {
        "stage_start_median_seconds": median(every),
        "stage_start_p95_seconds": p95(every),
        "per_stage_median_seconds": {stage: median(values) for stage, values in figures.items()},
    }


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    """Each target next to the measured figure."""
    found: dict[str, Any] = {}
    full = report.get("full_run", {}).get("full_run_seconds")
    if full is not None:
        found["full_run_seconds"] = full
    dag = report.get("dag_runs", {})
    floor = report.get("floor", {}).get("total_seconds")
    if dag.get("dag_run_wall_seconds") and floor:
        found["dag_run_over_floor"] = round(dag["dag_run_wall_seconds"] / floor, 2)
    if dag.get("observation_latency_median_seconds") is not None:
        found["observation_latency_median_seconds"] = dag["observation_latency_median_seconds"]
    peaks = [
        report.get("full_run", {}).get("memory", {}).get("peak_pss_mb"),
        dag.get("memory_during_dag_runs", {}).get("peak_pss_mb"),
    ]
    if any(peaks):
        found["peak_pss_mb"] = max(peak for peak in peaks if peak)
    for step, name in (
        ("idle", "idle_cpu_percent_of_one_core"),
        ("stage_start", "stage_start_median_seconds"),
    ):
        if report.get(step, {}).get(name) is not None:
            found[name] = report[step][name]
    return {
        name: {"target": TARGETS[name], "measured": value, "met": value <= TARGETS[name]}
        for name, value in found.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print one JSON document."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats of floor, cold start and full run")
    parser.add_argument("--full-repeats", type=int, help="repeats of the full run (default: --repeats)")
    parser.add_argument("--dag-runs", type=int, default=10, help="DAG runs for the latency figures")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["floor", "cold_start", "idle", "stage_start", "dag_runs", "full_run"],
        default=["floor", "cold_start", "idle", "stage_start", "dag_runs", "full_run"],
    )
    parser.add_argument("--root", type=Path, help="folder for throw-away workspaces (default: a temp dir)")
    args = parser.parse_args(argv)
    root = Path(args.root or tempfile.mkdtemp(prefix="airlift-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
    steps = {
        "floor": lambda: bench_floor(root, args.repeats),
        "cold_start": lambda: bench_cold_start(root, args.repeats),
        "idle": lambda: bench_idle(root),
        "stage_start": lambda: bench_stage_start(root, args.repeats),
        "dag_runs": lambda: bench_dag_runs(root, args.dag_runs),
        "full_run": lambda: bench_full_run(root, args.full_repeats or args.repeats),
    }
    try:
        for name in args.only:
            started = time.monotonic()
            print(f"benchmark: {name} ...", file=sys.stderr, flush=True)
            report[name] = steps[name]()
            print(f"benchmark: {name} took {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        report["targets"] = verdict(report)
        print(json.dumps(report, indent=2))
        if not args.root:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
