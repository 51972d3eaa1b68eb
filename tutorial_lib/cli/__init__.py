"""The `airlift-tutorial` command: its subcommands, the headless notebook runner, the preflight `doctor`.

Runs in the command's own process; `python -m tutorial_lib.cli` is the same command.
"""

from tutorial_lib.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
