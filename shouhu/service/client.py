"""The `shouhu` command's side of the operator endpoint: is a service running on this data directory,
and if so, ask it.

A service is running when its socket accepts a connection (a socket file left by a killed service
does not, and is ignored). Then the operator secret must be readable: a user who cannot read it could
not open the store files either, and is told to run the command as the service's user.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from kernel.messages import say
from kernel.settings import Settings
from shouhu.service.operations import OperationError
from shouhu.service.operator import secret_path, socket_path

TIMEOUT = httpx.Timeout(connect=5.0, read=None, write=30.0, pool=5.0)


def _answers(path: Path) -> bool:
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class ServiceClient:
    """Calls to one running service, authenticated with the data directory's operator secret."""

    def __init__(self, settings: Settings, secret: str) -> None:
        self.settings = settings
        self._headers = {"Authorization": f"Bearer {secret}", "X-Operator-User": _user()}
        self._path = str(socket_path(settings))

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=self._path),
            base_url="http://shouhu",
            timeout=TIMEOUT,
            headers=self._headers,
        )

    def call(
        self,
        name: str,
        params: dict[str, Any],
        on_phases: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> dict[str, Any]:
        """An operation's JSON result; OperationError with the service's message and exit code. An
        operation that reports progress answers with JSON lines: ``on_phases`` is given each
        snapshot of its phases (to draw them) until the last line, which has the result."""
        try:
            with self._client() as client, client.stream("POST", f"/ops/run/{name}", json=params) as r:
                if not r.headers.get("content-type", "").startswith("application/x-ndjson"):
                    r.read()
                    return _body(r)
                last: dict[str, Any] = {}
                for line in r.iter_lines():
                    if not line.strip():
                        continue
                    last = json.loads(line)
                    if on_phases is not None:
                        on_phases(last.get("phases") or [])
        except httpx.TransportError as exc:
            raise OperationError(say("service.no_answer", path=self._path, reason=exc), 1) from exc
        if last.get("status") == 200 and isinstance(last.get("result"), dict):
            return last["result"]
        error = last.get("error") or {}
        message = error.get("message") or say("service.answered", status=last.get("status", "?"))
        raise OperationError(message, int(error.get("exit_code", 1)))

    def sync(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Start a sync in the service and yield its job's progress snapshots until it ends."""
        try:
            with self._client() as client, client.stream("POST", "/ops/sync", json=params) as r:
                if r.status_code != 202:
                    r.read()
                    _body(r)
                for line in r.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError as exc:
            raise OperationError(
                f"服务无应答 (the service on {self._path} did not answer): {exc}", 1
            ) from exc


def _body(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code == 200 and isinstance(body, dict):
        return body
    message = body.get("message") if isinstance(body, dict) else None
    code = body.get("exit_code", 2) if isinstance(body, dict) else 2
    raise OperationError(message or say("service.answered", status=r.status_code), int(code))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def service_answers(settings: Settings) -> bool:
    """Whether a service answers on this data directory's operator socket."""
    return _answers(socket_path(settings))


def find_service(settings: Settings) -> ServiceClient | None:
    """A client for the service running on this data directory, or None when none runs."""
    if not _answers(socket_path(settings)):
        return None
    path = secret_path(settings)
    try:
        secret = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise OperationError(
            f"数据目录 {settings.data_dir} 上有服务在运行，但无法读取操作员口令 {path}（{exc.strerror}）："
            "请以服务的用户身份运行此命令 (a service runs on this data directory; run the command as "
            "the service's user, who can read the operator secret)"
        ) from exc
    return ServiceClient(settings, secret)
