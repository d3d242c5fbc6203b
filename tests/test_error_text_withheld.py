"""Error texts stored before they were withheld are withheld on upgrade (migration 0014).

Until stop 24 a failed sync kept ``<ExceptionClass>: <its text>`` as its run's error, and a record
whose interpretation raised kept the same as its quarantine reason; SQLAlchemy's text carried the
rows it was inserting (names, ID numbers). A store written then is upgraded here, and what the
operator reads (``shouhu runs --json``, ``shouhu quarantine list --json``) no longer holds them.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from connectors.tables import LandingRecord, SyncRun
from kernel.db import make_engine, session
from kernel.db.schema import migrate
from kernel.messages import say
from tests.test_connectors_cli import SHOUHU, _env


def _a_person(tmp_path: Path) -> tuple[str, str]:
    """A synthetic child's name and ID number, from a small generated county's survey forms."""
    from connectors.synthetic import generate

    generate(tmp_path / "county", 300, 5)
    for path in sorted((tmp_path / "county" / "survey").glob("*.json")):
        for form in json.loads(path.read_text(encoding="utf-8")):
            child = form.get("child") or {}
            if isinstance(child.get("name"), str) and isinstance(child.get("id_number"), str):
                return child["name"], child["id_number"]
    raise AssertionError("the survey holds no child with a name and an ID number")


def test_an_upgraded_store_no_longer_shows_old_error_texts(tmp_path: Path) -> None:
    name, id_number = _a_person(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'shouhu.sqlite3'}")
    migrate(engine, "0013")
    sql_text = (
        "(sqlite3.IntegrityError) disk I/O error [SQL: INSERT INTO resolution_mention (name, id_number) "
        f"VALUES (?, ?)] [parameters: ('{name}', '{id_number}')]"
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with session(engine) as s:
        s.add(
            SyncRun(
                run_id="a" * 32,
                source="survey",
                status="failed",
                started_at=now,
                finished_at=now,
                report={"source": "survey", "error": f"IntegrityError: {sql_text}"},
                error=f"IntegrityError: {sql_text}",
            )
        )
        s.add(
            LandingRecord(
                source="survey",
                record_id="form-1",
                kind="form",
                content_hash="0" * 64,
                payload="{}",
                origin="survey/forms.json:1",
                asserted_at=now,
                run_id="a" * 32,
                status="quarantined",
                reason_code="error.internal",
                reason=f"ValueError: no household for {id_number} ({name})",
            )
        )
        s.commit()
    migrate(engine)
    engine.dispose()

    env = _env(data)
    runs = subprocess.run([*SHOUHU, "runs", "--json"], env=env, capture_output=True, text=True, timeout=300)
    listed = subprocess.run(
        [*SHOUHU, "quarantine", "list", "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert runs.returncode == 0 and listed.returncode == 0, runs.stderr + listed.stderr
    shown = runs.stdout + listed.stdout
    assert name not in shown and id_number not in shown and "[SQL" not in shown, shown
    report = json.loads(runs.stdout.splitlines()[0])
    assert report["error"] == say("sync.error_withheld", kind="IntegrityError")
    assert say("reject.internal_error", kind="ValueError") in listed.stdout
