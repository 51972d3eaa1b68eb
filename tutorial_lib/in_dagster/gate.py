"""A login in front of the workspace's Dagster webserver, which has none of its own.

Without it, anyone who can connect to the webserver's loopback port, which on a shared host is every local
user (directly, or through their own jupyter-server-proxy's `/proxy/absolute/<port>/`), could use its GraphQL
API to launch runs or wipe assets. `Gate` wraps Dagster's ASGI app and lets a request through only with HTTP
Basic credentials of the workspace's login (the same user and password as Airflow's) or with the session
cookie it set after such a request; anything else, websocket handshakes included, is refused.

Security, not a speed tuning: `_dagster_startup/sitecustomize.py` installs it in every Dagster webserver of a
workspace whatever `AIRLIFT_TUTORIAL_TUNING` says, and `install` refuses to let the webserver start when the
place it hooks into is gone. Standard library only, and loaded by file path without the `tutorial_lib` package
(see sitecustomize.py), so it costs Dagster's start nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from types import ModuleType
from typing import Any

from tutorial_lib import env_vars

REALM = "airlift-tutorial Dagster"
# Set by services.dagster_env: the login's user name, and the files with its password and the cookie key.
USER_VAR = env_vars.LOGIN_USER
PASSWORD_FILE_VAR = env_vars.LOGIN_PASSWORD_FILE
KEY_FILE_VAR = env_vars.DAGSTER_SESSION_KEY_FILE
# Where dagster-webserver builds the app it serves: HOOK_CALLER calls HOOK_FUNCTION, then uvicorn.run.
HOOK_MODULE = "dagster_webserver.cli"
HOOK_FUNCTION = "create_app_from_workspace_process_context"
HOOK_CALLER = "host_dagster_ui_with_workspace_process_context"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class GateError(RuntimeError):
    """The gate cannot be put in front of Dagster: the webserver must not start."""


class Gate:
    """An ASGI app that passes only requests with the workspace's login (or its session cookie) to `app`."""

    def __init__(self, app: ASGIApp, *, user: str, password: str, key: bytes, path: str = "/") -> None:
        if not (user and password and len(key) >= 16):
            raise GateError("The Dagster login needs a user, a password and a key of at least 16 bytes.")
        self.app = app
        self.credentials = f"{user}:{password}".encode()
        self.path = path.rstrip("/") or "/"
        self.cookie_name = "airlift_dagster_" + _mac(key, b"cookie name")[:12]  # one per workspace
        self.cookie_value = _mac(key, b"session\0" + self.credentials)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve `scope` through the gate: lifespan events pass, requests need the login."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        has_cookie = self._cookie_ok(headers.get(b"cookie", b""))
        if has_cookie:
            await self.app(scope, receive, send)
        elif self._basic_ok(headers.get(b"authorization", b"")):
            await self.app(scope, receive, self._setting_cookie(send) if scope["type"] == "http" else send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
        else:
            await self._refuse(send)

    def _basic_ok(self, header: bytes) -> bool:
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.credentials)

    def _cookie_ok(self, header: bytes) -> bool:
        wanted = self.cookie_value.encode()
        for part in header.split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == self.cookie_name.encode() and hmac.compare_digest(value, wanted):
                return True
        return False

    def _setting_cookie(self, send: Send) -> Send:
        """`send`, adding the session cookie to the response: the browser's websocket carries it."""
        cookie = f"{self.cookie_name}={self.cookie_value}; Path={self.path}; HttpOnly; SameSite=Strict"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())],
                }
            await send(message)

        return sending

    async def _refuse(self, send: Send) -> None:
        body = (
            b"This Dagster belongs to an airlift-tutorial workspace: log in with its user and the password "
            b"in <workspace>/secrets/airflow_password (the same as Airflow's).\n"
        )
        headers = [
            (b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()),
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (ASGI gives them lower-cased); repeated cookies joined."""
    found: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", []):
        found[name] = found[name] + b"; " + value if name == b"cookie" and name in found else value
    return found


def from_environment(app: ASGIApp, path: str, environ: MutableMapping[str, str] | None = None) -> Gate:
    """A gate with the workspace's login, read from the files `services.dagster_env` names."""
    environ = os.environ if environ is None else environ
    try:
        user = environ[USER_VAR]
        password = Path(environ[PASSWORD_FILE_VAR]).read_text().strip()
        key = Path(environ[KEY_FILE_VAR]).read_text().strip().encode()
    except (KeyError, OSError) as exc:
        raise GateError(
            f"The Dagster login cannot be set up ({exc!r}): start Dagster with `airlift-tutorial up`, which "
            f"sets {USER_VAR}, {PASSWORD_FILE_VAR} and {KEY_FILE_VAR}."
        ) from exc
    return Gate(app, user=user, password=password, key=key, path=path or "/")


def install(module: ModuleType) -> None:
    """Make dagster-webserver's CLI (`module`) serve its app behind the gate; raise GateError if it cannot."""
    create = getattr(module, HOOK_FUNCTION, None)
    caller = getattr(module, HOOK_CALLER, None)
    if create is None or caller is None or HOOK_FUNCTION not in caller.__code__.co_names:
        raise GateError(
            f"{module.__name__} no longer builds its app with {HOOK_FUNCTION} in {HOOK_CALLER}, so the "
            "workspace's Dagster login (tutorial_lib/in_dagster/gate.py)"
            " cannot be installed, and Dagster does "
            "not start without it. Use the locked dagster-webserver (`make install`), or move `install` to "
            "where this version builds its ASGI app."
        )
    if getattr(create, "gated", False):
        return
    parameters = inspect.signature(create)

    def create_gated_app(*args: Any, **kwargs: Any) -> Gate:
        app = create(*args, **kwargs)
        path = parameters.bind(*args, **kwargs).arguments.get("path_prefix", "")
        return from_environment(app, path)

    create_gated_app.gated = True  # type: ignore[attr-defined]
    setattr(module, HOOK_FUNCTION, create_gated_app)
