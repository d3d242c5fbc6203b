"""Education: the student registry (学籍) exports, attendance/truancy and dropout records.

The bureau exports the registry as CSV (UTF-8 with BOM, CRLF) for kindergartens and
primary schools and as XLSX for middle and high schools (real Excel date cells), with
the same columns; attendance and dropouts are CSV. A pupil's record id is the 学籍号.

Attendance rows carry no ID number: they are linked to the pupil through the 学籍号. When
the registry export left that pupil out (it happens), the attendance row's own name is
used as a weaker mention instead, so the truancy is not lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention
from connectors.sources.base import Emitted, Interpreted, Need, Source
from connectors.sources.cursor import FileCursor
from connectors.sources.layout import layout_of, row_getter
from connectors.sources.police import check_id_agrees, optional_id
from connectors.sources.tables import TableFile, read_tables
from connectors.standardise import (
    IdCheck,
    Reference,
    Rejected,
    check_one_of,
    given_name,
    parse_date,
    parse_sex,
    start_of_day,
)
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.messages import say, source_name

__all__ = ["ATTENDANCE_HEADER", "DROPOUT_HEADER", "STUDENT_HEADER", "EducationSource"]

STUDENT_HEADER: tuple[str, ...] = (
    "学籍号",
    "身份证号",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "学校代码",
    "学校名称",
    "年级",
    "班级",
    "是否寄宿",
    "是否留守儿童",
    "监护人联系电话",
    "家庭住址",
    "学籍状态",
    "入学年月",
)
ATTENDANCE_HEADER: tuple[str, ...] = (
    "记录号",
    "学籍号",
    "姓名",
    "学校代码",
    "年级",
    "班级",
    "缺勤开始日期",
    "缺勤天数",
    "缺勤类型",
    "是否家访",
    "登记日期",
)
DROPOUT_HEADER: tuple[str, ...] = (
    "记录号",
    "学籍号",
    "身份证号",
    "姓名",
    "性别",
    "出生日期",
    "学校代码",
    "年级",
    "辍学日期",
    "辍学原因",
    "劝返状态",
    "书面报告日期",
    "监护人联系电话",
)
STUDENT_STATES = ("在读", "辍学", "休学")
ABSENCE_KINDS = {"旷课": "truancy", "病假": "sick_leave", "事假": "personal_leave"}
PERSUASION = ("已返校", "劝返中", "劝返无效")
ENCODING = "utf-8-sig"

STUDENT_LAYOUT = layout_of("student", STUDENT_HEADER, ("学籍号", "姓名", "出生日期", "学校代码"))
ATTENDANCE_LAYOUT = layout_of("attendance", ATTENDANCE_HEADER, ("记录号", "缺勤开始日期", "缺勤类型"))
DROPOUT_LAYOUT = layout_of("dropout", DROPOUT_HEADER, ("记录号", "姓名", "辍学日期", "学校代码"))
LAYOUTS = {
    "student": STUDENT_LAYOUT,
    "student_xlsx": STUDENT_LAYOUT,
    "attendance": ATTENDANCE_LAYOUT,
    "dropout": DROPOUT_LAYOUT,
}

_FILES: tuple[TableFile, ...] = (
    TableFile("students*.csv", "student", STUDENT_LAYOUT, "学籍号"),
    TableFile("students*.xlsx", "student_xlsx", STUDENT_LAYOUT, "学籍号", fmt="xlsx"),
    TableFile("dropouts*.csv", "dropout", DROPOUT_LAYOUT, "记录号"),
    TableFile("attendance*.csv", "attendance", ATTENDANCE_LAYOUT, "记录号"),
)


def _asserted(kind: str, get: Any, mtime: Any) -> Any:
    """When a row was asserted: its registration or dropout date, else the file's time."""
    col = {"attendance": "登记日期", "dropout": "辍学日期"}.get(kind)
    if col is None:
        return mtime
    try:
        d = parse_date(get(col), col)
    except Rejected:
        return mtime
    return start_of_day(d) if d else mtime


