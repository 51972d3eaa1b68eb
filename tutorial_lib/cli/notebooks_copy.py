"""`airlift-tutorial notebooks [DIR]`: a learner's own copy of the notebooks, and the pages they link to.

The notebooks link to `../docs/` (troubleshooting, the UI pictures), so both folders are copied side by side.
A file already there is the learner's: it is never overwritten, only reported.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tutorial_lib.workspace import REPO_ROOT

FOLDERS = ("notebooks", "docs")
DEFAULT_TARGET = Path("~/airlift-tutorial")


@dataclass
class Copied:
    """What a copy wrote and what it left alone."""

    target: Path
    written: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal."""
        first = self.target / "notebooks" / "01_peer.ipynb"
        if not self.written:
            return f"Your notebooks are already in {self.target} ({len(self.kept)} files kept as they are)."
        kept = f"; {len(self.kept)} file(s) already there kept as they are" if self.kept else ""
        return f"Copied {len(self.written)} file(s) into {self.target}{kept}. Start with {first}."


def _sources(repo: Path) -> list[Path]:
    return sorted(
        path
        for folder in FOLDERS
        for path in (repo / folder).rglob("*")
        if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts
    )


def copy(target: Path = DEFAULT_TARGET, repo: Path = REPO_ROOT) -> Copied:
    """Copy the notebooks and docs into `target`, adding what is missing and keeping what is there."""
    target = target.expanduser().absolute()
    done = Copied(target)
    for source in _sources(repo):
        destination = target / source.relative_to(repo)
        if destination.exists() or destination.is_symlink():
            done.kept.append(destination)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)  # contents only: the learner's umask, not the checkout's modes
        done.written.append(destination)
    return done
