"""Village screening surveys (预警排查): the forms village child-welfare supervisors submit.

Most villages submit a JSON array of forms (one per line), a few a spreadsheet (sheet
排查表, Chinese headers, dates typed as ``2024年7月18日``). Both are turned into the same
form structure before validation, so the rules are written once.

A form is the only source that says who actually looks after a child: parents' work
away from home and guardianship capacity, the carer, entrusted-guardianship agreements
(委托监护协议) and what the supervisor found. The child is the record's subject; the
father, mother and carer are mentions ``<form_id>#father`` / ``#mother`` / ``#guardian``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention, mention_record_id
from connectors.sources.base import (
    DuplicateIds,
    Emitted,
    FileNote,
    Interpreted,
    Source,
    UnreadableFile,
    file_record,
    with_rejection,
)
from connectors.sources.cursor import FileCursor, file_digest, file_mtime, mark_file
from connectors.sources.encoding import detect_encoding
from connectors.sources.folder import first_match, folder_files
from connectors.sources.json_reader import json_array_items
from connectors.sources.layout import layout_of, row_getter
from connectors.sources.police import check_id_agrees, optional_id
from connectors.sources.xlsx_reader import sheet_row, xlsx_rows
from connectors.standardise import (
    Reference,
    Rejected,
    check_one_of,
    clean_text,
    given_name,
    normalise_name,
    parse_date,
    parse_hukou_type,
    parse_phone,
    parse_sex,
    start_of_day,
)
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from kernel.messages import say, source_name

__all__ = ["SURVEY_XLSX_HEADER", "SurveySource", "parse_disability"]

SURVEY_XLSX_HEADER: tuple[str, ...] = (
    "表单编号",
    "村代码",
    "村名",
    "走访日期",
    "督导员",
    "儿童姓名",
    "儿童身份证号",
    "性别",
    "出生日期",
    "家庭住址",
    "户口性质",
    "就读学校",
    "年级",
    "健康状况",
    "父亲姓名",
    "父亲身份证号",
    "父亲状况",
    "父亲务工地",
    "父亲电话",
    "母亲姓名",
    "母亲身份证号",
    "母亲状况",
    "母亲务工地",
    "母亲电话",
    "监护人姓名",
    "与儿童关系",
    "监护人身份证号",
    "监护人电话",
    "监护人年龄",
    "监护能力",
    "是否委托监护",
    "委托协议",
    "协议签订日期",
    "协议到期日期",
    "儿童类别",
    "困境类型",
    "家庭救助",
    "发现问题",
    "备注",
)
SURVEY_LAYOUT = layout_of("form_xlsx", SURVEY_XLSX_HEADER, ("表单编号", "村代码", "走访日期", "儿童姓名"))
SURVEY_FILES = ("*.json", "*.xlsx")
PARENT_STATES = ("外出务工", "在家", "死亡", "失联", "服刑")
AGREEMENT_STATES = {"有效": "valid", "已过期": "expired", "未签订": "missing"}
DISABILITY_KINDS = {
    "视力": "visual",
    "听力": "hearing",
    "言语": "speech",
    "肢体": "physical",
    "智力": "intellectual",
    "精神": "mental",
    "多重": "multiple",
}
# The sex a carer's relation to the child implies (与儿童关系).
_RELATION_SEX = {
    **dict.fromkeys(("父亲", "祖父", "外祖父", "伯父", "叔叔", "舅舅", "姑父", "姨父", "哥哥"), "M"),
    **dict.fromkeys(("母亲", "祖母", "外祖母", "伯母", "婶婶", "舅妈", "姑姑", "姨妈", "姐姐"), "F"),
}
_LEVELS = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
_DISABILITY = re.compile(r"残疾[（(]\s*(\S{2})\s*(\S级)\s*[)）]")


def parse_disability(health: str) -> str | None:
    """``残疾（肢体二级）`` → ``physical-2`` (the graph's form); ``良好`` → ``none``; else ``None``."""
    text = clean_text(health)
    if not text:
        return None
    if text == "良好":
        return "none"
    m = _DISABILITY.search(text)
    if m and m[1] in DISABILITY_KINDS and m[2] in _LEVELS:
        return f"{DISABILITY_KINDS[m[1]]}-{_LEVELS[m[2]]}"
    return None


def _split(text: str) -> list[str]:
    return [x for x in re.split(r"[、，,;；|]", clean_text(text)) if x]


def form_from_xlsx(row: dict[str, Any], what: str) -> dict[str, Any]:
    """A spreadsheet row as the JSON form structure (raises ``row.truncated`` when cut short)."""
    get = row_getter(row, SURVEY_LAYOUT, what)

    def adult(prefix: str) -> dict[str, Any] | None:
        part = {
            "name": get.raw(f"{prefix}姓名"),
            "id_number": get.raw(f"{prefix}身份证号"),
            "status": get(f"{prefix}状况"),
            "work_place": get(f"{prefix}务工地"),
            "phone": get(f"{prefix}电话"),
        }
        return part if any(part.values()) else None

    guardian: dict[str, Any] | None = {
        "name": get.raw("监护人姓名"),
        "relation": get("与儿童关系"),
        "id_number": get.raw("监护人身份证号"),
        "phone": get("监护人电话"),
        "age": get("监护人年龄"),
        "capacity": get("监护能力"),
        "entrusted": {"是": True, "否": False}.get(get("是否委托监护")),
        "agreement": get("委托协议"),
        "agreement_signed_on": get("协议签订日期"),
        "agreement_valid_to": get("协议到期日期"),
    }
    if guardian is not None and not (guardian["name"] or guardian["id_number"]):
        guardian = None
    return {
        "form_id": get("表单编号"),
        "village_code": get("村代码"),
        "village": get("村名"),
        "visit_date": get("走访日期"),
        "supervisor": get("督导员"),
        "child": {
            "name": get.raw("儿童姓名"),
            "id_number": get.raw("儿童身份证号"),
            "sex": get("性别"),
            "birth_date": get("出生日期"),
            "address": get("家庭住址"),
            "hukou_type": get("户口性质"),
            "school": get("就读学校"),
            "grade": get("年级"),
            "health": get("健康状况"),
        },
        "father": adult("父亲"),
        "mother": adult("母亲"),
        "guardian": guardian,
        "child_category": get("儿童类别"),
        "distress_types": _split(get("困境类型")),
        "family_assistance": get("家庭救助"),
        "findings": _split(get("发现问题")),
        "notes": get("备注"),
    }


class SurveySource(Source):
    """Survey forms under a directory: ``<village12>.json`` and ``<village12>.xlsx``."""

    name = "survey"
    description = "village screening survey forms (JSON, XLSX)"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        state = FileCursor(cursor)
        self.files = []
        files, skipped = folder_files(self.root)
        self.files.extend(skipped)
        for path, rel in files:
            if first_match(rel, SURVEY_FILES) is None:
                self.files.append(
                    FileNote(rel, "ignored", f"文件名不符合本来源的格式（{'、'.join(SURVEY_FILES)}）")
                )
                continue
            note = FileNote(rel, "read", kind="form" if path.suffix == ".json" else "form_xlsx")
            self.files.append(note)
            data = path.read_bytes()
            if state.files.get(rel, {}).get("sha256") == file_digest(data):
                note.status = "unchanged"
                continue
            mtime = file_mtime(path)
            if not data.strip():
                note.status, note.reason = "empty", "空文件（没有记录）"
                mark_file(rel, data, state)
                continue
            dupes = DuplicateIds(rel, "表单编号")
            try:
                if path.suffix == ".json":
                    note.encoding = detect_encoding(data, "utf-8")
                    for n, form in json_array_items(data, rel):
                        if isinstance(form, UnreadableFile):
                            form = with_rejection({}, form.code, form.message)
                        elif not isinstance(form, dict):
                            form = {"_value": form}
                        rid = clean_text(form.get("form_id")) or f"{rel}:{n}"
                        form = dupes.check(rid, f"第 {n} 行", form)
                        note.records += 1
                        yield RawRecord(
                            rid, "form", form, f"{rel}:{n}", _visit_at(form.get("visit_date"), mtime)
                        )
                else:
                    for layout, sheet, n, row in xlsx_rows(data, rel, [SURVEY_LAYOUT], note):
                        keys = layout.keys_for(row)
                        origin, where = sheet_row(rel, sheet, n)
                        rid = clean_text(row.get(keys.get("表单编号", ""))) or origin
                        row = dupes.check(rid, where, row)
                        note.records += 1
                        at = _visit_at(row.get(keys.get("走访日期", "")), mtime)
                        yield RawRecord(rid, "form_xlsx", row, origin, at)
            except UnreadableFile as exc:
                note.status, note.reason = "failed", exc.message
                yield file_record(rel, data, exc.code, exc.message, mtime)
            mark_file(rel, data, state)
        self.next_cursor = state.dump()

    def standardise(self, row: LandedRow, ref: Reference) -> Interpreted:
        rid = row.record_id
        if row.kind == "form_xlsx":
            form = form_from_xlsx(row.payload, f"排查表 {rid}")
        elif row.kind == "form":
            form = row.payload
        else:
            raise Rejected(
                "value.invalid", say("reject.unknown_kind", source=source_name("survey"), kind=repr(row.kind))
            )
        child = form.get("child")
        if not isinstance(child, dict):
            raise Rejected("field.missing", say("reject.record_blank", what="排查表", rid=rid, field="儿童"))
        visit = parse_date(form.get("visit_date"), "走访日期", required=True, not_after=clock.today())
        if visit is None:
            raise Rejected(
                "field.missing", say("reject.record_blank", what="排查表", rid=rid, field="走访日期")
            )
        division, retired = ref.standard_division(form.get("village_code"), "村代码")
        if division is None:
            raise Rejected(
                "field.missing", say("reject.record_blank", what="排查表", rid=rid, field="村代码")
            )
        out = Interpreted()
        if retired:
            out.warnings.append(("division.retired", f"村代码 {form.get('village_code')} → {division}"))
        name = given_name(child.get("name"))
        if not name:
            raise Rejected(
                "field.missing", say("reject.record_blank", what="排查表", rid=rid, field="儿童姓名")
            )
        idc = optional_id(out, _text(child.get("id_number")), "儿童身份证号")
        id_number = idc.number
        sex = parse_sex(child.get("sex"), "性别")
        birth = parse_date(child.get("birth_date"), "出生日期", not_after=clock.today())
        if birth is not None and birth > visit:
            out.warnings.append(
                ("date.birth_after_visit", say("warn.birth_after_visit", birth=birth, visit=visit))
            )
        check_id_agrees(out, id_number, birth, sex)
        address = clean_text(child.get("address")) or None
        cm = PersonMention(
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
        out.add_person(
            cm,
            {
                "hukou_type": parse_hukou_type(child.get("hukou_type")),
                "residence_address": address,
                "division": division,
                "disability": parse_disability(clean_text(child.get("health"))),
            },
        )
        parents: list[tuple[str, str, str]] = []  # (mention id, role, status)
        for role in ("father", "mother"):
            part = form.get(role)
            if not isinstance(part, dict):
                continue
            pid = self._adult(out, rid, role, part, division, visit)
            if pid:
                parents.append((pid, role, clean_text(part.get("status"))))
        guardian = form.get("guardian")
        gid = None
        g_facts: dict[str, Any] = {}
        if isinstance(guardian, dict):
            gid = self._adult(out, rid, "guardian", guardian, division, visit)
            agreement = clean_text(guardian.get("agreement"))
            if agreement:
                check_one_of(agreement, AGREEMENT_STATES, "委托协议")
            entrusted = guardian.get("entrusted")
            if isinstance(entrusted, str):
                entrusted = {"是": True, "否": False, "true": True, "false": False}.get(entrusted)
            g_id = optional_id(Interpreted(), _text(guardian.get("id_number")), "").number
            g_facts = {
                "basis": g_id or normalise_name(guardian.get("name")) or "",
                "entrusted": bool(entrusted),
                "agreement": AGREEMENT_STATES.get(agreement),
                "signed_on": parse_date(guardian.get("agreement_signed_on"), "协议签订日期"),
                "valid_to": parse_date(guardian.get("agreement_valid_to"), "协议到期日期"),
            }
        findings = [clean_text(f) for f in form.get("findings") or [] if clean_text(f) and f != "无"]
        summary = "；".join(
            x
            for x in (
                f"发现问题：{'、'.join(findings)}" if findings else "发现问题：无",
                f"类别：{clean_text(form.get('child_category'))}" if form.get("child_category") else "",
                f"困境：{'、'.join(form.get('distress_types') or [])}" if form.get("distress_types") else "",
                f"救助：{clean_text(form.get('family_assistance'))}" if form.get("family_assistance") else "",
                f"学校：{clean_text(child.get('school'))} {clean_text(child.get('grade'))}".strip()
                if child.get("school") or child.get("grade")
                else "",
            )
            if x
        )
        supervisor = clean_text(form.get("supervisor")) or None
        child_basis = id_number or f"{name}|{birth.isoformat() if birth else ''}"
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            me = key_of(rid)
            em = Emitted()
            visit_id = f"visit:{rid}"
            em.nodes.append(
                NodeRecord(
                    visit_id,
                    {
                        "visited_on": visit.isoformat(),
                        "visitor": supervisor,
                        "findings": summary,
                        "division": division,
                    },
                    src,
                )
            )
            em.rels.append(RelRecord("CONCERNS", visit_id, me, {}, src))
            em.rels.append(RelRecord("RESIDES_IN", me, f"division:{division}", {"address": address}, src))
            for pid, role, _ in parents:
                em.rels.append(RelRecord("PARENT_OF", key_of(pid), me, {"role": role}, src))
            if gid is not None:
                kind = "entrusted" if g_facts["entrusted"] else "legal"
                g_key = key_of(gid)
                em.rels.append(RelRecord("GUARDIAN_OF", g_key, me, {"kind": kind}, src))
                signed = g_facts["signed_on"]
                if g_facts["entrusted"] and g_facts["agreement"] in ("valid", "expired") and signed:
                    # Named by what the agreement is (who, for whom, signed when), not by
                    # person keys: the same agreement on two forms is one node, and its id
                    # does not depend on how entity resolution numbers people.
                    basis = f"{child_basis}|{g_facts['basis']}|{signed.isoformat()}"
                    agreement = f"agreement:{hashlib.sha256(basis.encode()).hexdigest()[:24]}"
                    valid_to = g_facts["valid_to"]
                    em.nodes.append(
                        NodeRecord(
                            agreement,
                            {
                                "kind": "entrustment",
                                "signed_on": signed.isoformat(),
                                "valid_from": signed.isoformat(),
                                "valid_to": valid_to.isoformat() if valid_to else None,
                                "division": division,
                            },
                            src,
                        )
                    )
                    em.rels.append(RelRecord("SIGNED", g_key, agreement, {"role": "entrusted_guardian"}, src))
                    em.rels.append(RelRecord("COVERS", agreement, me, {}, src))
                    for pid, role, status in parents:
                        if status == "外出务工":
                            em.rels.append(RelRecord("SIGNED", key_of(pid), agreement, {"role": role}, src))
            return em

        out.build = build
        return out

    def _adult(
        self, out: Interpreted, rid: str, role: str, part: dict[str, Any], division: str, visit: Any
    ) -> str | None:
        """Add the mention and claims of a parent or carer named in a form; its mention id."""
        name = given_name(part.get("name"))
        raw_id = _text(part.get("id_number"))
        if not name and not raw_id:
            return None
        mid = mention_record_id(rid, role)
        idc = optional_id(out, raw_id, f"{role} 身份证号")
        id_number = idc.number
        status = clean_text(part.get("status"))
        if status:
            check_one_of(status, PARENT_STATES, f"{role}状况")
        capacity = {"有": True, "无": False}.get(clean_text(part.get("capacity")))
        reason = clean_text(part.get("incapacity_reason")) or None
        if status == "服刑":
            capacity, reason = False, reason or "服刑"
        phone = parse_phone(part.get("phone"))
        sex = {"father": "M", "mother": "F"}.get(role) or _RELATION_SEX.get(clean_text(part.get("relation")))
        if id_number and sex is None:
            sex = "M" if int(id_number[16]) % 2 else "F"
        m = PersonMention(
            system=self.name,
            record_id=mid,
            role=role,
            name=name,
            id_number=id_number,
            sex=sex,
            birth_date=parse_date(id_number[6:14], "ID birth date") if id_number else None,
            division=division,
            phone=phone,
            id_claim=idc.claim,
            id_status=idc.status,
        )
        out.mentions.append(m)
        works_away = {"外出务工": True, "在家": False}.get(status)
        work_place = clean_text(part.get("work_place")) or None
        out.person_props[mid] = {
            "name": name,
            "name_pinyin": m.name_pinyin,
            "id_number": id_number,
            "sex": sex,
            "phone": phone,
            "works_away": works_away,
            "work_destination": work_place if works_away else None,
            "work_contact": phone if works_away else None,
            "guardianship_capacity": capacity,
            "incapacity_reason": reason,
            "deceased": True if status == "死亡" else None,
        }
        return mid


def _text(value: Any) -> str:
    """A value as the form gave it, outer blanks trimmed (an ID number is checked as given)."""
    return "" if value is None else str(value).strip()


def _visit_at(value: Any, fallback: datetime) -> datetime:
    try:
        d = parse_date(value, "走访日期")
    except Rejected:
        return fallback
    return start_of_day(d) if d else fallback
