"""Airflow's web UI and REST API served from one process.

`airflow webserver` runs a monitor process, a gunicorn master and its workers: four processes and about
650 MB for one learner's browser and the workbench's REST calls. This serves the same Airflow app
(`airflow.www.app.cached_app`) with a threaded WSGI server in a single process of about 200 MB.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from tutorial_lib import forks, tuning
from tutorial_lib.env_vars import LOGIN_PASSWORD_FILE as PASSWORD_FILE_VAR
from tutorial_lib.env_vars import LOGIN_USER as USER_VAR
from tutorial_lib.in_airflow import scheduler_wake

# The workspace's password is a long random secret (`secrets/airflow_password`): stretching its hash adds no
# protection, while Airflow's default (scrypt) costs ~140 ms of CPU on every REST call: the REST API checks
# the Basic credentials of each request, and the airlift sensor and the workbench call it every second or so.
PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"
# A successful login is written to the user's row (login count, last login) at most this often: the REST API
# logs in on every request, and each write is a database commit.
LOGIN_STAT_SECONDS = 60.0


def ensure_user(app: Any) -> None:
    """Create the workspace's Admin user (name and password file from the environment) if it is missing, with
    a password hash that is cheap to check; give an existing user such a hash.

    Doing it here, in the app the server loads anyway, saves the ~12 s of `airflow users create`.
    """
    from werkzeug.security import generate_password_hash

    username = os.environ.get(USER_VAR)
    password_file = os.environ.get(PASSWORD_FILE_VAR)
    if not (username and password_file):
        return
    hashed = generate_password_hash(Path(password_file).read_text().strip(), method=PASSWORD_HASH_METHOD)
    with app.app_context():
        security = app.appbuilder.sm
        user = security.find_user(username=username)
        if user:
            if not user.password.startswith(PASSWORD_HASH_METHOD + "$"):
                user.password = hashed
                security.update_user(user)
            return
        created = security.add_user(
            username,
            "Airlift",
            "Learner",
            "tutorial@example.invalid",
            security.find_role("Admin"),
            hashed_password=hashed,
        )
        if not created:
            raise RuntimeError(f"Could not create the Airflow user {username!r}; see the messages above.")
        print(f"Created the Airflow user {username!r}.", flush=True)


def throttle_login_stats(security: Any, every: float = LOGIN_STAT_SECONDS) -> None:
    """Record a user's successful logins at most once per `every` seconds; failed ones always."""
    import time

    original = security.update_user_auth_stat
    written: dict[Any, float] = {}

    def update_user_auth_stat(user: Any, success: bool = True) -> None:
        now = time.monotonic()
        if success and user.id in written and now - written[user.id] < every and not user.fail_login_count:
            return
        original(user, success)
        if success:
            written[user.id] = now

    security.update_user_auth_stat = update_user_auth_stat


def main() -> None:
    """Serve the Airflow app on the configured host and port until stopped (with `--create-user`: only make
    sure the workspace's user exists, for Airflow's stock web server)."""
    import sys

    from airflow.configuration import conf
    from airflow.www.app import cached_app
    from werkzeug.serving import make_server

    if sys.argv[1:] == ["--create-user"]:
        ensure_user(cached_app())
        return

    host = conf.get("webserver", "web_server_host")
    port = conf.getint("webserver", "web_server_port")
    app = cached_app()
    ensure_user(app)
    if tuning.use("airflow_login_stat_throttle"):
        throttle_login_stats(app.appbuilder.sm)
    scheduler_wake.wake_on_changes(app)  # only where the workbench set a wake file
    server = make_server(host, port, app, threaded=True)
    # One line per request would bury the log under the workbench's polling.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Airflow web server listening on http://{host}:{port}", flush=True)
    server.serve_forever()


# The name the forked web server gets (`ps -o comm`): its command line is the scheduler's.
FORKED_NAME = b"airflow-webserv"


def fork_from_scheduler() -> int:
    """Start the web server as a fork of the scheduler, first thing in its executor's start (see
    `tutorial_lib/forks.py`): the two share Airflow's and the web app's pages, the app being built here once.
    Returns the web server's pid; a scheduler that already runs a thread starts it as an interpreter of its
    own instead (forking is unsafe then)."""
    import subprocess
    import sys

    if forks.can_fork():
        from airflow.www.app import cached_app

        cached_app()
    if not forks.can_fork():  # a thread ran already, or building the app started one
        return subprocess.Popen([sys.executable, "-m", __name__]).pid
    return forks.fork_named(FORKED_NAME, _serve_in_fork)


def _serve_in_fork() -> None:
    import signal

    from airflow import settings

    for sig in (
        signal.SIGINT,
        signal.SIGTERM,
        signal.SIGUSR2,
    ):  # the scheduler's handlers are not the server's
        signal.signal(sig, signal.SIG_DFL)
    settings.engine.dispose(close=False)  # the scheduler's database connections stay the scheduler's
    main()


def watch(pid: int) -> None:
    """In the scheduler: when the web server ends, end the whole service, as its shell does when the scheduler
    ends."""
    forks.watch("Airflow's web server", forks.waiter(pid), "stopping the scheduler with it.")


if __name__ == "__main__":
    main()
