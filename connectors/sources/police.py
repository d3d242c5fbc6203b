"""Public security: the household register (户籍) and child-related incidents (警情).

Both are CSV exports in GB18030 with LF line ends, the way the police systems write them.

The register is the identity system of record: a row without a valid ID number, name,
sex or birth date is quarantined rather than loaded, because everything else is matched
against it. A register household also says who is whose parent: the head (户主) and
spouse (配偶) of a household are the parents of its 子/女, and the one son (or daughter)
of the head with their spouse are the parents of the 孙子/孙女 (外孙子/外孙女); ambiguous
households (two sons and grandchildren) assert nothing.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention, mention_record_id
from connectors.sources.base import REJECTED, Emitted, Interpreted, Need, Source
from connectors.sources.cursor import FileCursor
from connectors.sources.layout import layout_of, row_getter
from connectors.sources.tables import TableFile, read_tables
from connectors.standardise import (
    IdCheck,
    Reference,
    Rejected,
    check_id_number,
    check_one_of,
    clean_text,
    given_name,
    parse_date,
    parse_datetime,
    parse_hukou_type,
    parse_phone,
    parse_sex,
    start_of_day,
    validate_id_number,
)
from graph.records import Assertion, NodeRecord, RelRecord
from kernel.messages import say

__all__ = ["HUKOU_HEADER", "INCIDENT_HEADER", "HukouSource", "IncidentSource"]

ENCODING = "gb18030"

HUKOU_HEADER: tuple[str, ...] = (
    "人员编号",
    "户号",
    "姓名",
    "公民身份号码",
    "性别",
    "民族",
    "出生日期",
    "与户主关系",
    "户口性质",
    "户籍地址",
    "行政区划代码",
    "迁入日期",
    "迁入前住址",
    "迁出日期",
    "迁往地址",
    "死亡日期",
    "人员状态",
    "变动日期",
)
INCIDENT_HEADER: tuple[str, ...] = (
    "警情编号",
    "接警时间",
    "警情类别",
    "简要案情",
    "儿童姓名",
    "儿童身份证号",
    "儿童性别",
    "儿童出生日期",
    "发生地址",
    "行政区划代码",
    "报警人类型",
    "监护人姓名",
    "监护人联系电话",
    "处置措施",
    "是否通报乡镇",
    "结案日期",
)
PERSON_STATES = ("正常", "迁出", "死亡")


HUKOU_LAYOUT = layout_of(
    "hukou", HUKOU_HEADER, ("人员编号", "户号", "姓名", "公民身份号码", "性别", "出生日期", "行政区划代码")
)
INCIDENT_LAYOUT = layout_of("incident", INCIDENT_HEADER, ("警情编号", "接警时间", "警情类别", "行政区划代码"))


class _CsvExport(Source):
    """A source read from CSV files under a directory (shared by the register and incidents)."""

    formats: tuple[TableFile, ...] = ()
    others: tuple[str, ...] = ()  # the other police source's files in the same folder

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def _asserted(self, kind: str, get: Any, mtime: Any) -> Any:
        return mtime

    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        state = FileCursor(cursor)
        self.files = []
        yield from read_tables(
            self.root,
            state,
            self.formats,
            self.files,
            asserted=self._asserted,
            encoding=ENCODING,
            others=self.others,
        )
        self.next_cursor = state.dump()


def _safe_day(text: str | None, mtime: Any) -> Any:
    day = _day_of(text) if isinstance(text, str) else _read_day(text)
    return mtime if day is None else day


def _read_day(text: Any) -> Any:
    """Midnight China time of the date ``text`` spells, ``None`` when it spells none."""
    try:
        d = parse_date(text, "date")
    except Rejected:
        return None
    return start_of_day(d) if d else None


# A register's rows share their change dates: each text is read once (the datetime is immutable).
_day_of = functools.lru_cache(maxsize=16_384)(_read_day)


class HukouSource(_CsvExport):
    """``police/hukou.csv``: one row per registered person (including the dead and moved out)."""

    name = "police_hukou"
    description = "public security household register (户籍), CSV GB18030"
    formats = (TableFile("hukou*.csv", "hukou", HUKOU_LAYOUT, "人员编号", group_column="户号"),)
    others = ("incidents*.csv",)
    whole_groups = True

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._parents: dict[str, list[tuple[str, str]]] = {}

    def _asserted(self, kind: str, get: Any, mtime: Any) -> Any:
        return _safe_day(get("变动日期"), mtime)

    def household_context(self, rows: Sequence[LandedRow], ref: Reference) -> None:
        """Infer PARENT_OF within each household from relations to the head (see module doc)."""
        by_household: dict[str, list[LandedRow]] = defaultdict(list)
        for r in rows:
            if r.group_key and REJECTED not in r.payload:
                by_household[r.group_key].append(r)
        parents: dict[str, list[tuple[str, str]]] = {}
        for members in by_household.values():
            by_rel: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for r in members:
                keys = HUKOU_LAYOUT.keys_for(r.payload)
                rel = clean_text(r.payload.get(keys.get("与户主关系", "")))
                sex = parse_sex_safe(r.payload.get(keys.get("性别", "")))
                by_rel[rel].append((r.record_id, sex))

            def assign(
                parent_rels: Sequence[str],
                child_rels: Sequence[str],
                by_rel: dict[str, list[tuple[str, str]]] = by_rel,
            ) -> None:
                ps = [p for rel in parent_rels for p in by_rel.get(rel, [])]
                sexes = [s for _, s in ps]
                if not ps or len(ps) > 2 or sexes.count("M") > 1 or sexes.count("F") > 1 or "" in sexes:
                    return
                for rel in child_rels:
                    for child, _ in by_rel.get(rel, []):
                        parents.setdefault(child, []).extend(
                            (p, "father" if s == "M" else "mother") for p, s in ps
                        )

            assign(("户主", "配偶"), ("子", "女"))
            if len(by_rel.get("子", [])) == 1 and len(by_rel.get("儿媳", [])) <= 1:
                assign(("子", "儿媳"), ("孙子", "孙女"))
            if len(by_rel.get("女", [])) == 1 and len(by_rel.get("女婿", [])) <= 1:
                assign(("女", "女婿"), ("外孙子", "外孙女"))
            assign(("父亲", "母亲"), ("户主",))
            for pair in (("公公", "婆婆"), ("岳父", "岳母")):
                assign(pair, ("配偶",))
        self._parents = parents

    def standardise(self, row: LandedRow, ref: Reference) -> Interpreted:
        rid = row.record_id
        get = row_getter(row.payload, HUKOU_LAYOUT, f"户籍 {rid}")
        get("姓名", required=True)
        name = given_name(get.raw("姓名"))
        id_number = validate_id_number(get("公民身份号码", required=True), "公民身份号码")
        sex = parse_sex(get("性别", required=True), "性别")
        birth = parse_date(get("出生日期", required=True), "出生日期", required=True)
        household = get("户号", required=True)
        relation = get("与户主关系")
        hukou_type = parse_hukou_type(get("户口性质"))
        division, retired = ref.standard_division(get("行政区划代码", required=True), "行政区划代码")
        moved_in = parse_date(get("迁入日期"), "迁入日期")
        moved_out = parse_date(get("迁出日期"), "迁出日期")
        death = parse_date(get("死亡日期"), "死亡日期")
        state = get("人员状态") or "正常"
        check_one_of(state, PERSON_STATES, "人员状态")
        parse_date(get("变动日期"), "变动日期")
        out = Interpreted()
        check_id_agrees(out, id_number, birth, sex)
        if retired:
            out.warnings.append(("division.retired", f"行政区划代码 {get('行政区划代码')} → {division}"))
        del moved_in, moved_out  # validated; the model has no move dates yet
        address = get("户籍地址") or None
        mention = PersonMention(
            system=self.name,
            record_id=rid,
            role="member",
            name=name,
            id_number=id_number,
            sex=sex,
            birth_date=birth,
            division=division,
            household_number=household,
        )
        deceased = state == "死亡" or death is not None
        out.add_person(
            mention,
            {
                "hukou_type": hukou_type,
                "registered_address": address,
                "division": division if state == "正常" else None,
                "deceased": deceased,
                "death_date": death.isoformat() if death else None,
            },
        )
        parents = self._parents.get(rid, [])
        out.needs.extend(Need(p, p, optional=True) for p, _ in parents)
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            me = key_of(rid)
            hh = f"household:{household}"
            em = Emitted()
            em.nodes.append(
                NodeRecord(
                    hh,
                    {
                        "household_number": household,
                        "hukou_type": hukou_type,
                        "address": address,
                        "division": division,
                    },
                    src,
                )
            )
            if division:
                em.rels.append(RelRecord("LOCATED_IN", hh, f"division:{division}", {}, src))
            if state == "正常":
                em.rels.append(RelRecord("MEMBER_OF", me, hh, {"relation_to_head": relation or None}, src))
                if division:
                    em.rels.append(RelRecord("REGISTERED_IN", me, f"division:{division}", {}, src))
            for parent, role in parents:
                parent_node = key_of(parent)
                if parent_node:  # None when the parent's own row was quarantined
                    em.rels.append(RelRecord("PARENT_OF", parent_node, me, {"role": role}, src))
            return em

        out.build = build
        return out


def parse_sex_safe(value: Any) -> str:
    try:
        return parse_sex(value) or ""
    except Rejected:
        return ""


def check_id_agrees(out: Interpreted, id_number: str | None, birth: Any, sex: str | None) -> None:
    """Warn (not reject) when the ID number's birth date or sex disagrees with the record's."""
    if not id_number:
        return
    if birth is not None and id_number[6:14] != f"{birth:%Y%m%d}":
        out.warnings.append(
            ("id_number.birth_mismatch", say("warn.id_birth", id_birth=id_number[6:14], birth=birth))
        )
    if sex is not None and ("M" if int(id_number[16]) % 2 else "F") != sex:
        out.warnings.append(("id_number.sex_mismatch", say("warn.id_sex")))


def optional_id(out: Interpreted, value: str, field_name: str) -> IdCheck:
    """An ID number in a source that is not the register. An invalid one is not trusted (no
    deterministic match on it) but kept: the mention carries it as an unverified claim with
    its validation status, and the run report counts a warning with the reason."""
    chk = check_id_number(value, field_name)
    if chk.status not in (None, "valid"):
        out.warnings.append((chk.status or "id_number.invalid", f"{chk.message}（作为未核验的声明保留）"))
    return chk


class IncidentSource(_CsvExport):
    """``police/incidents.csv``: child-related incidents; each becomes a Report about the child."""

    name = "police_incident"
    description = "public security child-related incidents (警情), CSV GB18030"
    formats = (TableFile("incidents*.csv", "incident", INCIDENT_LAYOUT, "警情编号"),)
    others = ("hukou*.csv",)

    def _asserted(self, kind: str, get: Any, mtime: Any) -> Any:
        try:
            return parse_datetime(get("接警时间"), "接警时间") or mtime
        except Rejected:
            return mtime

    def standardise(self, row: LandedRow, ref: Reference) -> Interpreted:
        rid = row.record_id
        get = row_getter(row.payload, INCIDENT_LAYOUT, f"警情 {rid}")
        filed = parse_datetime(get("接警时间", required=True), "接警时间", required=True)
        if filed is None:
            raise Rejected(
                "field.missing", say("reject.record_blank", what="警情", rid=rid, field="接警时间")
            )
        category = get("警情类别", required=True)
        out = Interpreted()
        name = given_name(get.raw("儿童姓名"))
        idc = optional_id(out, get.raw("儿童身份证号"), "儿童身份证号")
        id_number = idc.number
        if not name and not get("儿童身份证号"):
            raise Rejected(
                "field.missing",
                say("reject.both_blank", what="警情", rid=rid, a="儿童姓名", b="儿童身份证号"),
            )
        sex = parse_sex(get("儿童性别"), "儿童性别")
        birth = parse_date(get("儿童出生日期"), "儿童出生日期", not_after=filed.date())
        division, retired = ref.standard_division(get("行政区划代码", required=True), "行政区划代码")
        closed = parse_date(get("结案日期"), "结案日期")
        check_id_agrees(out, id_number, birth, sex)
        if retired:
            out.warnings.append(("division.retired", f"行政区划代码 → {division}"))
        child = PersonMention(
            system=self.name,
            record_id=rid,
            role="child",
            name=name,
            id_number=id_number,
            sex=sex,
            birth_date=birth,
            division=division,
            id_claim=idc.claim,
            id_status=idc.status,
        )
        out.add_person(child)
        g_name = given_name(get.raw("监护人姓名"))
        g_phone = parse_phone(get("监护人联系电话"))
        gid = mention_record_id(rid, "guardian")
        if g_name:
            guardian = PersonMention(
                system=self.name,
                record_id=gid,
                role="guardian",
                name=g_name,
                division=division,
                phone=g_phone,
            )
            out.mentions.append(guardian)
            out.person_props[gid] = {"name": g_name, "name_pinyin": guardian.name_pinyin, "phone": g_phone}
        summary = get("简要案情")
        action = get("处置措施")
        notified = get("是否通报乡镇")
        text = "；".join(
            x
            for x in (
                summary,
                f"处置：{action}" if action else "",
                f"通报乡镇：{notified}" if notified else "",
            )
            if x
        )
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            report = f"report:{rid}"
            node = NodeRecord(
                report,
                {
                    "situation": category,
                    "reporter_agency": get("报警人类型") or None,
                    "filed_at": filed.isoformat(),
                    "status": "closed" if closed else "open",
                    "opened_at": filed.isoformat(),
                    "closed_at": closed.isoformat() if closed else None,
                    "agency": "public_security",
                    "division": division,
                    "summary": text or None,
                },
                src,
            )
            return Emitted([node], [RelRecord("CONCERNS", report, key_of(rid), {}, src)])

        out.build = build
        return out
