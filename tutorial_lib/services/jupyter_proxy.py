"""UI links through jupyter-server-proxy, for learners whose browser only reaches the Jupyter server.

On a JupyterHub, a learner's browser reaches their Jupyter server and nothing else on the host; the services
listen on 127.0.0.1 only. jupyter-server-proxy forwards `<server base>/proxy/absolute/<port>/...` to
`127.0.0.1:<port>` with the path unchanged, behind the hub's login. So each service is started with that path
as its own prefix (Dagster's `--path-prefix`, Airflow's `base_url`), and its links are that path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from tutorial_lib import env_vars
from tutorial_lib.workspace import WorkspaceError

SETTING = env_vars.UI_PROXY
OFF = ("off", "no", "false", "0")


def server_base(environ: Mapping[str, str] | None = None) -> str | None:
    """The Jupyter server's base path that UI links go through, or None for direct links to 127.0.0.1.

    `AIRLIFT_TUTORIAL_UI_PROXY` decides: `auto` (the default) proxies on a JupyterHub, where the server sets
    `JUPYTERHUB_SERVICE_PREFIX`; `off` never proxies; a path such as `/` or `/user/alice/` proxies through
    the Jupyter server with that base URL.
    """
    environ = os.environ if environ is None else environ
    setting = environ.get(SETTING, "auto").strip()
    if setting.lower() in OFF:
        return None
    if setting.lower() in ("auto", ""):
        base = environ.get("JUPYTERHUB_SERVICE_PREFIX", "")
        if not base:
            return None
    elif setting.startswith("/"):
        base = setting
    else:
        raise WorkspaceError(
            f"{SETTING}={setting!r} is not a setting the workbench knows. Use `auto` (proxy on a hub), "
            "`off` (direct links to 127.0.0.1), or the Jupyter server's base URL path, such as `/` or "
            "`/user/alice/`."
        )
    if any(char in base for char in "?#% ") or ".." in base.split("/"):
        raise WorkspaceError(
            f"The Jupyter base path {base!r} (from {SETTING} or JUPYTERHUB_SERVICE_PREFIX) is not a plain "
            "URL path. Set it to the path your browser shows before `lab`, such as `/user/alice/`."
        )
    inner = base.strip("/")
    return f"/{inner}/" if inner else "/"


def path_prefix(base: str | None, port: int) -> str:
    """The path a service on `port` is served under: empty for direct access, else the proxy's path."""
    return "" if base is None else f"{base}proxy/absolute/{port}"


def link(port: int, prefix: str) -> str:
    """The address a learner's browser opens for a service: the proxied path, or the loopback URL."""
    return f"{prefix}/" if prefix else f"http://127.0.0.1:{port}/"
