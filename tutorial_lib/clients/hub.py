"""A learner at a JupyterHub, through its public URL only: log in, start their server, type in a terminal, run
a notebook cell in their kernel, open a page through their server's proxy.

What a browser does, done over HTTP and websockets: the login form (with its XSRF field), the hub's OAuth
hand-off to the learner's server (cookies), Jupyter's terminal and kernel websockets (with a token the
learner makes).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
import websocket

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
EXIT_MARK = "__exit_status__"


class HubClientError(RuntimeError):
    """A step of the learner's session failed; the message says which, with what the hub answered."""


@dataclass
class TerminalResult:
    """What a command typed into a terminal printed, and its exit status."""

    output: str
    status: int
    seconds: float


@dataclass
class CellResult:
    """What a notebook cell gave: its text and rich outputs, and an error if it raised."""

    stdout: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def text(self, mime: str = "text/plain") -> str:
        """The outputs of one MIME type, joined."""
        return "\n".join(str(output[mime]) for output in self.outputs if mime in output)


class HubLearner:
    """One learner's browser session at a hub."""

    def __init__(self, hub_url: str, name: str, password: str) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.name = name
        self.password = password
        self.session = requests.Session()
        self.token: str | None = None

    @property
    def server_url(self) -> str:
        """The learner's own server, behind the hub's proxy."""
        return f"{self.hub_url}/user/{self.name}"

    def _xsrf(self) -> dict[str, str]:
        token = self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies.get("_xsrf")
        return {"X-XSRFToken": token} if token else {}

    def log_in(self) -> None:
        """The login page's form, as a browser sends it; the hub's session cookie is kept."""
        page = self.session.get(f"{self.hub_url}/hub/login", timeout=60)
        found = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.text)
        form = {
            "username": self.name,
            "password": self.password,
            **({"_xsrf": found.group(1)} if found else {}),
        }
        answer = self.session.post(f"{self.hub_url}/hub/login", data=form, timeout=60, allow_redirects=False)
        if answer.status_code not in (302, 303):
            raise HubClientError(
                f"{self.name} could not log in: HTTP {answer.status_code}: {answer.text[:300]}"
            )

    def make_token(self) -> str:
        """An API token of the learner's own, made with their login (as the hub's token page does)."""
        answer = self.session.post(
            f"{self.hub_url}/hub/api/users/{self.name}/tokens",
            json={"note": "airlift-tutorial room", "expires_in": 7200},
            headers={**self._xsrf(), "Referer": f"{self.hub_url}/hub/token"},
            timeout=60,
        )
        if not answer.ok:
            raise HubClientError(
                f"{self.name} could not make a token: HTTP {answer.status_code}: {answer.text}"
            )
        self.token = answer.json()["token"]
        return self.token

    def _auth(self) -> dict[str, str]:
        if self.token is None:
            self.make_token()
        return {"Authorization": f"token {self.token}"}

    def start_server(self, timeout: float = 180) -> float:
        """Ask the hub to spawn the learner's server and wait until it is ready; the seconds it took."""
        started = time.monotonic()
        answer = requests.post(
            f"{self.hub_url}/hub/api/users/{self.name}/server", headers=self._auth(), timeout=60
        )
        if answer.status_code not in (201, 202, 400):  # 400: already running
            raise HubClientError(
                f"The hub did not spawn {self.name}'s server: {answer.status_code} {answer.text}"
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            user = requests.get(f"{self.hub_url}/hub/api/users/{self.name}", headers=self._auth(), timeout=60)
            server = user.json().get("servers", {}).get("", {})
            if server.get("ready"):
                # The browser's way in: the OAuth hand-off sets the server's own cookie for the proxy pages.
                self.session.get(f"{self.server_url}/lab", timeout=60)
                return time.monotonic() - started
            time.sleep(0.5)
        raise HubClientError(f"{self.name}'s server was not ready after {timeout:.0f} s")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """A page through the hub with the learner's browser cookies (`path` starts with /)."""
        return self.session.get(f"{self.hub_url}{path}", timeout=60, allow_redirects=False, **kwargs)

    def _ws_url(self, path: str) -> str:
        return self.hub_url.replace("http", "ws", 1) + path

    def terminal(self, command: str, timeout: float = 600) -> TerminalResult:
        """Open a new terminal, type `command` and Enter, read until it finishes; output and exit status."""
        answer = requests.post(f"{self.server_url}/api/terminals", headers=self._auth(), timeout=60)
        answer.raise_for_status()
        name = answer.json()["name"]
        started = time.monotonic()
        connection = websocket.create_connection(
            self._ws_url(f"/user/{self.name}/terminals/websocket/{name}"),
            header=[f"{k}: {v}" for k, v in self._auth().items()],
            timeout=timeout,
        )
        output = ""
        pattern = re.compile(EXIT_MARK + r"=(\d+)")
        try:
            connection.send(json.dumps(["stdin", f"{command}; echo {EXIT_MARK}=$?\r"]))
            while time.monotonic() - started < timeout:
                kind, *payload = json.loads(connection.recv())
                if kind == "stdout":
                    output += payload[0]
                    found = pattern.search(ANSI.sub("", output))
                    if found:
                        text = ANSI.sub("", output)
                        return TerminalResult(
                            text[: found.start()], int(found.group(1)), time.monotonic() - started
                        )
                elif kind == "disconnect":
                    break
        finally:
            connection.close()
            requests.delete(f"{self.server_url}/api/terminals/{name}", headers=self._auth(), timeout=60)
        raise HubClientError(
            f"{self.name}'s terminal command {command!r} did not finish:\n{ANSI.sub('', output)}"
        )

    def start_kernel(self, kernel: str) -> str:
        """Start a kernel of the named kernelspec in the learner's server; its id."""
        answer = requests.post(
            f"{self.server_url}/api/kernels", json={"name": kernel}, headers=self._auth(), timeout=120
        )
        if not answer.ok:
            raise HubClientError(
                f"{self.name} could not start kernel {kernel!r}: {answer.status_code} {answer.text}"
            )
        return answer.json()["id"]

    def kernel_specs(self) -> dict[str, Any]:
        """The kernels the learner's server offers."""
        return requests.get(f"{self.server_url}/api/kernelspecs", headers=self._auth(), timeout=60).json()

    def run_cell(self, kernel_id: str, code: str, timeout: float = 600) -> CellResult:
        """Execute `code` in the kernel, as JupyterLab does over the kernel's websocket; its outputs."""
        connection = websocket.create_connection(
            self._ws_url(f"/user/{self.name}/api/kernels/{kernel_id}/channels"),
            header=[f"{k}: {v}" for k, v in self._auth().items()],
            timeout=timeout,
        )
        msg_id = uuid.uuid4().hex
        request = {
            "header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }  # fmt: skip
        result, replied, idle = CellResult(), False, False
        deadline = time.monotonic() + timeout
        try:
            connection.send(json.dumps(request))
            while not (replied and idle) and time.monotonic() < deadline:
                message = json.loads(connection.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    result.stdout += content["text"]
                elif kind in ("execute_result", "display_data"):
                    result.outputs.append(content["data"])
                elif kind == "error":
                    result.error = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
        finally:
            connection.close()
        if not replied:
            raise HubClientError(
                f"{self.name}'s cell did not finish in {timeout:.0f} s:\n{result.stdout[-2000:]}"
            )
        return result
