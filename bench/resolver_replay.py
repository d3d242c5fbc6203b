"""The resolver's share of a county sync, replayed: CPU-seconds of ``resolve_with_changes`` alone.

``capture`` syncs an input directory (``shouhu demo generate``) into a fresh data directory and
writes every batch the pipeline hands the resolver to a file, one pickle per batch. ``replay``
resolves those batches in order into a fresh store and reports user+sys seconds per batch and in
all (``resource.getrusage``: the machine is shared, wall time says little), and the partition of
mentions into people (person keys are random, so the partition is hashed), the review items and
the merges, so that two versions of the resolver can be compared on the same batches: run it with
``PYTHONPATH`` set to each checkout. Results go to stdout as JSON; the figures of a change are
recorded by hand under its key in ``bench/results/resolution.json``.

    PYTHONPATH=. .venv/bin/python -m bench.resolver_replay capture --from IN --data DIR --out B.pkl
    PYTHONPATH=. .venv/bin/python -m bench.resolver_replay replay --batches B.pkl --data DIR
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import pickle
import resource
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cli(*args: str) -> None:
    """``shouhu ARGS`` in this process, its output dropped."""
    from shouhu.cli import main

    sys.argv = ["shouhu", *args]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main()


def _fresh_store(data: Path) -> None:
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    os.environ["SHOUHU_DATA_DIR"] = str(data)
    _cli("init")


def capture(source: Path, data: Path, out: Path) -> dict[str, int]:
    """Sync ``source`` into ``data``, writing each resolver batch to ``out``."""
    _fresh_store(data)
    from connectors.resolution import resolver

    original = resolver.resolve_with_changes
    counts = {"batches": 0, "mentions": 0}
    with out.open("wb") as fh:

        def recorded(engine: Any, mentions: Any, **kwargs: Any) -> Any:
            pickle.dump((list(mentions), kwargs.get("today"), kwargs.get("settings")), fh, protocol=5)
            counts["batches"] += 1
            counts["mentions"] += len(mentions)
            return original(engine, mentions, **kwargs)

        resolver.resolve_with_changes = recorded  # type: ignore[assignment]
        try:
            _cli("sync", "--from", str(source), "--json")
        finally:
            resolver.resolve_with_changes = original  # type: ignore[assignment]
    return counts


def _batches(path: Path) -> Iterator[tuple[Any, Any, Any]]:
    with path.open("rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


def replay(batches: Path, data: Path) -> dict[str, Any]:
    """Resolve the captured batches into a fresh store under ``data``; CPU and outcome."""
    _fresh_store(data)
    from connectors.resolution.resolver import resolve_with_changes
    from kernel.db import make_engine

    engine = make_engine(f"sqlite:///{(data / 'shouhu.sqlite3').as_posix()}")
    per_batch: list[float] = []
    start, wall = _cpu(), time.perf_counter()
    for mentions, today, settings in _batches(batches):
        before = _cpu()
        resolve_with_changes(engine, mentions, today=today, settings=settings)
        per_batch.append(round(_cpu() - before, 2))
    total = round(_cpu() - start, 2)
    engine.dispose()
    return {
        "resolve_cpu_s": total,
        "wall_s": round(time.perf_counter() - wall, 1),
        "per_batch_cpu_s": per_batch,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **outcome(data / "shouhu.sqlite3"),
    }


def outcome(db: Path) -> dict[str, Any]:
    """Hashes of what the resolver decided, independent of its random person keys."""
    con = sqlite3.connect(db)
    try:
        people: dict[str, list[str]] = {}
        for key, system, record in con.execute("SELECT person_key, system, record_id FROM person_link"):
            people.setdefault(key, []).append(f"{system}\x1f{record}")
        partition = sorted(tuple(sorted(v)) for v in people.values())
        reviews = sorted(
            con.execute(
                "SELECT left_system, left_record_id, right_system, right_record_id, round(score, 9), reason"
                " FROM review_item"
            ).fetchall()
        )
        first = {key: min(v) for key, v in people.items()}
        merges = [
            (first.get(absorbed), len(json.loads(moved)), decided_by)
            for absorbed, moved, decided_by in con.execute(
                "SELECT absorbed_key, moved, decided_by FROM merge_history ORDER BY id"
            )
        ]
    finally:
        con.close()

    def digest(x: object) -> str:
        return hashlib.sha256(repr(x).encode()).hexdigest()[:16]

    return {
        "people": len(people),
        "partition": digest(partition),
        "review_items": len(reviews),
        "reviews": digest(reviews),
        "merges": len(merges),
        "merge_history": digest(merges),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.resolver_replay")
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("--from", dest="source", type=Path, required=True)
    cap.add_argument("--data", type=Path, required=True)
    cap.add_argument("--out", type=Path, required=True)
    rep = sub.add_parser("replay")
    rep.add_argument("--batches", type=Path, required=True)
    rep.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "capture":
        result: dict[str, Any] = capture(args.source, args.data.resolve(), args.out)
    else:
        result = replay(args.batches, args.data.resolve())
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
