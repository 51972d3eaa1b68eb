"""Print the Python 3.11 that `make install` builds `.venv` on: one that every local user can execute.

A venv only links to its base interpreter, so a learner can run `.venv/bin/python` only if they can reach the
base interpreter and its standard library. pyenv and uv keep theirs under the admin's home (often mode 0700):
on a shared host every learner would then get "bad interpreter: Permission denied". Runs on any Python 3.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

WANTED = (3, 11)
SYSTEM_CANDIDATES = (
    "/usr/bin/python3.11",
    "/usr/local/bin/python3.11",
    "/usr/bin/python3",
    "/usr/local/bin/python3",
)
DESCRIBE = (
    "import json, sys, sysconfig; print(json.dumps({'version': list(sys.version_info[:2]), "
    "'executable': sys.executable, 'stdlib': sysconfig.get_paths()['stdlib'], "
    "'libdir': sysconfig.get_config_var('LIBDIR')}))"
)


def describe(python: str) -> dict | None:
    """The version, real executable and standard library of `python`, or None when it does not run."""
    try:
        out = subprocess.run(
            [python, "-I", "-c", DESCRIBE], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return json.loads(out.stdout)


def blocked_for_others(path: Path) -> Path | None:
    """The first folder on the way to `path` (or the file itself) that other users cannot pass or read."""
    for way in dict.fromkeys((Path(os.path.abspath(path)), path.resolve())):  # the link, and where it leads
        for folder in reversed(way.parents):
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return folder
    path = path.resolve()
    mode = os.stat(path).st_mode
    needed = stat.S_IXOTH | stat.S_IROTH if path.is_dir() else stat.S_IROTH
    if path.is_file() and os.access(path, os.X_OK):
        needed |= stat.S_IXOTH
    return None if mode & needed == needed else path


def why_private(info: dict) -> Path | None:
    """Where other users are stopped on the way to this interpreter's executable, libpython or stdlib."""
    places = [Path(info["executable"]), Path(info["stdlib"])]
    if info.get("libdir") and Path(info["libdir"]).is_dir():
        places.append(Path(info["libdir"]))
    for place in places:
        blocked = blocked_for_others(place)
        if blocked is not None:
            return blocked
    return None


def candidates(asked: str) -> list[str]:
    """The interpreters to try, the one asked for first."""
    found = [asked, shutil.which("python3.11") or "", *SYSTEM_CANDIDATES]
    return list(dict.fromkeys(c for c in found if c))


def choose(asked: str) -> tuple[str | None, list[str]]:
    """The first Python 3.11 every user can execute, and a note per candidate passed over."""
    notes = []
    for python in candidates(asked):
        info = describe(python)
        if info is None or tuple(info["version"]) != WANTED:
            continue
        blocked = why_private(info)
        if blocked is None:
            return info["executable"], notes
        notes.append(f"{info['executable']}: other users cannot pass {blocked}")
    return None, notes


def main() -> int:
    asked = sys.argv[1] if len(sys.argv) > 1 else sys.executable
    chosen, notes = choose(asked)
    if chosen:
        if notes:
            print(f"Using {chosen}, which every user can run (not {notes[0]}).", file=sys.stderr)
        print(chosen)
        return 0
    private = [n for n in notes]
    if private:
        print(
            "WARNING: no Python 3.11 on this machine can be run by other users ("
            + "; ".join(private)
            + "). The workbench works for you, but learners on this host would get 'Permission denied'. "
            "For a shared host, install one they can run (Debian/Ubuntu: apt-get install python3.11), then "
            "`rm -rf .venv && make install`.",
            file=sys.stderr,
        )
    print("3.11")  # uv's own search: the environment still works for the user who built it
    return 0


if __name__ == "__main__":
    sys.exit(main())
