"""The reporting chain: quarterly and annual reports village → township → county civil affairs.

Seeds: villages report to the township every quarter (Ziyang §2.2); the chain is quarterly
and yearly, village → township → civil affairs (Zhangye §3.1); the county's annual report is
due by 10 December (Zhangye §4.3). Quarterly deadlines are configurable (the seeds set none).

A report's figures are the roll-up of the materialised classification by sub-division and
category; once its period has ended, with the children counted as they were on its last day
(``classification.counts_as_of``: the 16-year line is the period's, not the day of viewing).
A level may submit only when every division under it that has children has
submitted (or had approved) its own report for the period, so the county's figure is the
sum of reports that exist; the level above approves or returns. Submitted figures are
frozen: later reclassification changes the next period, not a submitted report.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select

from graph.model import LEVEL_DIGITS, DivisionLevel, division_level, division_prefix
from graph.port import GraphStore
from kernel import clock
from kernel.db.tables import utcnow
from kernel.messages import MESSAGES, say
from protection import transitions as tr
from protection.classification import CATEGORIES, counts_as_of, counts_by_division
from protection.screening_config import config
from protection.screening_tables import PeriodicReport

COLUMNS: tuple[str, ...] = ("children", *CATEGORIES, "in_distress")
_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")
FIRST_YEAR = 2016
_CHAIN = {
    DivisionLevel.VILLAGE: "village",
    DivisionLevel.TOWNSHIP: "township",
    DivisionLevel.COUNTY: "county",
}
ZH = {
    "children": "儿童总数",
    "left_behind": "留守儿童",
    "orphan": "孤儿",
    "de_facto_unsupported": "事实无人抚养",
    "disability": "残疾",
    "serious_illness": "重病",
    "poor_family": "低保/特困家庭",
    "in_distress": "困境儿童",
}


class ReportError(ValueError):
    def __init__(self, message: str, code: str = "BAD_REQUEST", reason: str = "invalid_input") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


@dataclass
class Period:
    kind: str  # quarterly | annual
    label: str
    year: int
    quarter: int | None

    @property
    def start(self) -> date:
        return date(self.year, 3 * (self.quarter - 1) + 1 if self.quarter else 1, 1)

    @property
    def end(self) -> date:
        if self.quarter is None:
            return date(self.year, 12, 31)
        month = self.quarter * 3
        nxt = date(self.year + (month == 12), month % 12 + 1, 1)
        return nxt - timedelta(days=1)

    def deadline(self, level: str) -> date:
        r = config().section("reporting")
        if self.quarter is None:
            return date.fromisoformat(f"{self.year}-{r['annual_deadline'][level]}")
        return self.end + timedelta(days=r["quarterly_days"][level])


def parse_period(text: str) -> Period:
    m = _PERIOD.match(text.strip())
    if not m:
        raise ReportError(say("reporting.bad_period", period=repr(text)))
    year, q = int(m.group(1)), m.group(2)
    # Reports are of the years the platform can hold (the first of the seeds' schemes, 2016, on):
    # an ended period's figures classify the people whose birthday fell since it ended again, so
    # "1950" would be nearly everyone, and a year before 18 cannot be a date of birth's anchor.
    if not FIRST_YEAR <= year <= clock.today().year + 1:
        raise ReportError(say("reporting.period_out_of_range", period=repr(text), first=FIRST_YEAR))
    return Period("quarterly" if q else "annual", text.strip(), year, int(q) if q else None)


def level_of(division: str) -> str:
    try:
        level = division_level(division)
    except ValueError as exc:
        raise ReportError(say("reporting.bad_division")) from exc
    if level not in _CHAIN:
        raise ReportError(say("reporting.level"))
    return _CHAIN[level]


@dataclass
class ReportView:
    division: str
    level: str
    period: Period
    deadline: date
    status: str
    rows: list[tuple[str, Counter[str]]]  # (sub-division code, counts)
    totals: Counter[str]
    children_status: dict[str, str] = field(default_factory=dict)
    record: PeriodicReport | None = None

    @property
    def overdue(self) -> bool:
        today = clock.today()
        if self.record and self.record.submitted_at:
            return clock.local(self.record.submitted_at).date() > self.deadline
        return today > self.deadline


def _sub_level_digits(level: str) -> int:
    return {
        "village": LEVEL_DIGITS[DivisionLevel.VILLAGE],
        "township": LEVEL_DIGITS[DivisionLevel.VILLAGE],
        "county": LEVEL_DIGITS[DivisionLevel.TOWNSHIP],
    }[level]


def _live_rows(
    engine: Engine, graph: GraphStore | None, division: str, level: str, period: Period
) -> list[tuple[str, Counter[str]]]:
    """The figures by sub-division as they stand. A period that has ended counts its children as
    they were on its last day (a child 15 on 31 March is a left-behind child of Q1's report,
    prepared on 3 April, though 16 since 2 April): ``counts_as_of``. Without a graph, or while
    the period runs, the materialised classification."""
    digits, prefix = _sub_level_digits(level), division_prefix(division)
    if graph is None or clock.today() <= period.end:
        return sorted(counts_by_division(engine, prefix, digits).items())
    return sorted(counts_as_of(graph, engine, prefix, digits, period.end).items())


def _record(conn: Any, division: str, period: str) -> PeriodicReport | None:
    T = PeriodicReport.__table__  # type: ignore[attr-defined]
    row = conn.execute(select(T).where((T.c.division == division) & (T.c.period == period))).first()
    return PeriodicReport(**row._mapping) if row else None


def _children_status(
    conn: Any, rows: list[tuple[str, Counter[str]]], level: str, period: str
) -> dict[str, str]:
    if level == "village":
        return {}
    T = PeriodicReport.__table__  # type: ignore[attr-defined]
    codes = [code for code, _ in rows]
    found = {
        r.division: r.status
        for r in conn.execute(
            select(T.c.division, T.c.status).where(T.c.division.in_(codes) & (T.c.period == period))
        )
    }
    return {code: found.get(code, "missing") for code in codes}


def _handed_up_below(conn: Any, division: str, level: str, period: str) -> dict[str, Counter[str]]:
    """The totals of the sub-divisions that handed up their report for the period: a level's figure
    is the sum of the reports below it, not a later roll-up."""
    if level == "village":
        return {}
    T = PeriodicReport.__table__  # type: ignore[attr-defined]
    prefix, digits = division_prefix(division), _sub_level_digits(level)
    return {
        r.division: Counter(r.figures.get("totals", {}))
        for r in conn.execute(
            select(T.c.division, T.c.status, T.c.figures).where(
                T.c.division.startswith(prefix) & (T.c.division != division) & (T.c.period == period)
            )
        )
        # the level just below only (a county's townships, not their villages)
        if r.status in tr.HANDED_UP and r.division[:digits].ljust(12, "0") == r.division
    }


def view(engine: Engine, division: str, period_text: str, graph: GraphStore | None = None) -> ReportView:
    """The report as it stands: frozen figures if submitted, else the live roll-up (of a period that
    has ended, as its children were on its last day when ``graph`` is given: see ``_live_rows``)."""
    level = level_of(division)
    period = parse_period(period_text)
    with engine.connect() as conn:
        rec = _record(conn, division, period.label)
        if rec is not None and rec.status in tr.HANDED_UP:
            rows = [(code, Counter(c)) for code, c in rec.figures.get("rows", [])]
        else:
            frozen = _handed_up_below(conn, division, level, period.label)
            live = _live_rows(engine, graph, division, level, period)
            rows = [(code, frozen.get(code, c)) for code, c in live]
        status_below = _children_status(conn, rows, level, period.label)
    totals: Counter[str] = Counter()
    for _, c in rows:
        totals.update(c)
    return ReportView(
        division,
        level,
        period,
        period.deadline(level),
        rec.status if rec else tr.PeriodicStatus.DRAFT,
        rows,
        totals,
        status_below,
        rec,
    )


def submit(
    engine: Engine, division: str, period_text: str, *, by: str, graph: GraphStore | None = None
) -> ReportView:
    """Freeze the figures (``view``'s) and submit to the level above; refused until every level below has."""
    current = view(engine, division, period_text, graph)
    if not tr.PERIODIC["submit"].allows(current.status):
        raise ReportError(
            say("reporting.already", status=tr.status_name(current.status)),
            "INVALID_TRANSITION",
            "already_submitted",
        )
    if clock.today() < current.period.start:
        raise ReportError(say("reporting.not_begun", period=current.period.label), reason="period_not_begun")
    missing = [code for code, s in current.children_status.items() if s not in tr.HANDED_UP]
    if missing:
        raise ReportError(
            say(
                "reporting.lower_missing",
                count=len(missing),
                period=current.period.label,
                divisions=", ".join(missing[:10]),
            ),
            "CONFLICT",
            "lower_level_missing",
        )
    T = PeriodicReport.__table__  # type: ignore[attr-defined]
    figures = {"rows": [[code, dict(c)] for code, c in current.rows], "totals": dict(current.totals)}
    now = utcnow()
    with engine.begin() as conn:
        values = {
            "level": current.level,
            "kind": current.period.kind,
            "deadline": current.deadline,
            "status": tr.PERIODIC["submit"].leads_to,
            "figures": figures,
            "submitted_by": by,
            "submitted_at": now,
            "decided_by": None,
            "decided_at": None,
        }
        if current.record is None:
            conn.execute(T.insert().values(division=division, period=current.period.label, **values))
        else:
            done = conn.execute(
                T.update()
                .where((T.c.id == current.record.id) & (T.c.status == current.record.status))
                .values(**values)
            ).rowcount
            if done != 1:
                raise ReportError(say("reporting.changed"), "CONFLICT", "version_moved")
    return view(engine, division, period_text)


def decide(
    engine: Engine,
    division: str,
    period_text: str,
    *,
    approve: bool,
    by: str,
    note: str | None,
    graph: GraphStore | None = None,
) -> ReportView:
    """The level above approves a submitted report or returns it for correction (a returned report's
    figures are ``view``'s again)."""
    current = view(engine, division, period_text, graph)
    step = tr.PERIODIC["approve" if approve else "return"]
    if not step.allows(current.status):
        raise ReportError(
            say("reporting.not_submitted", status=tr.status_name(current.status)),
            "INVALID_TRANSITION",
            "not_submitted",
        )
    if not approve and not (note or "").strip():
        raise ReportError(say("reporting.note_required"), reason="note_required")
    T = PeriodicReport.__table__  # type: ignore[attr-defined]
    if current.record is None:
        raise ReportError(say("reporting.changed"), "CONFLICT", "version_moved")
    with engine.begin() as conn:
        conn.execute(
            T.update()
            .where(T.c.id == current.record.id)
            .values(status=step.leads_to, decided_by=by, decided_at=utcnow(), note=note)
        )
    return view(engine, division, period_text, graph)


def reports_due(engine: Engine, prefix: str, period_text: str) -> list[PeriodicReport]:
    T = PeriodicReport.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(select(T).where(T.c.division.startswith(prefix) & (T.c.period == period_text)))
        return [PeriodicReport(**r._mapping) for r in rows]


# ---- export -----------------------------------------------------------------------------------


Shown = Callable[[str, str, int], int | None]
"""What a reader may see of one count (its row's division code or "total", its key, the count): the
count, or None where it is withheld from them (a small count for a role without row access to the
children counted, and the cells that would let it be subtracted back). The export leaves such a
cell empty, as the report over GraphQL gives it as null: the file is the same report in another form."""


def _every_count(row: str, key: str, n: int) -> int | None:
    return n


def _table(
    v: ReportView, names: dict[str, str] | None = None, shown: Shown = _every_count
) -> list[list[Any]]:
    head = ["division", "name", *COLUMNS]
    out: list[list[Any]] = [head, ["区划代码", "名称", *(ZH[c] for c in COLUMNS)]]

    def cells(row: str, c: Counter[str]) -> list[Any]:
        return ["" if (n := shown(row, k, c.get(k, 0))) is None else n for k in COLUMNS]

    for code, c in v.rows:
        out.append([code, (names or {}).get(code, ""), *cells(code, c)])
    out.append(["total", "合计", *cells("total", v.totals)])
    return out


def _heading(v: ReportView, names: dict[str, str] | None) -> list[Any]:
    """The first line of an exported report, for the official who files it: what, where, when, state."""
    status = f"report.status.{v.status}"
    return [
        say(f"report.kind.{v.period.kind}") + say("report.noun"),
        (names or {}).get(v.division) or v.division,
        v.period.label,
        say("report.deadline", deadline=v.deadline),
        say(status) if status in MESSAGES else v.status,
    ]


def to_csv(v: ReportView, names: dict[str, str] | None = None, shown: Shown = _every_count) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(_heading(v, names))
    for row in _table(v, names, shown):
        w.writerow(row)
    # UTF-8 with BOM: Excel on Chinese Windows opens it with the characters intact.
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(v: ReportView, names: dict[str, str] | None = None, shown: Shown = _every_count) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append(_heading(v, names))
    for row in _table(v, names, shown):
        ws.append(row)
    ws.freeze_panes = "C4"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(v: ReportView, fmt: str) -> str:
    return f"shouhu-{v.period.kind}-{v.division}-{v.period.label}.{fmt}"
