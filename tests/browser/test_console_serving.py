"""How the app serves the console: the build, the SPA fallback, the headers, and a missing build.

No browser here: these run against a small stand-in build in a temporary directory, so they
check api/console.py itself whatever state console/dist is in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.console import CSP, console_routes
from auth.policy import Policy
from kernel.settings import Settings

INDEX = '<!doctype html><script type="module" src="/console/assets/app-1a2b.js"></script>'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text(INDEX, encoding="utf-8")
    (d / "assets" / "app-1a2b.js").write_text("console.log('shouhu')", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside the build", encoding="utf-8")
    return d


def client(tmp_path: Path, dist: Path) -> TestClient:
    return TestClient(Starlette(routes=console_routes(Policy.load(), dist)))


def test_index_and_app_routes_are_served_with_a_strict_policy_and_no_store(
    tmp_path: Path, dist: Path
) -> None:
    c = client(tmp_path, dist)
    for path in ("/console/", "/console/person/person:child", "/console/network/person~abc?depth=2"):
        r = c.get(path)
        assert r.status_code == 200, path
        assert r.text == INDEX
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
    # Nothing but this origin: no CDN, no inline script or style.
    assert "http" not in CSP and "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP


def test_bundles_are_immutable_and_a_missing_bundle_is_404_not_html(tmp_path: Path, dist: Path) -> None:
    c = client(tmp_path, dist)
    r = c.get("/console/assets/app-1a2b.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert "immutable" in r.headers["cache-control"]
    missing = c.get("/console/assets/app-old.js")
    assert missing.status_code == 404
    assert "<script" not in missing.text


def test_paths_outside_the_build_are_never_served(tmp_path: Path, dist: Path) -> None:
    c = client(tmp_path, dist)
    for path in (
        "/console/../secret.txt",
        "/console/%2e%2e/secret.txt",
        "/console/assets/%2e%2e/%2e%2e/secret.txt",
    ):
        r = c.get(path)
        assert "outside the build" not in r.text, path


def test_bare_prefix_redirects_and_config_lists_the_policys_purposes(tmp_path: Path, dist: Path) -> None:
    c = client(tmp_path, dist)
    r = c.get("/console", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/console/"
    cfg = c.get("/console/config.json").json()
    codes = {p["code"]: p["zh"] for p in cfg["purposes"]}
    assert codes["audit"] == "审计监督" and "statistics" in codes and "screening" in codes
    assert cfg["policy_version"]


def test_a_missing_build_is_a_clear_503(tmp_path: Path) -> None:
    c = client(tmp_path, tmp_path / "never-built")
    r = c.get("/console/person/person:child")
    assert r.status_code == 503
    assert "make console" in r.text and "npm run build" in r.text
    # The purposes still answer: they come from the policy, not the build.
    assert c.get("/console/config.json").status_code == 200


def test_root_redirects_to_the_console(tmp_path: Path) -> None:
    from api.app import create_app

    c = TestClient(create_app(Settings(data_dir=tmp_path / "data")))
    r = c.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console/"


@pytest.mark.parametrize(
    ("dev_mode", "graphiql", "served"),
    [(False, False, False), (False, True, False), (True, False, False), (True, True, True)],
)
def test_graphiql_only_in_development_mode_when_asked_for(
    tmp_path: Path, dev_mode: bool, graphiql: bool, served: bool
) -> None:
    from api.app import create_app

    settings = Settings(data_dir=tmp_path / "data", dev_mode=dev_mode, graphiql=graphiql)
    r = TestClient(create_app(settings)).get("/graphiql")
    assert (r.status_code == 200) is served, r.status_code
    if served:
        assert "GraphiQL" in r.text and 'const fetchURL = "/graphql"' in r.text
