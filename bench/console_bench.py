"""The console's time to first render of a child's profile in headless Chromium.

The real app on a loopback port (policy, audit and all), a small synthetic family, the police
identity signed in through the sign-in page; then N full navigations to the profile URL, each
timed by the page's own Performance API: from navigation start (performance.timeOrigin) to the
first animation frame in which the profile's facts are in the document. The first navigation
(empty HTTP cache) is reported apart from the warm ones.

The profile is drawn in parts (the child's facts and verdict first): both the first render and
the whole file (`#profile[data-state=complete]`) are timed, and every GraphQL request of the
warm navigations is counted with its server time (request sent → first byte), by operation.

The village phone page is timed the same way, signed in as the village's 儿童主任, to the moment
its child picker is filled: the children of a village of VILLAGE_PEOPLE (a large village, about
three times a demo-county village of `shouhu demo generate --persons 20000`; a third of them
children) are read from villageChildren (500 a request) and offered.
"""

from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

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
VILLAGE_RUNS = 15
VILLAGE_PEOPLE = 1200
PROFILE = "person:child"


VILLAGE_CREDS: list[str] = []


def _crowd(store: object) -> None:
    """VILLAGE_PEOPLE more people in the family's village, a third of them children (seeded)."""
    import random
    from datetime import date

    from graph.model import node_id
    from graph.records import NodeRecord
    from tests.contract.test_graph_store import HUKOU, VILLAGE

    rng = random.Random(7)
    year = date.today().year
    people = [
        NodeRecord(
            node_id("Person", f"bench-{i:05d}"),
            {
                "division": VILLAGE,
                "name": "甲乙丙丁戊己庚辛"[i % 8] + "一二三四五六七八九十"[rng.randrange(10)] + str(i),
                "birth_date": f"{year - (rng.randrange(1, 18) if i % 3 == 0 else rng.randrange(18, 90))}-06-01",  # noqa: E501
                "sex": "MF"[i % 2],
            },
            HUKOU,
        )
        for i in range(VILLAGE_PEOPLE)
    ]
    store.upsert_nodes(people)  # type: ignore[attr-defined]


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
    _crowd(store)
    store.close()
    add_agency(
        engine,
        agency_id="ps-500101",
        name="police",
        agency_type="public_security",
        jurisdiction="500101000000",
    )
    creds = add_client(engine, agency_id="ps-500101", role="officer", scopes="read:identity", name="bench")
    add_agency(
        engine,
        agency_id="vc-500101001001",
        name="第一村民委员会",
        agency_type="village_committee",
        jurisdiction="500101001001",
    )
    village = add_client(
        engine,
        agency_id="vc-500101001001",
        role="child_welfare_supervisor",
        scopes="read:identity",
        name="bench",
    )
    engine.dispose()
    VILLAGE_CREDS.extend(village)
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
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
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
                complete: list[float] = []
                # Every GraphQL request of each warm navigation: its operation and the time from
                # sending the request to the first byte of the answer (the server's share).
                requests: list[tuple[str, float]] = []
                counting = [False]

                def _finished(req: Any) -> None:
                    if not counting[0] or not req.url.endswith("/graphql"):
                        return
                    body = req.post_data_json or {}
                    op = re.search(r"(?:query|mutation)\s+(\w+)", body.get("query", ""))
                    timing = req.timing
                    requests.append(
                        (op.group(1) if op else "?", timing["responseStart"] - timing["requestStart"])
                    )

                page.on("requestfinished", _finished)
                for n in range(runs + 1):
                    counting[0] = n > 0
                    page.goto(f"/console/person/{PROFILE}", wait_until="commit")
                    ms = page.wait_for_function(
                        "() => document.querySelector('#person-facts [data-field=\"person.name\"]')"
                        " ? performance.now() : null",
                        polling="raf",
                    ).json_value()
                    samples.append(float(ms) / 1000)
                    # The whole file: every part drawn (a console that draws it at once has no state).
                    done = page.wait_for_function(
                        "() => { const p = document.querySelector('#profile');"
                        " return p && (!p.dataset.state || p.dataset.state === 'complete')"
                        " ? performance.now() : null; }",
                        polling="raf",
                    ).json_value()
                    complete.append(float(done) / 1000)
                    page.wait_for_load_state("networkidle")
                counting[0] = False
                # The village page, as the 儿童主任 on a phone.
                phone = browser.new_page(base_url=base, viewport={"width": 390, "height": 844})
                phone.goto("/console/signin")
                phone.fill("#client-id", VILLAGE_CREDS[0])
                phone.fill("#client-secret", VILLAGE_CREDS[1])
                phone.select_option("#purpose", "screening")
                phone.click("#signin-submit")
                phone.wait_for_selector("#visit-child-count")
                village: list[float] = []
                for _ in range(VILLAGE_RUNS + 1):
                    phone.goto("/console/village", wait_until="commit")
                    try:
                        ms = phone.wait_for_function(
                            "() => document.querySelector('#visit-child option[value^=\"person:\"]')"
                            " ? performance.now() : null",
                            polling="raf",
                        ).json_value()
                    except PlaywrightTimeout:  # a page that offers no child is reported as such
                        break
                    village.append(float(ms) / 1000)
                offered = phone.locator("#visit-child-count").inner_text()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    cold, warm = samples[0], samples[1:]
    from bench.report import percentiles

    by_op: dict[str, list[float]] = defaultdict(list)
    for op, ms in requests:
        by_op[op].append(ms)
    bundle = sum(p.stat().st_size for p in (DIST / "assets").iterdir())
    write(
        "console",
        {
            "what": "navigation start → child profile facts rendered, headless Chromium, app on loopback",
            "browser": CHROMIUM,
            "profile_first_render_warm": percentiles(warm),
            "profile_first_render_cold_ms": round(cold * 1000, 3),
            "profile_complete_warm": percentiles(complete[1:]),
            "graphql_requests_per_profile": round(len(requests) / runs, 2),
            "graphql_server_ms_by_operation": {
                op: {"per_profile": round(len(ms) / runs, 2), **percentiles([m / 1000 for m in ms])}
                for op, ms in sorted(by_op.items())
            },
            "village_people": VILLAGE_PEOPLE + 4,
            "village_children_offered": offered,
            "village_page_first_render_warm": percentiles(village[1:]) if len(village) > 2 else None,
            "village_page_first_render_cold_ms": round(village[0] * 1000, 3) if village else None,
            "bundle_bytes": bundle,
        },
    )


if __name__ == "__main__":
    run()
