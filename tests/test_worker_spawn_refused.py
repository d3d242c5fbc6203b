"""A first load whose worker processes cannot be started (the kernel refuses the fork: too many
processes, no memory for another interpreter) does their work in its own process, as when a worker
dies: the same record and graph as a run with its workers, every record accounted for, and a log
line for each worker that did not start. It failed the whole sync with the OSError before.

The refusal is injected where the workers are started (``kernel.worker_process``'s ``Popen``): a
root test process cannot make the kernel refuse a fork for real (RLIMIT_NPROC does not apply to
root). The sync runs through the CLI's entry point in this process."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.first_load_support import first_load_env, sync, verify

PERSONS = 300
# A first load from the register on: its rows alone pass this (so the other sources land ahead).
FIRST_LOAD = {"SHOUHU_SYNC_FIRST_LOAD_RECORDS": "100"}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from connectors.synthetic.generator import generate

    out = tmp_path_factory.mktemp("county") / "export"
    generate(out, PERSONS, 23)
    return out


@pytest.fixture(scope="module")
def want(export: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report of the same first load with its workers."""
    code, report, err = sync(export, tmp_path_factory.mktemp("with-workers") / "data", **FIRST_LOAD)
    assert code == 0 and report is not None, err[-2000:]
    assert report["total"]["unexplained"] == 0 and report["graph_build"]["written_ahead"] is not None
    return report


def _done_here_as_with_workers(got: dict[str, Any], want: dict[str, Any]) -> None:
    """The run without workers: nothing written ahead, and the record and graph of the run with them."""
    assert _graph_counts(got) == _graph_counts(want)
    assert got["total"]["unexplained"] == 0 and got["total"]["status"] == "completed"
    assert got["graph_build"]["written_ahead"] is None
    assert got["graph_build"]["nodes"] == want["graph_build"]["nodes"]
    assert got["graph_build"]["relationships"] == want["graph_build"]["relationships"]


def _graph_counts(report: dict[str, Any]) -> dict[str, Any]:
    return {
        s["source"]: (s["received"], s["loaded"], s["quarantined"], s["superseded"], s["by_reason"])
        for s in report["sources"]
    }


def _sync_in_process(export: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    from kernel.settings import get_settings
    from shouhu.cli import main

    for key, value in first_load_env(data, **FIRST_LOAD).items():
        if key.startswith("SHOUHU_"):
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    monkeypatch.setattr(sys, "argv", ["shouhu", "sync", "--from", str(export), "--json"])
    out = io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out):
            main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        get_settings.cache_clear()
    text = out.getvalue()
    return code, json.loads(text[text.index("{") :]) if "{" in text else {}


def test_a_first_load_whose_workers_cannot_start_does_their_work_and_builds_the_same_graph(
    export: Path,
    want: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from kernel import worker_process

    started: list[str] = []

    def refused(args: list[str], *a: Any, **kw: Any) -> subprocess.Popen[bytes]:
        started.append(args[3])  # [python, -P, -m, module, ...]
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(worker_process.subprocess, "Popen", refused)
    with caplog.at_level(logging.WARNING):
        code, got = _sync_in_process(export, tmp_path / "refused", monkeypatch)
    monkeypatch.undo()
    assert code == 0, got
    # Every worker a first load starts was asked for, and refused.
    assert set(started) == {"connectors.land_ahead", "connectors.spill_ahead", "graph.ladybug.build_worker"}
    _done_here_as_with_workers(got, want)
    verify(tmp_path / "refused")
    refusals = [r for r in caplog.records if "could not be started" in r.getMessage()]
    assert len(refusals) == 3, [r.getMessage() for r in caplog.records]


def test_a_worker_started_whose_reader_thread_cannot_start_is_stopped_and_its_work_done_here(
    export: Path,
    want: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fork succeeds but the thread that reads the worker's messages cannot start (the same
    process limit): the worker is stopped, not left running beside a sync doing its work."""
    import os

    from connectors import land_ahead, spill_ahead
    from tests.first_load_support import workers_of

    def no_thread(*a: Any, **kw: Any) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(land_ahead, "Lines", no_thread)
    monkeypatch.setattr(spill_ahead, "Lines", no_thread)
    with caplog.at_level(logging.WARNING):
        code, got = _sync_in_process(export, tmp_path / "no-thread", monkeypatch)
    monkeypatch.undo()
    assert code == 0, got
    _done_here_as_with_workers(got, want)
    for module in ("connectors.land_ahead", "connectors.spill_ahead"):
        assert workers_of(module, os.getpid()) == [], module
    refusals = [r for r in caplog.records if "could not be started" in r.getMessage()]
    assert len(refusals) == 2, [r.getMessage() for r in caplog.records]
