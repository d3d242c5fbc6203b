"""The operator endpoint: the running service does, for the `shouhu` command, what needs its stores.

It listens on a unix socket in the data directory (``operator.sock``, mode 0600), never on a network
port. A call must carry the operator secret (``operator.secret`` beside it, mode 0600, created by the
service on first start): reading that file is what makes someone an operator of this data directory,
which is the same test as being allowed to open the store files directly. Every call, refused ones
included, is one entry in the audit log (operation ``operator.<name>``, client ``operator``, the
caller's account name as user); a call is answered only after its entry is written.

    POST /ops/run/<operation>   JSON keyword parameters → the operation's JSON (shouhu.service.operations);
                                one that reports progress streams JSON lines: its phases, then the result
    POST /ops/sync              start a sync; the answer streams the job's progress as JSON lines
    GET  /ops/ping              who is serving this data directory
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from auth.audit import AuditEvent, AuditLog, AuditUnavailable
from graph.crash import crash_point
from graph.port import GraphStore, GraphStoreError
from kernel.messages import say
from kernel.settings import Settings
from shouhu.service.operations import OPERATIONS, Operation, OperationError, Phases
from shouhu.service.workers import ServiceStopping, Workers

log = logging.getLogger("shouhu.service")

SOCKET_NAME = "operator.sock"
SECRET_NAME = "operator.secret"
PROGRESS_INTERVAL = 0.25


def socket_path(settings: Settings) -> Path:
    return settings.data_dir / SOCKET_NAME


def secret_path(settings: Settings) -> Path:
    return settings.data_dir / SECRET_NAME


def ensure_secret(settings: Settings) -> str:
    """The operator secret, made on first start (32 random bytes, hex, owner-only). A file that others
    may read is no secret: it is made owner-only again and a warning says so."""
    path = secret_path(settings)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("operator secret %s was readable by others (mode %o); made owner-only", path, mode)
            os.chmod(path, 0o600)
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        value = secrets.token_hex(32)
        fh.write(value + "\n")
    return value


def bind_socket(settings: Settings) -> socket.socket:
    """The listening unix socket, owner-only from the moment it exists. A socket file another live
    service answers on is an error (two services on one data directory); a stale one is replaced."""
    path = socket_path(settings)
    if path.exists() or path.is_symlink():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()
        else:
            raise RuntimeError(f"another service answers on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    sock.setblocking(False)
    return sock


class OperatorEndpoint:
    """The operator routes over one service's stores and workers."""

    def __init__(
        self, settings: Settings, engine: Engine, graph: GraphStore, workers: Workers, secret: str
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.graph = graph
        self.workers = workers
        self._secret = secret.encode("ascii")
        self.audit = AuditLog(engine)
        self._running: set[asyncio.Future[Any]] = set()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/ops/ping", self.ping, methods=["GET"]),
                Route("/ops/run/{name}", self.run, methods=["POST"]),
                Route("/ops/sync", self.sync, methods=["POST"]),
            ]
        )

    # ---- authentication and audit --------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._secret)

    def _record(
        self,
        request: Request,
        name: str,
        decision: str,
        status: int,
        reasons: tuple[str, ...] = (),
        size: int = 0,
    ) -> None:
        """One audit entry; AuditUnavailable when it cannot be written (the call then fails closed)."""
        user = request.headers.get("x-operator-user") or None
        try:
            event = AuditEvent(
                operation=f"operator.{name}",
                decision=decision,
                status=status,
                client_id="operator",
                user=user,
                reasons=reasons,
                result_size=size,
            )
        except ValueError:  # a user name or operation the log refuses: record the call without it
            event = AuditEvent(
                operation="operator.invalid",
                decision=decision,
                status=status,
                client_id="operator",
                reasons=(*reasons, "operator.invalid_name"),
            )
        self.audit.append(event)

    async def _guard(self, request: Request, name: str) -> Response | None:
        """None when the call may go on; else the refusal, audited."""
        if self._authorised(request):
            return None
        try:
            await run_in_threadpool(self._record, request, name, "deny", 401, ("operator.bad_secret",))
        except AuditUnavailable:
            return _refuse(503, _audit_down())
        return _refuse(401, say("operator.bad_secret"))

    # ---- routes --------------------------------------------------------------------------------

    async def ping(self, request: Request) -> Response:
        if (refused := await self._guard(request, "ping")) is not None:
            return refused
        try:
            await run_in_threadpool(self._record, request, "ping", "allow", 200)
        except AuditUnavailable:
            return _refuse(503, _audit_down())
        return JSONResponse(
            {
                "service": "shouhu",
                "pid": os.getpid(),
                "backend": self.graph.backend,
                "data_dir": str(self.settings.data_dir),
                "syncing": self.workers.syncing(),
            }
        )

    async def run(self, request: Request) -> Response:
        name = request.path_params["name"]
        if (refused := await self._guard(request, name)) is not None:
            return refused
        op = OPERATIONS.get(name)
        try:
            params = await request.json()
        except ValueError:
            params = None
        if op is None or not isinstance(params, dict):
            return await self._finish(
                request,
                name,
                400,
                {"message": f"unknown operation or bad parameters: {name}", "exit_code": 2},
                "error",
            )
        if op.writes:
            # A change is on the record before it is made, as a sync is (202, below): the entry of
            # its outcome is written after it, in a transaction of its own, and a service killed
            # between the two left a replay or a rebuild done with no entry at all.
            try:
                await run_in_threadpool(self._record, request, name, "allow", 202)
            except AuditUnavailable:
                return _refuse(503, _audit_down())
        if op.progress:
            return self._stream(request, name, op, params)
        status, body, decision = await run_in_threadpool(self._execute, name, op, params, None)
        return await self._finish(request, name, status, body, decision)

    def _execute(
        self, name: str, op: Operation, params: dict[str, Any], progress: Phases | None
    ) -> tuple[int, dict[str, Any], str]:
        """Run one operation on the service's stores (in the sync turn if it writes the graph): its
        status, JSON body and audit decision."""
        extra = {"progress": progress} if progress is not None else {}
        # An operation that writes uses the workers' engine: on SQLite its transactions begin IMMEDIATE
        # and queue behind the API's audit writes instead of failing on a stale read.
        engine = self.workers.engine if op.writes else self.engine
        if op.exclusive and progress is not None and self.workers.syncing():
            progress.start(say("service.waiting_turn"))  # the command shows why nothing moves yet
        try:
            with self.workers.turn() if op.exclusive else contextlib.nullcontext():
                result = op.fn(self.graph, engine, **params, **extra)
            crash_point("operator.executed")  # done, its outcome not yet audited (tests only)
        except OperationError as exc:
            return 422, {"message": exc.message, "exit_code": exc.exit_code}, "error"
        except ServiceStopping:
            return 503, {"message": say("service.shutting_down"), "exit_code": 1}, "error"
        except TypeError as exc:  # its kind, never its text (which may quote a value)
            problem = type(exc).__name__
            return 400, {"message": say("operator.bad_parameters", problem=problem), "exit_code": 2}, "error"
        except GraphStoreError as exc:  # the store failed under the operation: audited, one line, exit 1
            log.error("operator %s failed: %s", name, exc)
            return 500, {"message": say("operator.graph_failed", reason=exc), "exit_code": 1}, "error"
        except Exception as exc:  # audited like any other call; the details go to the service log only
            log.exception("operator %s failed", name)
            return 500, {"message": say("operator.failed", kind=type(exc).__name__), "exit_code": 1}, "error"
        return 200, result, "allow"

    def _stream(self, request: Request, name: str, op: Operation, params: dict[str, Any]) -> Response:
        """An operation that reports progress: the answer streams its phases as JSON lines, every
        PROGRESS_INTERVAL, and ends with a line carrying the status and the result (or the error).
        The operation and its audit entry are one task that outlives the connection: a command
        stopped by Ctrl-C leaves the operation to finish, and it is audited either way; the last line
        is sent only after the entry is written."""
        phases = Phases()

        async def work() -> tuple[int, dict[str, Any]]:
            status, body, decision = await run_in_threadpool(self._execute, name, op, params, phases)
            try:
                await run_in_threadpool(
                    self._record, request, name, decision, status, (), _size(body) if status == 200 else 0
                )
            except AuditUnavailable:
                return 503, {"message": _audit_down(), "exit_code": 2}
            return status, body

        task = asyncio.ensure_future(work())
        self._running.add(task)  # held until done: the connection may go first
        task.add_done_callback(self._running.discard)

        async def lines() -> AsyncIterator[bytes]:
            while not task.done():
                yield _line({"phases": phases.snapshot()})
                await asyncio.wait({task}, timeout=PROGRESS_INTERVAL)
            status, body = task.result()
            key = "result" if status == 200 else "error"
            yield _line({"phases": phases.snapshot(), "status": status, key: body})

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def _finish(
        self, request: Request, name: str, status: int, body: dict[str, Any], decision: str
    ) -> Response:
        try:
            await run_in_threadpool(
                self._record, request, name, decision, status, (), _size(body) if status == 200 else 0
            )
        except AuditUnavailable:
            return _refuse(503, _audit_down())
        return JSONResponse(body, status_code=status)

    async def sync(self, request: Request) -> Response:
        if (refused := await self._guard(request, "sync")) is not None:
            return refused
        try:
            params = await request.json()
        except ValueError:
            params = None
        batch_size = params.get("batch_size") or 20_000 if isinstance(params, dict) else None
        if not isinstance(params, dict) or type(batch_size) is not int or batch_size < 1:
            problem = "batch_size" if isinstance(params, dict) else "JSON"
            body = {"message": say("operator.bad_parameters", problem=problem), "exit_code": 2}
            return await self._finish(request, "sync", 400, body, "error")
        sources = params.get("sources") or None
        from_dir = params.get("from_dir")
        try:
            await run_in_threadpool(self._record, request, "sync", "allow", 202)
        except AuditUnavailable:
            return _refuse(503, _audit_down())
        try:
            job = self.workers.submit_sync(
                list(sources) if sources else None,
                export_dir=Path(from_dir) if from_dir else None,
                batch_size=batch_size,
            )
        except ServiceStopping:
            return _refuse(503, say("service.shutting_down"))

        async def lines() -> AsyncIterator[bytes]:
            while True:
                snapshot = job.as_json()
                yield (json.dumps(snapshot, ensure_ascii=False) + "\n").encode()
                if snapshot["status"] in ("completed", "failed"):
                    return
                await asyncio.sleep(PROGRESS_INTERVAL)

        return StreamingResponse(lines(), status_code=202, media_type="application/x-ndjson")


def _audit_down() -> str:
    return say("operator.audit_down")


def _size(body: dict[str, Any]) -> int:
    return len(body["rows"]) if isinstance(body.get("rows"), list) else 1


def _line(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False) + "\n").encode()


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message, "exit_code": 2}, status_code=status)
