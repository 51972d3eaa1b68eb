"""Run the five core stages N times, each time from a cold, fresh workspace, and report how they fared.

    make soak N=5                   # or: python benchmarks/soak.py --runs 5 [--all | --stages component]

Prints JSON: passes and failures (with the failing stage, cell and error), and per stage the median (p50) and
p95 wall time over the runs in which the stage ran.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import REPO_ROOT, median, p95  # noqa: E402


def soak_run(home: Path, variants: bool, chosen: list[str]) -> tuple[int, float, list[dict[str, Any]], str]:
    """One `airlift-tutorial run` in a fresh workspace: exit code, wall time, stage results, output tail."""
    command = [
        sys.executable,
        "-m",
        "tutorial_lib.cli",
        "--home",
        str(home),
        "run",
        *(["--all"] if variants else []),
        *chosen,
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    summaries = sorted((home / "runs").glob("*/summary.json"))
    results = json.loads(summaries[-1].read_text()) if summaries else []
    return done.returncode, wall, results, (done.stdout + done.stderr)[-2000:]


def main(argv: list[str] | None = None) -> int:
    """Soak the stages and print one JSON document; exit 1 if any run failed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="how many cold runs (default 5)")
    parser.add_argument("--all", action="store_true", help="run the two variants too")
    parser.add_argument("--stages", nargs="+", default=[], help="only these stages, e.g. component")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="airlift-soak-"))
    walls: list[float] = []
    stages: dict[str, list[float]] = {}
    failures: list[dict[str, Any]] = []
    try:
        for index in range(args.runs):
            home = root / f"run{index}"
            code, wall, results, tail = soak_run(home, args.all, args.stages)
            walls.append(wall)
            print(
                f"soak: run {index + 1}/{args.runs}: exit {code} in {wall:.0f} s", file=sys.stderr, flush=True
            )
            for result in results:
                stages.setdefault(result["stage"], []).append(result["seconds"])
                if result["status"] != "passed":
                    failures.append(
                        {
                            "run": index + 1,
                            "stage": result["stage"],
                            "cell": result.get("failed_cell"),
                            "source": result.get("failed_source"),
                            "error": result.get("error"),
                        }
                    )
            if code != 0 and not any(f["run"] == index + 1 for f in failures):
                failures.append({"run": index + 1, "stage": None, "cell": None, "error": tail})
            subprocess.run(
                [sys.executable, "-m", "tutorial_lib.cli", "--home", str(home), "down"],
                cwd=REPO_ROOT,
                capture_output=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    failed_runs = {failure["run"] for failure in failures}
    report = {
        "runs": args.runs,
        "passed": args.runs - len(failed_runs),
        "failed": len(failed_runs),
        "failures": failures,
        "run_seconds": {"p50": median(walls), "p95": p95(walls)},
        "stage_seconds": {
            stage: {"p50": median(v), "p95": p95(v), "n": len(v)} for stage, v in stages.items()
        },
    }
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
