"""Where UI links point: the jupyter-server-proxy setting, and the services' prefixed environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutorial_lib import services
from tutorial_lib.cli import doctor
from tutorial_lib.services import jupyter_proxy
from tutorial_lib.workspace import Workspace, WorkspaceError


@pytest.mark.parametrize(
    ("environ", "base"),
    [
        ({}, None),
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}, "/user/alice/"),
        ({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "AIRLIFT_TUTORIAL_UI_PROXY": "off"}, None),
        ({"AIRLIFT_TUTORIAL_UI_PROXY": "/"}, "/"),
        ({"AIRLIFT_TUTORIAL_UI_PROXY": "/lab-host"}, "/lab-host/"),
        ({"AIRLIFT_TUTORIAL_UI_PROXY": "auto", "JUPYTERHUB_SERVICE_PREFIX": "user/bob"}, "/user/bob/"),
    ],
)
def test_server_base_proxies_on_a_hub_or_when_asked(environ: dict[str, str], base: str | None) -> None:
    assert jupyter_proxy.server_base(environ) == base


@pytest.mark.parametrize("setting", ["yes", "http://hub.example/user/alice/", "/user/../etc/", "/a b/"])
def test_an_unusable_proxy_setting_names_itself_and_the_accepted_values(setting: str) -> None:
    with pytest.raises(WorkspaceError, match=r"AIRLIFT_TUTORIAL_UI_PROXY|base path") as raised:
        jupyter_proxy.server_base({"AIRLIFT_TUTORIAL_UI_PROXY": setting})
    assert "/user/alice/" in str(raised.value)


def test_links_are_the_proxy_path_or_the_loopback_url() -> None:
    prefix = jupyter_proxy.path_prefix("/user/alice/", 41234)
    assert prefix == "/user/alice/proxy/absolute/41234"
    assert jupyter_proxy.link(41234, prefix) == "/user/alice/proxy/absolute/41234/"
    assert jupyter_proxy.path_prefix(None, 41234) == ""
    assert jupyter_proxy.link(41234, "") == "http://127.0.0.1:41234/"


def test_prefixed_services_get_the_prefix_in_their_environment(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.ensure()
    prefix = "/user/alice/proxy/absolute/41234"
    airflow = services.airflow_env(ws, port=41234, dagster_url="http://127.0.0.1:5/d", path_prefix=prefix)
    assert airflow["AIRFLOW__WEBSERVER__BASE_URL"] == f"http://127.0.0.1:41234{prefix}"
    assert airflow["AIRFLOW__WEBSERVER__WEB_SERVER_HOST"] == "127.0.0.1"
    webserver = services.dagster_commands(ws, 5, "/p/proxy/absolute/5")[1]
    assert webserver[-2:] == ["--path-prefix", "/p/proxy/absolute/5"]
    assert "--path-prefix" not in services.dagster_commands(ws, 5, "")[1]
    direct = services.airflow_env(ws, port=7, dagster_url="x")
    assert direct["AIRFLOW__WEBSERVER__BASE_URL"] == "http://127.0.0.1:7"


def test_doctor_names_where_ui_links_go_and_fails_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jupyter_proxy.SETTING, raising=False)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    hub = doctor.check_ui_links()
    assert hub.passed and "/user/alice/proxy/absolute/<port>/" in hub.found
    monkeypatch.setenv(jupyter_proxy.SETTING, "sometimes")
    bad = doctor.check_ui_links()
    assert not bad.passed and "sometimes" in bad.found and jupyter_proxy.SETTING in bad.fix
