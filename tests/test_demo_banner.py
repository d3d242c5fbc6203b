"""The demo sign-in banner names the console where `shouhu serve` will really listen."""

from __future__ import annotations

import os
from pathlib import Path

from tests.test_cli import run


def test_demo_identities_print_the_configured_host_and_port(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    env = {
        **clean,
        "SHOUHU_DATA_DIR": str(tmp_path / "data"),
        "SHOUHU_GRAPH_BUFFER_POOL_MB": "256",
        "SHOUHU_HOST": "127.0.0.2",
        "SHOUHU_PORT": "8765",
    }
    out = run(["demo", "identities"], env)
    assert out.returncode == 0, out.stderr
    assert "http://127.0.0.2:8765/console/" in out.stdout
    assert ":8000" not in out.stdout
