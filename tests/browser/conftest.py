"""The real app on a loopback port, a synthetic county, real agency identities, and Debian's
headless Chromium driven by Playwright (no browser download: executable_path is the system one).

CI installs Chromium through `make test`; SHOUHU_SKIP_BROWSER=1 skips these tests where it cannot.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.console import DIST
from kernel.settings import Settings
from tests.api_fixtures import AGENCIES, register
from tests.contract.test_graph_store import family

# The agencies' public names, as a county would register them (the console shows names, not ids).
AGENCY_NAMES = {
    "police": "宁川县公安局",
    "village": "双大镇第一村民委员会",
    "village2": "石桥镇第一村民委员会",
    "school": "双大镇中心小学",
    "analyst": "宁川县民政局数据分析室",
    "doctor": "宁川县人民医院",
    "auditor": "宁川县审计局",
    "civil": "宁川县民政局",
    "township": "双大镇人民政府",
    "court": "宁川县人民法院",
    "police2": "石门县公安局",
    "township2": "石桥镇人民政府",
    "county": "宁川县民政局（主管）",
}

CHROMIUM = os.environ.get("SHOUHU_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# axe-core, a devDependency of the console: the walks inject it into each page.
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


def _need_browser() -> None:
    if Path(CHROMIUM).is_file():
        return
    if os.environ.get("SHOUHU_SKIP_BROWSER") == "1":
        pytest.skip(f"browser tests skipped (SHOUHU_SKIP_BROWSER=1): no {CHROMIUM}")
    pytest.fail(
        f"browser tests need Debian's chromium at {CHROMIUM}: run `make test` (installs it), or "
        "`apt-get install -y chromium`, or set SHOUHU_SKIP_BROWSER=1 to skip them",
        pytrace=False,
    )


def _ensure_build() -> None:
    """`make test` installs the console's packages and builds it first; a bare pytest run does here
    what is missing, once. The packages are checked apart from the build: the walks inject axe-core
    from them, and a console built elsewhere (or packages removed after the build) has the one
    without the other."""
    steps = [] if AXE.is_file() else [["ci", "--no-audit", "--no-fund"]]
    steps += [] if (DIST / "index.html").is_file() else [["run", "build"]]
    if not steps:
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "the console's packages or build are missing and npm is missing: run `make console`",
            pytrace=False,
        )
    for args in steps:
        subprocess.run([npm, *args, "--prefix", str(ROOT / "console")], check=True, capture_output=True)


@pytest.fixture(scope="session")
def console_build() -> None:
    """The console's packages (axe-core among them) and its build, for a test that needs no server."""
    _ensure_build()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base: str
    settings: Settings
    credentials: dict[str, tuple[str, str]]
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def token(self, who: str, purpose: str = "case_work") -> str:
        if (who, purpose) not in self._tokens:
            cid, secret = self.credentials[who]
            r = httpx.post(
                f"{self.base}/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret)
            )
            r.raise_for_status()
            self._tokens[who, purpose] = r.json()["access_token"]
        return self._tokens[who, purpose]

    def gql(self, who: str, query: str, variables: dict | None = None, purpose: str = "case_work") -> dict:
        """A direct API call, to check what the browser did (never to do it for the browser)."""
        r = httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token(who, purpose)}", "X-Purpose-Of-Use": purpose},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()


UNCLE_ID_NUMBER = "500101197503082311"
CROWD = 130  # children in the second village: more than one page of the API (100)


def populate(store: object) -> None:
    """The family of the contract tests, and a second village with many children and a few adults
    (the phone page must offer every child and no adult)."""
    from datetime import date

    from graph.model import node_id
    from graph.records import NodeRecord
    from tests.contract.test_graph_store import HUKOU, VILLAGE2

    family(store)  # type: ignore[arg-type]
    year = date.today().year
    people = [
        NodeRecord(
            node_id("Person", f"v2-child-{i:03d}"),
            {
                "division": VILLAGE2,
                "name": f"乙{'一二三四五六七八九十'[i % 10]}{i:03d}",
                "birth_date": f"{year - 3 - i % 13}-05-01",
                "sex": "MF"[i % 2],
            },
            HUKOU,
        )
        for i in range(CROWD)
    ] + [
        NodeRecord(
            node_id("Person", f"v2-adult-{i}"),
            {"division": VILLAGE2, "name": f"丙成{i}", "birth_date": f"{year - 20 - i}-01-01", "sex": "M"},
            HUKOU,
        )
        for i in range(5)
    ]
    store.upsert_nodes(people)  # type: ignore[attr-defined]
    # A second left-behind child of the first village, both parents away, an entrusted
    # grandmother and no agreement yet: the agreements journey records one at each width.
    from graph.records import RelRecord
    from tests.contract.test_graph_store import SURVEY, person

    store.upsert_nodes(  # type: ignore[attr-defined]
        [
            person("lb2", name="壬癸", birth_date="2017-06-01", sex="M", hukou_type="rural"),
            person("lb2-father", name="壬甲", works_away=True),
            person("lb2-mother", name="癸乙", works_away=True),
            person("lb2-granny", name="壬丙", guardianship_capacity=True),
        ]
    )
    p = lambda k: node_id("Person", k)  # noqa: E731
    store.upsert_rels(  # type: ignore[attr-defined]
        [
            RelRecord("PARENT_OF", p("lb2-father"), p("lb2"), {"role": "father"}, HUKOU),
            RelRecord("PARENT_OF", p("lb2-mother"), p("lb2"), {"role": "mother"}, HUKOU),
            RelRecord(
                "GUARDIAN_OF", p("lb2-granny"), p("lb2"), {"kind": "entrusted", "since": "2024-02-01"}, SURVEY
            ),
        ]
    )
    # The uncle's resident ID number: how a court names him as a new guardian (he is outside its
    # row scope, so it cannot pick him by name).
    store.upsert_nodes(  # type: ignore[attr-defined]
        [
            NodeRecord(
                node_id("Person", "uncle"),
                {"division": VILLAGE2, "name": "甲辛", "id_number": UNCLE_ID_NUMBER},
                HUKOU,
            )
        ]
    )


