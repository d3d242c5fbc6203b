"""Real servers on loopback for the federation test: uvicorn in threads, Node tools as processes.

A router talks HTTP to its subgraphs, so the in-process TestClient the other API tests use is not
enough here: every service gets a real socket on 127.0.0.1, and every one is stopped again,
whatever the test's outcome, by the fixtures that started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

REPO = Path(__file__).resolve().parents[2]
GATEWAY_DIR = REPO / "tools" / "gateway"
GATEWAY_BIN = GATEWAY_DIR / "node_modules" / ".bin"


def free_port() -> int:
    """A port the kernel just handed out on loopback; the tiny race to reuse it is acceptable here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UvicornThread:
    """An ASGI app served by uvicorn on 127.0.0.1 from a daemon thread of the test process.

    A thread rather than a subprocess keeps the app's objects (e.g. what a subgraph saw) visible
    to the test; uvicorn installs no signal handlers off the main thread, so pytest keeps its own.
    """

    def __init__(self, app: ASGIApp, port: int, name: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def start(self, timeout: float = 20.0) -> UvicornThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"{self.thread.name} exited before it started serving")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.thread.name} did not start within {timeout} s")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)


def node_tool(name: str) -> str:
    """Path of a CLI installed by `npm ci --prefix tools/gateway`."""
    return str(GATEWAY_BIN / name)


def node_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for the Node tools: no proxies (all traffic is loopback), no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({"NO_COLOR": "1", "NODE_ENV": "production", "DO_NOT_TRACK": "1", **extra})
    return env


def node_available() -> bool:
    return shutil.which("node") is not None


class NodeProcess:
    """A long-running Node CLI in its own process group, logging to a file, stopped by its pid."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path) -> None:
        self.argv = list(argv)
        self.log = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so workers it may fork stop with it
        )

    def output(self) -> str:
        self._log.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """Until `url` answers 200; fails with the process's output if it dies or takes too long."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(url, timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} not ready within {timeout} s:\n{self.output()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
            except ProcessLookupError:
                pass
        self._log.close()
