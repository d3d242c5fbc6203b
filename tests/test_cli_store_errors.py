"""A relational-store error that ends a command: one catalogue line and exit code 2, nothing personal.

SQLAlchemy's error text carries the statement and its parameters (a record's payload: a child's
name, an ID number); a traceback carries it too. The store is made to fail while ``shouhu sync``
lands (a trigger on the landing table refuses every insert, the way a failing disk or a constraint
would), through the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from kernel.messages import say
from tests import test_connectors_support as support
from tests.test_connectors_cli import SHOUHU, _env

county = support.county


def _people(survey: Path) -> set[str]:
    """The names and ID numbers the survey forms hold (what must never be printed)."""
    found: set[str] = set()
    for path in survey.glob("*.json"):
        for form in json.loads(path.read_text(encoding="utf-8")):
            child = form.get("child") or {}
            for key in ("name", "id_number"):
                if isinstance(child.get(key), str) and len(child[key]) >= 2:
                    found.add(child[key])
    return found


def _sync_refused_at(table: str, county: Path, data: Path) -> tuple[dict[str, str], Any]:
    """``shouhu sync`` of the survey into a fresh data dir whose store refuses every insert into
    ``table`` (a trigger, the way a failing disk or a constraint would): its environment and result."""
    env = _env(data)
    init = subprocess.run([*SHOUHU, "init"], env=env, capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr
    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        conn.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    out = subprocess.run(
        [*SHOUHU, "sync", "--from", str(county), "survey", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return env, out


def test_a_store_error_while_landing_is_one_line_without_the_records(county: Path, tmp_path: Path) -> None:
    _, out = _sync_refused_at("landing_record", county, tmp_path / "data")
    text = out.stdout + out.stderr
    assert out.returncode == 2, text[-2000:]
    assert "Traceback" not in text and "parameters" not in text and "[SQL" not in text
    people = _people(county / "survey")
    assert people, "the survey forms hold names and ID numbers"
    assert not [p for p in people if p in text]
    assert " ".join(out.stderr.split()) == say(
        "cli.error", message=say("cli.store_failed", kind="IntegrityError")
    )


def test_a_store_error_while_processing_keeps_no_record_in_the_run(county: Path, tmp_path: Path) -> None:
    """Failing after landing, in resolution: the sync's own run record (``shouhu runs``) kept
    SQLAlchemy's whole text, the mention rows it was inserting (names, ID numbers) among its
    parameters. It keeps the kind of failure only."""
    env, out = _sync_refused_at("resolution_mention", county, tmp_path / "data")
    assert out.returncode == 2, (out.stdout + out.stderr)[-2000:]
    runs = subprocess.run([*SHOUHU, "runs", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert runs.returncode == 0, runs.stderr
    text = out.stdout + out.stderr + runs.stdout + runs.stderr
    assert "parameters" not in text and "[SQL" not in text and "Traceback" not in text
    people = _people(county / "survey")
    assert not [p for p in people if p in text]
    assert say("sync.process_failed", kind="IntegrityError") in runs.stdout


def test_a_failed_statement_does_not_carry_its_parameters(tmp_path: Path) -> None:
    """Every path that turns a store error into text (the service's log and job message, a run
    report) gets it without the values being written: the engine hides them."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from kernel.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": "synthetic-name-1"})
    with pytest.raises(IntegrityError) as failed, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": "synthetic-name-1"})
    assert "synthetic-name-1" not in str(failed.value)
    engine.dispose()


def _runs_failing_with(message: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``shouhu runs`` whose store operation raises an unexpected ValueError carrying ``message``
    (the way a bug handling a record would), through the real entry point in a subprocess."""
    code = (
        "import sys\n"
        "import shouhu.cli.stores as stores\n"
        "def boom(*args, **kwargs):\n"
        f"    raise ValueError({message!r})\n"
        "stores.run_operation = boom\n"
        "from shouhu.cli import main\n"
        "sys.argv = ['shouhu', 'runs']\n"
        "main()\n"
    )
    return subprocess.run([SHOUHU[0], "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_an_unexpected_error_is_one_line_without_its_text_unless_the_operator_asks(
    county: Path, tmp_path: Path
) -> None:
    """Any other exception ending a command printed Typer's traceback with the exception's text,
    which can quote the record at hand. One catalogue line naming the kind now, exit code 1; the
    traceback only with SHOUHU_ERROR_DETAIL=1."""
    person = sorted(_people(county / "survey"))[0]
    env = _env(tmp_path / "data")
    out = _runs_failing_with(f"no household for {person}", env)
    text = out.stdout + out.stderr
    assert out.returncode == 1, text[-2000:]
    assert person not in text and "Traceback" not in text
    assert " ".join(out.stderr.split()) == say(
        "cli.error", message=say("cli.internal_failed", kind="ValueError")
    )

    asked = _runs_failing_with(f"no household for {person}", {**env, "SHOUHU_ERROR_DETAIL": "1"})
    assert asked.returncode == 1 and person in asked.stderr and "Traceback" in asked.stderr
