"""`shouhu serve`: the API, and beside it the background workers and the operator socket, in one process
that owns the embedded stores.

Start: the stores are checked (and an unopenable graph rebuilt from the record) before the API opens
them; then the process that leads (always, in embedded mode; the holder of the PostgreSQL advisory
lock in scale-out mode) starts the workers and the operator socket. Stop (SIGTERM or Ctrl-C): the API
stops taking requests and finishes the ones in flight, the operator socket closes, a running sync
stops at its next batch boundary (what it committed is kept; the next run resumes), the outbox worker
ends its round, and the stores close with a checkpoint, so no write-ahead log is left to replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette

from kernel.settings import Settings
from shouhu.service.election import Election
from shouhu.service.operator import OperatorEndpoint, bind_socket, ensure_secret, socket_path
from shouhu.service.workers import Workers

if TYPE_CHECKING:
    from auth.policy import Policy

log = logging.getLogger("shouhu.service")


class Service:
    """The background half of `shouhu serve`, entered by the app's lifespan (api.app ``background``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workers: Workers | None = None
        self.election: Election | None = None
        self._operator: uvicorn.Server | None = None
        self._operator_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app: Starlette | None = None

    @contextlib.asynccontextmanager
    async def __call__(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._app = app
        self.election = Election(app.state.sql, self._elected, self._lost)
        self.election.start()
        try:
            yield
        finally:
            await self._stop_operator()
            self.election.stop()
            if self.workers is not None:
                await asyncio.to_thread(self.workers.stop)
            log.info("background workers stopped")

    # ---- leadership ---------------------------------------------------------------------------

    def _elected(self) -> None:
        """Start the workers and the operator socket (called once per lead, from any thread)."""
        if self._app is None or self._loop is None:
            return
        self.workers = Workers(
            self.settings, self._app.state.sql, self._app.state.graph, policy=self._app.state.policy
        )
        self.workers.start()
        coro = self._start_operator()
        if _in_loop(self._loop):
            self._loop.create_task(coro)
        else:
            asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def _lost(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._stop_operator(), self._loop).result(timeout=30)
        if self.workers is not None:
            self.workers.stop()
            self.workers = None

    # ---- the operator socket ------------------------------------------------------------------

    async def _start_operator(self) -> None:
        if self._app is None or self.workers is None or self._operator is not None:
            return
        secret = ensure_secret(self.settings)
        endpoint = OperatorEndpoint(
            self.settings, self._app.state.sql, self._app.state.graph, self.workers, secret
        )
        sock = bind_socket(self.settings)
        config = uvicorn.Config(endpoint.app(), lifespan="off", log_level="warning", access_log=False)
        self._operator = uvicorn.Server(config)
        # _serve, not serve: the API's server owns the process's signals; this one is stopped by it.
        self._operator_task = asyncio.create_task(self._operator._serve([sock]))
        log.info("operator endpoint on %s", socket_path(self.settings))

    async def _stop_operator(self) -> None:
        if self._operator is None:
            return
        self._operator.should_exit = True
        if self._operator_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._operator_task, timeout=15)
        with contextlib.suppress(FileNotFoundError):
            socket_path(self.settings).unlink()
        self._operator = None
        self._operator_task = None


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def serve(
    settings: Settings, host: str, port: int, *, policy: Policy | None = None, **uvicorn_options: Any
) -> None:
    """Run the service until SIGTERM or Ctrl-C (the stores are opened by the app's lifespan).
    ``policy``: the one `shouhu serve` checked before starting, served as is (not read again)."""
    from api.app import create_app
    from kernel.logs import withhold_exception_text

    withhold_exception_text(settings)  # before any line is logged (kernel/logs.py)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    app = create_app(settings, background=Service(settings), policy=policy)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=15,
        **uvicorn_options,
    )
