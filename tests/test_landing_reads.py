"""How the pipeline reads landing rows back: by the index of what it asks for, with the values the
standard library's JSON reader gives.

fetch_latest (a batch's references to records of earlier batches, a merge's re-projection) and
fetch_group (a household's loaded rows) ask for some hundred ids or groups at a time. With the row's
status in the statement SQLite walked the (source, status, seq) index instead, every loaded row of
the source once per chunk: 0.11 s a chunk at 84,000 health rows, growing with the county. These
tests look at the plan SQLite makes for each statement those reads send.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, update

from connectors import landing
from connectors.landing import RawRecord
from connectors.standardise import clean_text
from kernel import jsontext

T = landing.T
AT = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = "police_hukou"


def _land_households(engine: Engine, households: int, per: int = 4) -> None:
    """``households`` households of ``per`` members, all loaded, then one more household pending."""
    records = [
        RawRecord(f"r{h:05d}-{m}", "member", {"n": m, "h": h}, f"hukou.csv:{h}", AT, group_key=f"h{h:05d}")
        for h in range(households)
        for m in range(per)
    ]
    landing.land(engine, SOURCE, "run1", records)
    with engine.begin() as conn:
        conn.execute(update(T).values(status="loaded"))
    # A second version of one record, quarantined, and a new pending household.
    again = [RawRecord("r00001-0", "member", {"n": 0, "h": 1, "v": 2}, "hukou.csv:9", AT, group_key="h00001")]
    again += [RawRecord(f"p-{m}", "member", {"m": m}, "hukou.csv:10", AT, group_key="hp") for m in range(3)]
    landing.land(engine, SOURCE, "run2", again)
    with engine.begin() as conn:
        conn.execute(
            update(T).where(T.c.record_id == "r00001-0", T.c.status == "pending").values(status="quarantined")
        )


class _Plans:
    """The query plan of every SELECT on landing_record sent while it is installed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.plans: list[str] = []

    def __enter__(self) -> _Plans:
        event.listen(self.engine, "before_cursor_execute", self._explain)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._explain)

    def _explain(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "landing_record" in statement:
            raw = conn.connection.driver_connection
            plan = raw.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
            self.plans.append(" | ".join(str(r[-1]) for r in plan))


def test_fetch_latest_and_fetch_group_read_by_the_index_of_what_they_ask_for(engine: Engine) -> None:
    _land_households(engine, 300)
    ids = [f"r{h:05d}-{m}" for h in range(0, 300, 3) for m in range(4)]
    with _Plans(engine) as seen:
        latest = landing.fetch_latest(engine, SOURCE, ids)
    assert seen.plans and all("ix_landing_record_source_record_id" in p for p in seen.plans), seen.plans
    assert all("source_status_seq" not in p for p in seen.plans), seen.plans
    assert sorted(latest) == sorted(ids)
    # the loaded version, not the newer quarantined one; each the newest in the statuses asked for
    assert latest["r00000-0"].payload == {"n": 0, "h": 0}
    newest = landing.fetch_latest(engine, SOURCE, ["r00001-0"], statuses=("loaded", "quarantined"))
    assert newest["r00001-0"].payload == {"n": 0, "h": 1, "v": 2}
    assert landing.fetch_latest(engine, SOURCE, ["p-0"]) == {}
    assert set(landing.fetch_latest(engine, SOURCE, ["p-0"], statuses=("pending",))) == {"p-0"}

    groups = [f"h{h:05d}" for h in range(0, 300, 2)] + ["hp"]
    with _Plans(engine) as seen:
        rows = landing.fetch_group(engine, SOURCE, groups, exclude={1})
    assert seen.plans and all("ix_landing_record_source_group_key" in p for p in seen.plans), seen.plans
    assert all("source_status_seq" not in p for p in seen.plans), seen.plans
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert {r.status for r in rows} == {"loaded"}
    assert len(rows) == 150 * 4 - 1  # the pending household is not loaded; seq 1 excluded


def test_a_pending_batch_completes_its_last_household_by_the_group_index(engine: Engine) -> None:
    records = [
        RawRecord(f"r{h}-{m}", "member", {"m": m}, f"hukou.csv:{h}", AT, group_key=f"h{h}")
        for h in range(50)
        for m in range(3)
    ]
    landing.land(engine, SOURCE, "run1", records)
    with engine.begin() as conn:  # one member of household 3 already loaded: not taken again
        conn.execute(update(T).where(T.c.record_id == "r3-2").values(status="loaded"))
    with _Plans(engine) as seen:
        batch = landing.pending_batch(engine, SOURCE, 10, whole_groups=True)
    whole = [f"r{h}-{m}" for h in range(3) for m in range(3)]
    assert [r.record_id for r in batch] == [*whole, "r3-0", "r3-1"]
    assert len(seen.plans) == 2 and "ix_landing_record_source_group_key" in seen.plans[1], seen.plans


@pytest.mark.parametrize(
    "text",
    [
        '{"id": 12345678901234567890, "b": -9223372036854775809, "c": 18446744073709551616}',
        '{"a": 1.5, "b": 1e-07, "c": 2e308, "d": NaN, "e": -Infinity, "f": 100000000000000000000.5}',
        '{"s": "\\ud800", "t": "\\ud83d\\ude00", "u": "中文 １２３", "v": null, "w": [true, false]}',
        '{"a": 1, "a": 2, "b": {"c": [1, 2, {"d": "身份证 110101200001011234"}]}}',
        '"12345678901234567890"',
        "-0",
    ],
)
def test_loads_exact_gives_the_standard_librarys_values(text: str) -> None:
    want, got = json.loads(text), jsontext.loads_exact(text)
    assert repr(got) == repr(want)
    assert json.dumps(got) == json.dumps(want)  # same types all the way down (1 is not 1.0)


@pytest.mark.parametrize("text", ['{"a": 1,}', "\ufeff[1]", "[1] x", '"\x01"', "[01]", ""])
def test_loads_exact_refuses_what_the_standard_library_refuses_with_its_message(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        jsontext.loads_exact(text)
    assert str(got.value) == str(want.value)


def test_clean_text_collapses_every_blank_the_regular_expression_did() -> None:
    blanks = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(c))]
    assert len(blanks) == 29
    for b in blanks:
        for text in (f"{b}a{b}{b}b{b}", f"张{b}三", b, f"a{b}", f"１{b}{b}２"):
            assert clean_text(text) == re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    assert clean_text(None) == "" and clean_text(12) == "12" and clean_text(" ａ\u3000b ") == "a b"
