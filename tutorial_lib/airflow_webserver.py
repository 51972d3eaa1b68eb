"""Airflow's web UI and REST API served from one process.

`airflow webserver` runs a monitor process, a gunicorn master and its workers: four processes and about
650 MB for one learner's browser and the workbench's REST calls. This serves the same Airflow app
(`airflow.www.app.cached_app`) with a threaded WSGI server in a single process of about 200 MB.
"""

from __future__ import annotations

import logging


def main() -> None:
    """Serve the Airflow app on the configured host and port until stopped."""
    from airflow.configuration import conf
    from airflow.www.app import cached_app
    from werkzeug.serving import make_server

    host = conf.get("webserver", "web_server_host")
    port = conf.getint("webserver", "web_server_port")
    server = make_server(host, port, cached_app(), threaded=True)
    # One line per request would bury the log under the workbench's polling.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Airflow web server listening on http://{host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
