"""A Bundle written one entry a line whose line parses as JSON but is no object (``null,``,
``[1,2],``): that line is quarantined as its own record with a reason naming the file and the line,
and the rest of the file and of the source loads. Before, ``_bundle`` raised AttributeError on it
and the whole health source failed. A generated county through ``shouhu sync --json``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from kernel.messages import say
from tests import test_connectors_support as support
from tests.test_connectors_cli import run

county = support.county


def test_a_line_that_is_no_object_is_that_lines_record_only(county: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    shutil.copytree(county, export)
    path = sorted((export / "health").glob("*.json"))[0]
    rel = path.relative_to(export / "health").as_posix()
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0].rstrip().endswith('"entry":[') and len(lines) > 6, "one entry a line"
    entries = sum(1 for line in lines[1:] if line.strip().startswith("{"))
    lines.insert(2, "null,")  # line 3 of the file
    lines.insert(4, "[1,2],")  # line 5
    path.write_text("\n".join(lines), encoding="utf-8")

    data = tmp_path / "data"
    out = run(["sync", "--from", str(export), "health", "--json"], data)
    assert out.stdout, out.stderr
    report = json.loads(out.stdout)
    (health,) = report["sources"]
    assert health["status"] != "failed", health.get("error")
    note = next(f for f in health["files"] if f["file"] == rel)
    assert note["status"] == "read" and note["records"] == entries + 2, note

    with sqlite3.connect(data / "shouhu.sqlite3") as conn:
        bad = dict(
            conn.execute(
                "SELECT record_id, reason FROM landing_record WHERE source = 'health' "
                "AND status = 'quarantined' AND record_id IN (?, ?)",
                (f"{rel}#3", f"{rel}#5"),
            ).fetchall()
        )
        loaded = conn.execute(
            "SELECT count(*) FROM landing_record WHERE source = 'health' "
            "AND origin LIKE ? AND status = 'loaded'",
            (f"{rel}#%",),
        ).fetchone()[0]
    assert bad == {
        f"{rel}#3": say("reject.fhir_entry_not_object", file=rel, line=3, what="null"),
        f"{rel}#5": say("reject.fhir_entry_not_object", file=rel, line=5, what="array"),
    }
    assert loaded > 0
