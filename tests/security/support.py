"""Shared by the security suite: the served county, and the audit log read back from its database."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from auth.audit import AuditEntry, AuditLog
from kernel.db import make_engine
from tests.api_fixtures import Api


def entries(api: Api, after_seq: int = 0) -> list[AuditEntry]:
    """Every audit entry after `after_seq`, oldest first (read from the app's own database)."""
    engine = make_engine(api.settings.sql_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)  # type: ignore[arg-type]
            ).all()
        return [AuditEntry.model_validate(dict(r._mapping)) for r in rows]
    finally:
        engine.dispose()


def head(api: Api) -> int:
    engine = make_engine(api.settings.sql_url)
    try:
        anchor = AuditLog(engine).head()
        return anchor.seq if anchor else 0
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Look:
    """One request that named an id: its status and body as JSON with the id sent replaced by
    "{id}" (and the error locations left out), and the one audit entry it made (None unless asked)."""

    answer: str
    entry: AuditEntry | None


def look(
    api: Api,
    who: str,
    document: str,
    sent: Any,
    variables: Callable[[Any], dict[str, Any]] | None = None,
    purpose: str | None = "case_work",
    audited: bool = True,
) -> Look:
    """`document` asked by `who` with `sent` as its `$id` (or in `variables(sent)`); with `audited`,
    the request must have made exactly one audit entry."""
    before = head(api) if audited else 0
    r = api.gql(who, document, variables(sent) if variables else {"id": sent}, purpose=purpose)
    body = r.json()
    for e in body.get("errors", []):
        e.pop("locations", None)
    answer = json.dumps((r.status_code, body), sort_keys=True, ensure_ascii=False).replace(str(sent), "{id}")
    if not audited:
        return Look(answer, None)
    new = entries(api, before)
    assert len(new) == 1, [e.operation for e in new]
    return Look(answer, new[0])


def answered_alike(
    api: Api,
    who: str,
    document: str,
    asks: Sequence[Any],
    *,
    variables: Callable[[Any], dict[str, Any]] | None = None,
    purpose: str | None = "case_work",
    named: Callable[[Any], str | None] | None = str,
    decision: str | None = "deny",
) -> list[Look]:
    """The out-of-scope / absent check: each value in `asks` (an id out of the caller's scope, one
    that does not exist) gets the same answer to the byte but for the id itself, so ids cannot be
    probed. With `named`, each look is on the record: one audit entry naming `named(value)` among
    its records (a value for which `named` gives None is not checked), with `decision`.
    Returns the looks, in the order of `asks`, for the caller's own checks."""
    looks = [look(api, who, document, v, variables, purpose, audited=named is not None) for v in asks]
    assert len({lk.answer for lk in looks}) == 1, [lk.answer for lk in looks]
    if named is not None:
        for v, lk in zip(asks, looks, strict=True):
            assert lk.entry is not None
            record = named(v)
            if record is not None:
                assert record in lk.entry.records, (document, record, lk.entry.records)
            if decision is not None:
                assert lk.entry.decision == decision, (document, v, lk.entry.decision)
    return looks


def sqlite_path(api: Api) -> Path:
    url = api.settings.sql_url
    assert url.startswith("sqlite:///"), url
    return Path(url.removeprefix("sqlite:///"))


@contextmanager
def audit_refuses_inserts(api: Api) -> Iterator[None]:
    """The audit table refuses every insert (a full disk, a revoked grant), for the block's length."""
    db = sqlite3.connect(sqlite_path(api))
    try:
        db.execute(
            "CREATE TRIGGER test_audit_refuses BEFORE INSERT ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit store refuses writes'); END"
        )
        db.commit()
        yield
    finally:
        db.execute("DROP TRIGGER IF EXISTS test_audit_refuses")
        db.commit()
        db.close()


def rows(api: Api, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(sqlite_path(api))
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def digit_run_key(rng: random.Random) -> str:
    """A uuid4-hex-shaped person key holding a 15-digit run with a valid YYMMDD at positions 7-12:
    what roughly 1 in 5,000 random person keys look like."""
    digits = "".join(rng.choice("0123456789") for _ in range(6))
    digits += f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    digits += "".join(rng.choice("0123456789") for _ in range(3))
    head = "".join(rng.choice("0123456789abcdef") for _ in range(7)) + rng.choice("abcdef")
    tail = rng.choice("abcdef") + "".join(rng.choice("0123456789abcdef") for _ in range(8))
    key = head + digits + tail
    assert len(key) == 32
    return key


def family_served(tmp_path_factory: Any, name: str) -> Iterator[Api]:
    """The API over the contract suite's family (tests/contract/test_graph_store.py), its people
    registered in their divisions (what `people(division:)` lists them by)."""
    from graph.ladybug import LadybugStore
    from tests.api_fixtures import serve
    from tests.contract.test_graph_store import family, registered

    tmp = tmp_path_factory.mktemp(name)
    (tmp / "data").mkdir()
    store = LadybugStore(tmp / "data" / "graph.lbug", 256)
    store.init_schema()
    family(store)
    registered(store)
    store.close()
    yield from serve(tmp)