def _name_agencies(settings: Settings) -> None:
    """register() names each agency by its test key; give them their Chinese names."""
    from sqlmodel import Session

    from auth.tables import Agency
    from kernel.db import make_engine

    engine = make_engine(settings.sql_url)
    with Session(engine) as s:
        for key, (agency_id, *_rest) in AGENCIES.items():
            agency = s.get(Agency, agency_id)
            if agency is not None:
                agency.name = AGENCY_NAMES[key]
                s.add(agency)
        s.commit()
    engine.dispose()


def serve(data: Path, **settings_: Any) -> Iterator[Server]:
    """The app on a free loopback port over a fresh synthetic county kept under `data`, until the
    generator is closed; `settings_` are settings of its own (a console timeout a test can wait out)."""
    _need_browser()
    _ensure_build()
    port = _free_port()
    data.mkdir()
    settings = Settings(data_dir=data, graph_buffer_pool_mb=256, host="127.0.0.1", port=port, **settings_)
    credentials = register(settings, AGENCIES, populate)
    _name_agencies(settings)
    uv = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=uv.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start", pytrace=False)
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", settings, credentials)
    finally:
        uv.should_exit = True
        thread.join(timeout=15)


# One server per test module: the journeys change what they find (reports filed, cases walked, a
# court's new guardian), so modules sharing a server passed or failed by the order they ran in.
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory.mktemp("console") / "data")


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server for one test alone: for a test that leaves behind more than the module's other
    tests can live with (a log of hundreds of entries, which pushed theirs onto later pages)."""
    yield from serve(tmp_path / "data")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    _need_browser()
    # What the user waits for, waited for as long as a busy machine takes: CI runs the suite on two
    # cores with both workers busy, where a change and the redraw after it (a measure recorded, an
    # intervention saved, a sign-in) took more than Playwright's default 5 s and failed journeys
    # that were right, only slow. A test that never gets the state still fails, 15 s later.
    expect.set_options(timeout=15_000)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Shots:
    """Numbered screenshots of each step, kept under tests/browser/artifacts/<test>/."""

    def __init__(self, name: str) -> None:
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.n = 0

    def __call__(self, page: object, step: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


class Held:
    """The first GraphQL request of the page that `match` picks (its query text and variables) is
    held back, answered only on `release`: a slow connection's answers, in the order a test needs
    (an older answer coming after a newer one). Every other request goes through."""

    def __init__(self, page: object, match: Callable[[str, dict], bool]) -> None:
        self.page = page
        self.routes: list[object] = []

        def handler(route: object) -> None:
            try:
                body = json.loads(route.request.post_data or "{}")  # type: ignore[attr-defined]
            except ValueError:
                body = {}
            if not self.routes and match(body.get("query", ""), body.get("variables") or {}):
                self.routes.append(route)
            else:
                route.continue_()  # type: ignore[attr-defined]

        page.route("**/graphql", handler)  # type: ignore[attr-defined]

    def release(self) -> None:
        """Let the held answer through and wait until the page has handled it: the whole body
        received, then a task and two frames for the page's code to draw it (or leave it)."""
        assert self.routes, "the request to hold was not made"
        route = self.routes[0]
        with self.page.expect_response(lambda r: r.request == route.request) as answer:  # type: ignore[attr-defined]
            route.continue_()  # type: ignore[attr-defined]
        answer.value.finished()
        self.page.evaluate(  # type: ignore[attr-defined]
            "() => new Promise(r => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r))))"
        )
