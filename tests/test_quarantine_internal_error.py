"""A record whose interpretation fails unexpectedly is quarantined with the kind of error only.

The reason of such a record is shown where its payload is not (``shouhu quarantine list``, the
run report, the console's quarantine list); the exception's text can quote the record (a name, an
ID number), so the reason says the exception's class through the catalogue and nothing else.
Real survey input through the real CLI in a subprocess: a form the source does not expect, and a
source made to fail the way a bug quoting its record would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from kernel.messages import say
from tests.test_connectors_cli import SHOUHU, _env

PERSONS = 200
SEED = 13


def _export(tmp_path: Path, change: Any = None) -> tuple[Path, list[dict[str, Any]]]:
    """A county export holding the reference and one village's survey forms (the first village
    with two or more), ``change`` applied to the first form; the export and its forms."""
    from connectors.synthetic import generate

    county = tmp_path / "county"
    generate(county, PERSONS, SEED)
    export = tmp_path / "export"
    shutil.copytree(county / "reference", export / "reference")
    (export / "survey").mkdir()
    for path in sorted((county / "survey").glob("*.json")):
        forms = json.loads(path.read_text(encoding="utf-8"))
        if len(forms) >= 2 and forms[0]["child"]["id_number"]:
            if change is not None:
                change(forms[0])
            text = json.dumps(forms, ensure_ascii=False)
            (export / "survey" / path.name).write_text(text, encoding="utf-8")
            return export, forms
    raise AssertionError("the generated county has no village with two survey forms")


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*SHOUHU, *args], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-2000:]
    return out


def _quarantined(env: dict[str, str]) -> list[dict[str, Any]]:
    out = _cli(["quarantine", "list", "--json"], env)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_a_form_the_source_does_not_expect_is_quarantined_with_the_kind_of_error(tmp_path: Path) -> None:
    """A distress type that is a number, not a word: joining the form's summary raised a TypeError
    and its text ("sequence item 1: expected str instance, int found") became the reason."""
    export, forms = _export(tmp_path, lambda form: form.update(distress_types=["孤儿", 7]))
    env = _env(tmp_path / "data")
    _cli(["init"], env)
    _cli(["sync", "--from", str(export), "survey", "--json"], env)
    rows = _quarantined(env)
    assert [(r["record_id"], r["reason_code"]) for r in rows] == [(forms[0]["form_id"], "error.internal")]
    assert rows[0]["reason"] == say("reject.internal_error", kind="TypeError")
    assert "sequence item" not in _cli(["quarantine", "list"], env).stdout


def test_an_unexpected_error_quoting_the_record_keeps_it_out_of_every_listing(tmp_path: Path) -> None:
    """A source bug raising a ValueError that names the child's ID number (from the seeded
    generator): the quarantine list, the run report and the saved runs say ValueError only."""
    export, forms = _export(tmp_path)
    id_number = forms[0]["child"]["id_number"]
    env = _env(tmp_path / "data")
    _cli(["init"], env)
    code = (
        "import sys\n"
        "from connectors.sources.survey import SurveySource\n"
        "def boom(self, row, ref):\n"
        "    raise ValueError(f\"no household for {row.payload['child']['id_number']}\")\n"
        "SurveySource.standardise = boom\n"
        "from shouhu.cli import main\n"
        f"sys.argv = ['shouhu', 'sync', '--from', {str(export)!r}, 'survey', '--json']\n"
        "main()\n"
    )
    sync = subprocess.run([SHOUHU[0], "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert sync.returncode == 0, (sync.stdout + sync.stderr)[-2000:]
    shown = (
        sync.stdout
        + sync.stderr
        + _cli(["quarantine", "list"], env).stdout
        + _cli(["quarantine", "list", "--json"], env).stdout
        + _cli(["runs", "--json"], env).stdout
    )
    assert id_number not in shown
    rows = _quarantined(env)
    assert len(rows) == len(forms)
    assert {r["reason"] for r in rows} == {say("reject.internal_error", kind="ValueError")}
