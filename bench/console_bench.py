"""The console's time to first render of a child's profile in headless Chromium.

The real app on a loopback port (policy, audit and all), a small synthetic family, the police
identity signed in through the sign-in page; then N full navigations to the profile URL, each
timed by the page's own Performance API: from navigation start (performance.timeOrigin) to the
first animation frame in which the profile's facts are in the document. The first navigation
(empty HTTP cache) is reported apart from the warm ones.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from api.app import create_app
from api.console import DIST
from auth.identities import add_agency, add_client
from bench.report import write
from graph.factory import open_graph
from kernel.db import make_engine, migrate
from kernel.settings import Settings

CHROMIUM = "/usr/bin/chromium"
RUNS = 40
PROFILE = "person:child"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(data: Path, port: int) -> tuple[uvicorn.Server, threading.Thread, tuple[str, str]]:
    # The contract tests' family: a left-behind child, parents away, a grandmother as guardian.
    from tests.contract.test_graph_store import family

    settings = Settings(data_dir=data, graph_buffer_pool_mb=256, host="127.0.0.1", port=port)
    data.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sql_url)
    migrate(engine)
    store = open_graph(settings)
    family(store)
    store.close()
    add_agency(
        engine,
        agency_id="ps-500101",
        name="police",
        agency_type="public_security",
        jurisdiction="500101000000",
    )
    creds = add_client(engine, agency_id="ps-500101", role="officer", scopes="read:identity", name="bench")
    engine.dispose()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, creds


def run(runs: int = RUNS) -> None:
    from playwright.sync_api import sync_playwright

    if not (DIST / "index.html").is_file():
        raise SystemExit("the console is not built: run `make console` first")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server, thread, (cid, secret) = _serve(Path(tmp) / "data", port)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page(base_url=base, viewport={"width": 1280, "height": 900})
                page.goto("/console/signin")
                page.fill("#client-id", cid)
                page.fill("#client-secret", secret)
                page.select_option("#purpose", "case_work")
                page.click("#signin-submit")
                page.wait_for_selector("#who-agency")
                samples: list[float] = []
                for _ in range(runs + 1):
                    page.goto(f"/console/person/{PROFILE}", wait_until="commit")
                    ms = page.wait_for_function(
                        "() => document.querySelector('#person-facts [data-field=\"person.name\"]')"
                        " ? performance.now() : null",
                        polling="raf",
                    ).json_value()
                    samples.append(float(ms) / 1000)
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    cold, warm = samples[0], samples[1:]
    from bench.report import percentiles

    bundle = sum(p.stat().st_size for p in (DIST / "assets").iterdir())
    write(
        "console",
        {
            "what": "navigation start → child profile facts rendered, headless Chromium, app on loopback",
            "browser": CHROMIUM,
            "profile_first_render_warm": percentiles(warm),
            "profile_first_render_cold_ms": round(cold * 1000, 3),
            "graphql_requests_per_profile": 5,
            "bundle_bytes": bundle,
        },
    )


if __name__ == "__main__":
    run()
