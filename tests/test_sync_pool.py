"""``shouhu sync`` bounds its LadybugDB buffer pool unless one is set (issue 12: peak RSS).

The engine's default share is 80% of RAM, and the sync's store only reopens itself (freeing the
pool) once the pool is 40% used, so an unset pool let a county's sync grow by gigabytes. The sync
now opens the graph with ``SHOUHU_SYNC_BUFFER_POOL_MB`` when ``SHOUHU_GRAPH_BUFFER_POOL_MB`` is 0;
an explicit graph pool still wins.

The pool is bounded by what one graph transaction needs above the reopen line: a 200,000-person
county's 20,000-record batch in one transaction failed in 1 GB ('buffer pool is full') and took a
4 GB pool; the sync now writes a batch in transactions of ``sync_graph_tx_records`` records
(tests/test_sync_parts.py), so the default is 1.5 GB and the part, not the batch, sets the need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from graph.ladybug import LadybugStore
from kernel.settings import get_settings
from shouhu.cli import app


def _pool_of_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> list[int]:
    for k in ("SHOUHU_GRAPH_BUFFER_POOL_MB", "SHOUHU_SYNC_BUFFER_POOL_MB"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    opened: list[int] = []
    original = LadybugStore.__init__

    def spy(self: LadybugStore, path: Path, buffer_pool_mb: int = 0, *rest: Any) -> None:
        opened.append(buffer_pool_mb)
        original(self, path, buffer_pool_mb, *rest)

    monkeypatch.setattr(LadybugStore, "__init__", spy)
    export = tmp_path / "export"
    export.mkdir()
    get_settings.cache_clear()
    try:
        CliRunner().invoke(app, ["sync", "--from", str(export)])
    finally:
        get_settings.cache_clear()
    return opened


def test_sync_opens_the_graph_with_the_sync_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _pool_of_sync(tmp_path, monkeypatch, {"SHOUHU_SYNC_BUFFER_POOL_MB": "96"})
    assert opened and set(opened) == {96}


def test_an_explicit_graph_pool_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = _pool_of_sync(
        tmp_path, monkeypatch, {"SHOUHU_GRAPH_BUFFER_POOL_MB": "80", "SHOUHU_SYNC_BUFFER_POOL_MB": "96"}
    )
    assert opened and set(opened) == {80}


def test_the_default_sync_pool_is_bounded_and_a_batch_is_written_in_smaller_parts() -> None:
    unset = get_settings().model_copy(update={"graph_buffer_pool_mb": 0})
    assert 0 < unset.for_sync().graph_buffer_pool_mb <= 1536
    # a 20,000-record batch (the CLI's default) is several graph transactions, not one
    assert unset.sync_graph_tx_records <= 5_000
