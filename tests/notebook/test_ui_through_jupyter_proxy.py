"""The UIs as a learner on a JupyterHub opens them: through a real Jupyter server with jupyter-server-proxy,
whose base path is the one the stage workspace's services were started under (see conftest), behind its
login."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import requests
from conftest import PROXY_BASE

import tutorial_lib
from tutorial_lib import services
from tutorial_lib.clients.dagster import LOCATION_NAME

pytestmark = pytest.mark.stage


def _browser(jupyter: tuple[str, str]) -> tuple[requests.Session, str]:
    """A session logged in to Jupyter as a browser is (a cookie from the token link), and the host URL."""
    url, token = jupyter
    session = requests.Session()
    assert session.get(f"{url}{PROXY_BASE}lab?token={token}", timeout=30).ok
    return session, url


def test_links_go_through_the_jupyter_server_to_each_service_port(running: services.Services) -> None:
    ports = {name: rec["port"] for name, rec in running.workspace.read_state()["services"].items()}
    links = running.links()
    assert links == {name: f"{PROXY_BASE}proxy/absolute/{ports[name]}/" for name in ("airflow", "dagster")}
    workbench = tutorial_lib.Workbench(running.workspace, running.airflow, running.dagster, show=False)
    shown = workbench.links().data
    assert f"[Dagster UI]({links['dagster']})" in shown and f"[Airflow UI]({links['airflow']})" in shown


def test_the_proxied_uis_need_the_jupyter_login(running: services.Services, jupyter: tuple[str, str]) -> None:
    url, _ = jupyter
    for link in running.links().values():
        response = requests.get(f"{url}{link}", allow_redirects=False, timeout=30)
        assert response.status_code in (302, 403), (link, response.status_code)
        assert "Dagster" not in response.text and "Airflow" not in response.text


def test_the_proxied_dagster_asks_for_the_workspace_login_behind_the_jupyter_login(
    running: services.Services, jupyter: tuple[str, str]
) -> None:
    """Any user's Jupyter server forwards /proxy/absolute/<port>/ to that port: Dagster itself must refuse."""
    session, url = _browser(jupyter)
    link = running.links()["dagster"]
    for method, path, body in (("GET", "", None), ("POST", "graphql", {"query": "{ version }"})):
        refused = session.request(method, f"{url}{link}{path}", json=body, timeout=60)
        assert refused.status_code == 401, (path, refused.status_code, refused.text[:300])
        assert refused.headers["WWW-Authenticate"].startswith('Basic realm="airlift-tutorial Dagster"')
        assert "__webpack_public_path__" not in refused.text and '"data"' not in refused.text
    # The proxy accepts the browser's websocket, then closes it when Dagster refuses its own: no answer.
    assert asyncio.run(_graphql_websocket_ack(session, url, f"{link}graphql")) is None


def test_the_dagster_ui_its_graphql_and_its_websocket_answer_through_the_proxy_with_the_login(
    running: services.Services, jupyter: tuple[str, str]
) -> None:
    session, url = _browser(jupyter)
    session.auth = services.login(running.workspace)  # what the browser sends once the learner logged in
    link = running.links()["dagster"]
    page = session.get(f"{url}{link}", timeout=60)
    assert page.ok and "<title" in page.text
    assert f'__webpack_public_path__ = "{link.rstrip("/")}"' in page.text
    script = re.search(r'src="([^"]+\.js)"', page.text).group(1)
    assert script.startswith(link) and session.get(f"{url}{script}", timeout=60).ok
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
    answer = session.post(f"{url}{link}graphql", json={"query": query}, timeout=60).json()
    assert LOCATION_NAME in {e["name"] for e in answer["data"]["workspaceOrError"]["locationEntries"]}
    # A browser's websocket carries no Basic credentials: the session cookie Dagster's login set lets it in.
    assert any(cookie.name.startswith("airlift_dagster_") for cookie in session.cookies)
    assert asyncio.run(_graphql_websocket_ack(session, url, f"{link}graphql")) == "connection_ack"


async def _graphql_websocket_ack(session: requests.Session, url: str, path: str) -> str | None:
    """Open the UI's GraphQL websocket with the browser's cookies (no Authorization header, as a browser's
    websocket); return the type of the reply to its first message, None if the socket closed instead."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    cookie = "; ".join(f"{key}={value}" for key, value in session.cookies.items())
    request = HTTPRequest(url.replace("http", "ws", 1) + path, headers={"Cookie": cookie, "Origin": url})
    connection = await websocket_connect(request, subprotocols=["graphql-ws"])
    try:
        await connection.write_message(json.dumps({"type": "connection_init", "payload": {}}))
        reply = await asyncio.wait_for(connection.read_message(), 30)
        return None if reply is None else json.loads(reply)["type"]
    finally:
        connection.close()


def test_the_airflow_ui_logs_in_through_the_proxy_with_the_workspace_password(
    running: services.Services, jupyter: tuple[str, str]
) -> None:
    session, url = _browser(jupyter)
    link = running.links()["airflow"]
    home = session.get(f"{url}{link}home", timeout=60)
    assert home.url.startswith(f"{url}{link}login/"), home.url  # Airflow's own login, still under the proxy
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', home.text).group(1)
    password = running.workspace.secret("airflow_password")
    form = {"csrf_token": csrf, "username": services.AIRFLOW_USER, "password": password}
    logged_in = session.post(home.url, data=form, timeout=60)
    assert logged_in.ok and logged_in.url == f"{url}{link}home", logged_in.url
    assert "rebuild_customers_list" in logged_in.text
