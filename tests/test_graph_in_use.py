"""A graph another process holds open is in use, not broken.

The self-healing open probes the embedded graph in a child process and sets aside what it cannot
open. A file lock held by a running sync or server made that probe fail too, and the open then moved
the live graph aside and rebuilt it: an operator's second command could swap the graph from under a
running sync. It must refuse in one line instead, and leave the file where it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.port import GraphStoreError
from kernel.db import make_engine, migrate
from kernel.messages import say
from kernel.settings import Settings
from protection.record import open_healed

HOLD = """
import sys, time, ladybug
db = ladybug.Database(sys.argv[1], buffer_pool_size=64 * 1024 * 1024)
conn = ladybug.Connection(db)
print("held", flush=True)
time.sleep(120)
"""


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUHU_")}
    return {**env, "SHOUHU_DATA_DIR": str(data), "SHOUHU_GRAPH_BUFFER_POOL_MB": "64"}


def test_a_graph_held_by_another_process_is_refused_not_set_aside(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", graph_buffer_pool_mb=64)
    settings.data_dir.mkdir()
    engine = make_engine(settings.sql_url)
    migrate(engine)
    open_healed(settings, engine).close()  # the graph exists
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(settings.graph_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(GraphStoreError, match=f"another process \\(PID {holder.pid}\\)"):
            open_healed(settings, engine)
        cli = subprocess.run(
            [sys.executable, "-m", "shouhu.cli", "graph", "verify"],
            env=_env(settings.data_dir),
            capture_output=True,
            text=True,
            timeout=120,
        )
        in_use = say("store.graph_in_use", data_dir=settings.data_dir, pid=holder.pid)
        expected = say("cli.error", message=in_use)
        assert cli.returncode == 2 and " ".join(cli.stderr.split()) == " ".join(expected.split()), cli.stderr
        assert len(cli.stderr.strip().splitlines()) == 1 and "Traceback" not in cli.stderr
        assert settings.graph_path.exists()
        assert not settings.graph_path.with_name(settings.graph_path.name + ".aside").exists()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.2)
    open_healed(settings, engine).close()  # once it is free, it opens as it was
    assert not settings.graph_path.with_name(settings.graph_path.name + ".aside").exists()
    engine.dispose()
