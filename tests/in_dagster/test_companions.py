"""Dagster's webserver and daemon as threads of the code server: when one ends, the whole service ends."""

from __future__ import annotations

import signal
import subprocess
import sys

from tutorial_lib.services.command_lines import DAGSTER_STARTUP

# A code server whose webserver thread fails at once (its port taken), watched as the workbench does.
PROBE = """
import sys, time
import _companions

def failing(cli, args):
    raise RuntimeError("the webserver could not listen on its port")

_companions.COMPANIONS["webserver"] = (*_companions.COMPANIONS["webserver"][:3], failing)
_companions.watch(_companions.start_threads({"webserver": []}))
time.sleep(60)
print("still running")
"""


def test_a_companion_thread_that_ends_stops_the_whole_service_and_says_why() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PYTHONPATH": str(DAGSTER_STARTUP), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=45,
        start_new_session=True,  # the watcher stops its own process group: this probe's, not the test's
    )
    assert "still running" not in probe.stdout and probe.returncode != 0
    assert "RuntimeError: the webserver could not listen on its port" in probe.stderr, probe.stderr[-2000:]
    assert "Dagster's webserver stopped (exit code 1); stopping the rest of Dagster with it." in probe.stderr


def test_the_companions_set_ctrl_c_handlers_only_from_the_main_thread() -> None:
    probe = (
        "import threading, types, _companions\n"
        "calls = []\n"
        "cli = types.SimpleNamespace(setup_interrupt_handlers=lambda: calls.append(1))\n"
        "_companions._interrupts_from_the_main_thread_only(cli)\n"
        "t = threading.Thread(target=cli.setup_interrupt_handlers); t.start(); t.join()\n"
        "cli.setup_interrupt_handlers()\n"
        "print(len(calls))\n"
    )
    env = {"PYTHONPATH": str(DAGSTER_STARTUP)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "1", done.stderr


# A code server with a companion thread whose workers never end (as the daemon's), waiting to be stopped.
STOPPED_PROBE = """
import threading, time
import _companions
from dagster._utils.interrupts import setup_interrupt_handlers

setup_interrupt_handlers()  # as `dagster api grpc` does: SIGTERM raises KeyboardInterrupt in main

def forever(cli, args):
    threading.Thread(target=lambda: threading.Event().wait()).start()  # a worker that is not a daemon thread
    threading.Event().wait()

_companions.COMPANIONS["daemon"] = (*_companions.COMPANIONS["daemon"][:3], forever)
_companions.start_threads({"daemon": []})
print("serving", flush=True)
time.sleep(60)
"""


def test_the_code_server_with_its_companion_threads_ends_at_sigterm() -> None:
    probe = subprocess.Popen(
        [sys.executable, "-c", STOPPED_PROBE],
        env={"PYTHONPATH": str(DAGSTER_STARTUP), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert probe.stdout.readline().strip() == "serving", probe.stderr.read()
        probe.send_signal(signal.SIGTERM)
        # Stock, the interpreter would wait for the worker forever (and `down` kill it after its grace).
        assert probe.wait(timeout=20) == 128 + signal.SIGTERM, probe.stderr.read()[-3000:]
    finally:
        probe.kill()
        probe.wait()