def _name_and_id(get: Any, out: Interpreted, what: str, rid: str) -> tuple[str | None, IdCheck]:
    """A pupil's name and ID number as a registry or dropout row gives them (an invalid number
    kept as a claim, with a warning); a row with neither names no one and is rejected."""
    name = given_name(get.raw("姓名"))
    raw_id = get.raw("身份证号")
    if not name and not raw_id:
        raise Rejected("field.missing", say("reject.both_blank", what=what, rid=rid, a="姓名", b="身份证号"))
    return name, optional_id(out, raw_id, "身份证号")


def _yes(value: str) -> bool | None:
    return {"是": True, "否": False}.get(value)


class EducationSource(Source):
    """Registry, attendance and dropout exports under one directory."""

    name = "education"
    description = "education student registry (学籍) CSV/XLSX, attendance and dropouts"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        state = FileCursor(cursor)
        self.files = []
        yield from read_tables(self.root, state, _FILES, self.files, asserted=_asserted, encoding=ENCODING)
        self.next_cursor = state.dump()

    def standardise(self, row: LandedRow, ref: Reference) -> Interpreted:
        if row.kind in ("student", "student_xlsx"):
            return self._student(row, ref)
        if row.kind == "attendance":
            return self._attendance(row, ref)
        if row.kind == "dropout":
            return self._dropout(row, ref)
        raise Rejected(
            "value.invalid", say("reject.unknown_kind", source=source_name("education"), kind=repr(row.kind))
        )

    # -- the registry -------------------------------------------------------------------------

    def _student(self, row: LandedRow, ref: Reference) -> Interpreted:
        rid = row.record_id
        get = row_getter(row.payload, STUDENT_LAYOUT, f"学籍 {rid}")
        out = Interpreted()
        name, idc = _name_and_id(get, out, "学籍", rid)
        id_number = idc.number
        sex = parse_sex(get("性别"), "性别")
        birth = parse_date(get("出生日期", required=True), "出生日期", required=True)
        school = get("学校代码", required=True)
        status = get("学籍状态") or "在读"
        check_one_of(status, STUDENT_STATES, "学籍状态")
        start = get("入学年月")
        start_date = None
        if start:
            d = parse_date(f"{start}-01" if len(start) <= 7 else start, "入学年月")
            start_date = d.isoformat() if d else None
        check_id_agrees(out, id_number, birth, sex)
        address = get("家庭住址") or None
        village = ref.division_of_address(address)
        mention = PersonMention(
            system=self.name,
            record_id=rid,
            role="pupil",
            name=name,
            id_number=id_number,
            sex=sex,
            birth_date=birth,
            division=village,
            id_claim=idc.claim,
            id_status=idc.status,
        )
        out.add_person(
            mention,
            {
                "residence_address": address,
            },
        )
        school_name = get("学校名称") or None
        grade, klass, boarding = get("年级") or None, get("班级") or None, _yes(get("是否寄宿"))
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            me = key_of(rid)
            em = Emitted()
            em.nodes.extend(_school_node(school, school_name, ref, src))
            em.rels.append(
                RelRecord(
                    "ENROLLED_AT",
                    me,
                    f"school:{school}",
                    {
                        "student_number": rid,
                        "grade": grade,
                        "class_name": klass,
                        "boarding": boarding,
                        "status": status,
                        "start_date": start_date,
                    },
                    src,
                )
            )
            if village:
                em.rels.append(RelRecord("RESIDES_IN", me, f"division:{village}", {"address": address}, src))
            return em

        out.build = build
        return out

    # -- attendance -----------------------------------------------------------------------------

    def _attendance(self, row: LandedRow, ref: Reference) -> Interpreted:
        rid = row.record_id
        get = row_getter(row.payload, ATTENDANCE_LAYOUT, f"考勤 {rid}")
        student = get("学籍号")
        name = given_name(get.raw("姓名"))
        if not student and not name:
            raise Rejected(
                "field.missing", say("reject.both_blank", what="考勤", rid=rid, a="学籍号", b="姓名")
            )
        start = parse_date(get("缺勤开始日期", required=True), "缺勤开始日期", required=True)
        if start is None:
            raise Rejected(
                "field.missing", say("reject.record_blank", what="考勤", rid=rid, field="缺勤开始日期")
            )
        parse_date(get("登记日期"), "登记日期")
        days_text = get("缺勤天数")
        try:
            days = int(days_text) if days_text else None
        except ValueError:
            raise Rejected(
                "value.invalid", say("reject.not_a_number", field="缺勤天数", value=repr(days_text))
            ) from None
        kind_zh = get("缺勤类型", required=True)
        kind = ABSENCE_KINDS[check_one_of(kind_zh, ABSENCE_KINDS, "缺勤类型")]
        school = get("学校代码") or None
        out = Interpreted()
        fallback = PersonMention(system=self.name, record_id=rid, role="pupil", name=name)
        out.person_props[rid] = {"name": name, "name_pinyin": fallback.name_pinyin}
        if student:
            out.needs.append(Need(student, student, fallback))
        else:
            out.mentions.append(fallback)
        subject = student or rid
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            event = f"educationevent:{rid}"
            node = NodeRecord(
                event,
                {
                    "kind": kind,
                    "occurred_on": start.isoformat(),
                    "school_code": school,
                    "days": days,
                    "division": ref.school_division(school),
                },
                src,
            )
            return Emitted([node], [RelRecord("CONCERNS", event, key_of(subject), {}, src)])

        out.build = build
        return out

    # -- dropouts -------------------------------------------------------------------------------

    def _dropout(self, row: LandedRow, ref: Reference) -> Interpreted:
        rid = row.record_id
        get = row_getter(row.payload, DROPOUT_LAYOUT, f"辍学 {rid}")
        out = Interpreted()
        name, idc = _name_and_id(get, out, "辍学", rid)
        id_number = idc.number
        sex = parse_sex(get("性别"), "性别")
        birth = parse_date(get("出生日期"), "出生日期")
        left = parse_date(get("辍学日期", required=True), "辍学日期", required=True)
        if left is None:
            raise Rejected("field.missing", say("reject.blank", field="辍学日期"))
        reported = parse_date(get("书面报告日期"), "书面报告日期")
        outcome = get("劝返状态")
        if outcome:
            check_one_of(outcome, PERSUASION, "劝返状态")
        school = get("学校代码", required=True)
        student = get("学籍号") or None
        check_id_agrees(out, id_number, birth, sex)
        mention = PersonMention(
            system=self.name,
            record_id=rid,
            role="pupil",
            name=name,
            id_number=id_number,
            sex=sex,
            birth_date=birth,
            id_claim=idc.claim,
            id_status=idc.status,
        )
        out.add_person(mention)
        grade = get("年级") or None
        at = row.asserted_at
        division = ref.school_division(school)

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            me = key_of(rid)
            em = Emitted()
            em.nodes.extend(_school_node(school, None, ref, src))
            events: list[tuple[str, str, str | None]] = [
                (f"educationevent:{rid}", "dropout", left.isoformat())
            ]
            if reported:
                events.append((f"educationevent:{rid}-report", "dropout_reported", reported.isoformat()))
            if outcome == "已返校":
                events.append((f"educationevent:{rid}-returned", "returned_to_school", None))
            for event, kind, day in events:
                em.nodes.append(
                    NodeRecord(
                        event,
                        {"kind": kind, "occurred_on": day, "school_code": school, "division": division},
                        src,
                    )
                )
                em.rels.append(RelRecord("CONCERNS", event, me, {}, src))
            em.rels.append(
                RelRecord(
                    "ENROLLED_AT",
                    me,
                    f"school:{school}",
                    {
                        "student_number": student,
                        "grade": grade,
                        "status": "在读" if outcome == "已返校" else "辍学",
                        "end_date": None if outcome == "已返校" else left.isoformat(),
                    },
                    src,
                )
            )
            return em

        out.build = build
        return out


def _school_node(code: str, name: str | None, ref: Reference, src: Assertion) -> list[NodeRecord]:
    """A School node for a code the reference table lacks; none for a known school.

    Known schools come from ``reference/schools.csv`` alone: were every pupil's record to
    assert its school, the school's provenance would grow by one entry per pupil.
    """
    if code in ref.schools:
        return []
    return [NodeRecord(f"school:{code}", {"code": code, "name": name}, src)]
