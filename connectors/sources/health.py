"""Health: HL7 FHIR R4 resources, from Bundle files or from a FHIR server's REST search.

Patient, RelatedPerson (the accompanying carer), Encounter, Condition (ICD-10) and
Observation (growth: LOINC 8302-2 height, 29463-7 weight). Each facility keeps its own
Patient for a child, so the same child arrives once per facility with different ids;
entity resolution brings them together.

Files: ``*.json`` Bundles (any type) under a directory; references inside a bundle are
``urn:uuid:`` full URLs, resolved against the bundle's own entries at read time and kept
beside the resource in the landed payload. REST: ``GET [base]/[type]?_lastUpdated=ge<t>``
sorted by ``_lastUpdated`` and paged by following ``link[next]``, one resource type after
the other (Patients first, so events find their subject); the cursor is the newest
``meta.lastUpdated`` seen per type. ``ge`` rather than ``gt`` re-reads the resources that
share the boundary instant, which landing recognises by content hash, so none is missed.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.landing import LandedRow, RawRecord
from connectors.mentions import PersonMention
from connectors.sources.base import (
    DuplicateIds,
    Emitted,
    FileNote,
    Interpreted,
    Need,
    Source,
    UnreadableFile,
    file_record,
    with_rejection,
)
from connectors.sources.cursor import FileCursor, file_mtime, mark_file, whole_file_changed
from connectors.sources.encoding import detect_encoding
from connectors.sources.folder import first_match, folder_files
from connectors.sources.json_reader import json_per_line, json_text, json_whole
from connectors.sources.police import check_id_agrees, optional_id
from connectors.standardise import (
    Reference,
    Rejected,
    clean_text,
    given_name,
    parse_date,
    parse_datetime,
    parse_phone,
    parse_sex,
)
from graph.records import Assertion, NodeRecord, RelRecord
from kernel import clock
from kernel.messages import say

__all__ = ["RESOURCE_TYPES", "FhirRestSource", "HealthSource"]

OID_ID_CARD = "urn:oid:2.16.156.10011.1.3"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
RESOURCE_TYPES: tuple[str, ...] = ("Patient", "RelatedPerson", "Encounter", "Condition", "Observation")
ENCOUNTER_KINDS = {
    "儿童健康检查": "checkup",
    "门诊": "outpatient",
    "急诊": "emergency",
    "住院": "inpatient",
    "残疾评定": "disability_assessment",
}
OBSERVATION_KINDS = {"8302-2": "body_height", "29463-7": "body_weight", "39156-5": "bmi"}
PARENT_ROLES = {"FTH": "father", "MTH": "mother", "NFTH": "father", "NMTH": "mother"}


def _asserted(resource: dict[str, Any], fallback: datetime) -> datetime:
    try:
        return parse_datetime((resource.get("meta") or {}).get("lastUpdated"), "meta.lastUpdated") or fallback
    except Rejected:
        return fallback


def _refs(value: Any, out: set[str]) -> None:
    """Every ``reference`` string inside a resource (walked with a stack, not a call per level)."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        v = pop()
        if isinstance(v, dict):
            ref = v.get("reference")
            if isinstance(ref, str):
                out.add(ref)
            items: Any = v.values()
        elif isinstance(v, list):
            items = v
        else:
            continue
        for x in items:
            if isinstance(x, dict | list):
                push(x)


def _record(
    resource: dict[str, Any], full_url: str, origin: str, fallback: datetime, context: dict[str, str]
) -> RawRecord:
    rtype = clean_text(resource.get("resourceType")) or "Unknown"
    rid = clean_text(resource.get("id"))
    record_id = f"{rtype}/{rid}" if rid else f"{rtype}/@{origin}"
    payload: dict[str, Any] = {"fullUrl": full_url, "resource": resource}
    if context:
        payload["context"] = context
    return RawRecord(record_id, rtype, payload, origin, _asserted(resource, fallback))


class HealthSource(Source):
    """FHIR Bundle files under a directory (township health centres, the county hospital)."""

    name = "health"
    description = "health records, FHIR R4 Bundles (files) or a FHIR server (REST)"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)

    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        state = FileCursor(cursor)
        self.files = []
        files, skipped = folder_files(self.root)
        self.files.extend(skipped)
        for path, rel in files:
            if first_match(rel, ("*.json",)) is None:
                self.files.append(FileNote(rel, "ignored", "不是 FHIR Bundle 文件（*.json）"))
                continue
            note = FileNote(rel, "read", kind="Bundle")
            self.files.append(note)
            data = whole_file_changed(path, rel, state)
            if data is None:
                note.status = "unchanged"
                continue
            mtime = file_mtime(path)
            if not data.strip():
                note.status, note.reason = "empty", "空文件（没有记录）"
            else:
                note.encoding = detect_encoding(data, "utf-8")
                try:
                    for rec in self._bundle(data, rel, mtime):
                        note.records += 1
                        yield rec
                except UnreadableFile as exc:
                    note.status, note.reason = "failed", exc.message
                    yield file_record(rel, data, exc.code, exc.message, mtime)
            mark_file(rel, data, state)
        self.next_cursor = state.dump()

    def _bundle(self, data: bytes, rel: str, mtime: datetime) -> Iterator[RawRecord]:
        entries = list(_bundle_entries(data, rel))
        by_url: dict[str, str] = {}
        homes: dict[str, str] = {}  # a Patient's address by full URL: where its carer is met
        for _, entry in entries:
            if not isinstance(entry, dict):
                continue
            res = entry.get("resource") or {}
            if not isinstance(res, dict):
                continue
            url = entry.get("fullUrl")
            if isinstance(url, str) and res.get("resourceType") and res.get("id"):
                by_url[url] = f"{res['resourceType']}/{res['id']}"
                if res.get("resourceType") == "Patient" and _address(res):
                    homes[url] = _address(res) or ""
        dupes = DuplicateIds(rel, "资源")
        for n, entry in entries:
            if isinstance(entry, UnreadableFile):
                yield RawRecord(
                    f"{rel}#{n}", "entry", with_rejection({}, entry.code, entry.message), f"{rel}#{n}", mtime
                )
                continue
            if not isinstance(entry, dict):  # one-per-line layout: a line of JSON that is no object
                message = say("reject.fhir_entry_not_object", file=rel, line=n, what=_json_kind(entry))
                yield RawRecord(
                    f"{rel}#{n}", "entry", with_rejection({}, "value.invalid", message), f"{rel}#{n}", mtime
                )
                continue
            res = entry.get("resource")
            if not isinstance(res, dict):
                message = f"{rel} 第 {n} 项没有 resource"
                yield RawRecord(
                    f"{rel}#{n}",
                    "entry",
                    with_rejection({"entry": entry}, "value.invalid", message),
                    f"{rel}#{n}",
                    mtime,
                )
                continue
            used: set[str] = set()
            _refs(res, used)
            context = {u: by_url[u] for u in sorted(used) if u in by_url}
            rec = _record(res, str(entry.get("fullUrl") or ""), f"{rel}#{n}", mtime, context)
            if rec.kind == "RelatedPerson":
                home = homes.get(str((res.get("patient") or {}).get("reference") or ""))
                if home:
                    rec.payload["patient_address"] = home
            payload = dupes.check(rec.record_id, f"第 {n} 项", rec.payload)
            if payload is not rec.payload:
                rec = RawRecord(rec.record_id, rec.kind, payload, rec.origin, rec.asserted_at)
            yield rec

    # -- interpretation ----------------------------------------------------------------------

    def standardise(self, row: LandedRow, ref: Reference) -> Interpreted:
        res = row.payload.get("resource")
        if not isinstance(res, dict):
            raise Rejected("value.invalid", say("reject.fhir_no_resource"))
        context: dict[str, str] = row.payload.get("context") or {}
        handler = {
            "Patient": self._patient,
            "RelatedPerson": self._related,
            "Encounter": self._encounter,
            "Condition": self._condition,
            "Observation": self._observation,
        }.get(row.kind)
        if handler is None:
            raise Rejected("value.invalid", say("reject.fhir_type", kind=repr(row.kind)))
        return handler(row, res, context, ref)

    def _patient(
        self, row: LandedRow, res: dict[str, Any], context: dict[str, str], ref: Reference
    ) -> Interpreted:
        rid = row.record_id
        out = Interpreted()
        name = _name(res)
        if not name:
            raise Rejected("field.missing", say("reject.fhir_missing", rid=rid, field="Patient.name"))
        idc = optional_id(out, _id_card(res), "Patient.identifier (身份证)")
        id_number = idc.number
        sex = parse_sex(res.get("gender"), "Patient.gender")
        birth = parse_date(res.get("birthDate"), "Patient.birthDate", not_after=clock.today())
        check_id_agrees(out, id_number, birth, sex)
        address = _address(res)
        village = ref.division_of_address(address)
        m = PersonMention(
            system=self.name,
            record_id=rid,
            role="patient",
            name=name,
            id_number=id_number,
            sex=sex,
            birth_date=birth,
            division=village,
            phone=_phone(res),
            id_claim=idc.claim,
            id_status=idc.status,
        )
        out.add_person(
            m,
            {
                "residence_address": address,
            },
        )
        at = row.asserted_at
        if village:

            def build(key_of: Any) -> Emitted:
                src = Assertion(self.name, rid, at)
                rel = RelRecord("RESIDES_IN", key_of(rid), f"division:{village}", {"address": address}, src)
                return Emitted([], [rel])

            out.build = build
        return out

    def _related(
        self, row: LandedRow, res: dict[str, Any], context: dict[str, str], ref: Reference
    ) -> Interpreted:
        rid = row.record_id
        patient = _subject(row, res, context, "patient")
        out = Interpreted()
        name = _name(res)
        raw_id = _id_card(res)
        if not name and not raw_id:
            raise Rejected("field.missing", say("reject.fhir_related", rid=rid))
        idc = optional_id(out, raw_id, "RelatedPerson.identifier (身份证)")
        id_number = idc.number
        sex = parse_sex(res.get("gender"), "RelatedPerson.gender")
        codes = [
            c.get("code")
            for r in res.get("relationship") or []
            for c in (r.get("coding") or [])
            if isinstance(c, dict)
        ]
        role = next((PARENT_ROLES[c] for c in codes if c in PARENT_ROLES), None)
        phone = _phone(res)
        m = PersonMention(
            system=self.name,
            record_id=rid,
            role=role or "related",
            name=name,
            id_number=id_number,
            sex=sex,
            phone=phone,
            # The carer who brings a child is met where the child lives: a hint for matching,
            # not a residence claim (no RESIDES_IN is asserted).
            division=ref.division_of_address(clean_text(row.payload.get("patient_address"))),
            id_claim=idc.claim,
            id_status=idc.status,
        )
        out.mentions.append(m)
        out.person_props[rid] = {
            "name": name,
            "name_pinyin": m.name_pinyin,
            "id_number": id_number,
            "sex": sex,
            "phone": phone,
        }
        out.needs.append(Need(patient, patient))
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            if role is None:
                return Emitted()
            src = Assertion(self.name, rid, at)
            return Emitted([], [RelRecord("PARENT_OF", key_of(rid), key_of(patient), {"role": role}, src)])

        out.build = build
        return out

    def _event(
        self,
        row: LandedRow,
        subject: str,
        props: dict[str, Any],
        out: Interpreted,
    ) -> Interpreted:
        rid = row.record_id
        out.needs.append(Need(subject, subject))
        at = row.asserted_at

        def build(key_of: Any) -> Emitted:
            src = Assertion(self.name, rid, at)
            event = f"healthevent:{rid.split('/', 1)[1]}"
            return Emitted(
                [NodeRecord(event, props, src)], [RelRecord("CONCERNS", event, key_of(subject), {}, src)]
            )

        out.build = build
        return out

    def _encounter(
        self, row: LandedRow, res: dict[str, Any], context: dict[str, str], ref: Reference
    ) -> Interpreted:
        subject = _subject(row, res, context, "subject")
        period = res.get("period") or {}
        start = parse_date(period.get("start"), "Encounter.period.start", required=True)
        if start is None:
            raise Rejected("field.missing", say("reject.blank", field="Encounter.period.start"))
        type_text = clean_text(((res.get("type") or [{}])[0] or {}).get("text"))
        klass = clean_text((res.get("class") or {}).get("code")).lower()
        kind = ENCOUNTER_KINDS.get(type_text) or (f"encounter_{klass}" if klass else "encounter")
        icd = _icd10([c for rc in res.get("reasonCode") or [] for c in (rc.get("coding") or [])])
        facility_name = clean_text((res.get("serviceProvider") or {}).get("display")) or None
        facility = ref.facility_by_name(facility_name)
        props = {
            "kind": kind,
            "icd10": icd,
            "occurred_on": start.isoformat(),
            # The facility's code when the reference knows it: the code a clinic agency is
            # registered with (its patient scope), not its display name.
            "facility": facility.facility_id if facility else facility_name,
            "division": facility.division_code if facility else None,
        }
        return self._event(row, subject, props, Interpreted())

    def _condition(
        self, row: LandedRow, res: dict[str, Any], context: dict[str, str], ref: Reference
    ) -> Interpreted:
        subject = _subject(row, res, context, "subject")
        icd = _icd10((res.get("code") or {}).get("coding") or [])
        if not icd:
            raise Rejected(
                "field.missing",
                say("reject.fhir_coding", rid=row.record_id, field="Condition.code", system="ICD-10"),
            )
        onset = parse_date(res.get("onsetDateTime") or res.get("recordedDate"), "Condition.onsetDateTime")
        props = {"kind": "condition", "icd10": icd, "occurred_on": onset.isoformat() if onset else None}
        return self._event(row, subject, props, Interpreted())

    def _observation(
        self, row: LandedRow, res: dict[str, Any], context: dict[str, str], ref: Reference
    ) -> Interpreted:
        subject = _subject(row, res, context, "subject")
        codes = [
            c.get("code") for c in (res.get("code") or {}).get("coding") or [] if c.get("system") == LOINC
        ]
        if not codes:
            raise Rejected(
                "field.missing",
                say("reject.fhir_coding", rid=row.record_id, field="Observation.code", system="LOINC"),
            )
        when = parse_date(res.get("effectiveDateTime"), "Observation.effectiveDateTime")
        quantity = res.get("valueQuantity") or {}
        if "value" in quantity and not isinstance(quantity["value"], int | float):
            raise Rejected(
                "value.invalid",
                say("reject.not_a_number", field=f"{row.record_id}: valueQuantity.value", value=""),
            )
        kind = OBSERVATION_KINDS.get(codes[0], f"loinc_{codes[0]}")
        props = {"kind": kind, "occurred_on": when.isoformat() if when else None}
        return self._event(row, subject, props, Interpreted())


def _subject(row: LandedRow, res: dict[str, Any], context: dict[str, str], field_name: str) -> str:
    """The ``Patient/<id>`` record id a resource's subject (or patient) refers to."""
    reference = clean_text((res.get(field_name) or {}).get("reference"))
    if not reference:
        raise Rejected(
            "reference.missing",
            say("reject.fhir_missing", rid=row.record_id, field=f"{row.kind}.{field_name}"),
        )
    target = context.get(reference)
    if target is None:
        # A REST server's relative (Patient/x) or absolute ([base]/Patient/x) reference.
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == "Patient":
            target = f"Patient/{parts[-1]}"
    if target is None or not target.startswith("Patient/"):
        raise Rejected(
            "reference.unresolved",
            say("reject.fhir_not_patient", rid=row.record_id, field=field_name, ref=reference),
        )
    return target


def _name(res: dict[str, Any]) -> str | None:
    for n in res.get("name") or []:
        if not isinstance(n, dict):
            continue
        given = [g for g in n.get("given") or [] if isinstance(g, str)]
        text = given_name(n.get("text")) or given_name((n.get("family") or "") + "".join(given))
        if text:
            return text
    return None


def _id_card(res: dict[str, Any]) -> str:
    for ident in res.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == OID_ID_CARD:
            value = ident.get("value")
            return "" if value is None else str(value).strip()
    return ""


def _phone(res: dict[str, Any]) -> str | None:
    for t in res.get("telecom") or []:
        if isinstance(t, dict) and t.get("system") == "phone":
            return parse_phone(t.get("value"))
    return None


def _address(res: dict[str, Any]) -> str | None:
    for a in res.get("address") or []:
        if isinstance(a, dict) and a.get("text"):
            return clean_text(a["text"])
    return None


def _icd10(codings: list[Any]) -> str | None:
    for c in codings:
        if isinstance(c, dict) and c.get("system") == ICD10 and c.get("code"):
            return clean_text(c["code"])
    return None


def _json_kind(value: Any) -> str:
    """The JSON kind of a value, for a reason (never the value: it may be a person's data)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else type(value).__name__


def _bundle_entries(data: bytes, rel: str = "Bundle") -> Iterator[tuple[int, Any]]:
    """(line or position, entry) of a Bundle; entries written one per line are parsed one
    at a time (a 50,000-entry bundle is never a single Python object tree), any other
    layout is parsed whole. In the one-per-line layout an entry that does not parse is
    given as an :class:`UnreadableFile` for its line and the others go on; a file that
    cannot be decoded or parsed raises one, naming the line."""
    text = json_text(data, rel)
    lines = text.split("\n")
    if len(lines) > 2 and lines[0].rstrip().endswith('"entry":['):
        yield from json_per_line(lines, rel, ("]}", "]", "}"))
        return
    doc = json_whole(text, rel)
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        raise UnreadableFile("file.not_bundle", f"{rel} 不是 FHIR Bundle（resourceType 不是 Bundle）")
    for n, entry in enumerate(doc.get("entry") or [], start=1):
        yield n, entry if isinstance(entry, dict) else {"_value": entry}


class FhirRestSource(HealthSource):
    """The same resources from a FHIR server: type by type, ``_lastUpdated`` paging.

    ``base_url`` is the FHIR base (``http://host:port/fhir``). The cursor is JSON
    ``{"<type>": "<newest meta.lastUpdated seen>"}``.
    """

    def __init__(self, base_url: str, *, page_size: int = 500, timeout: float = 60.0) -> None:
        Source.__init__(self)
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timeout = timeout

    def _get(self, url: str) -> dict[str, Any]:
        req = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def read(self, cursor: str | None) -> Iterator[RawRecord]:
        try:
            marks: dict[str, str] = json.loads(cursor) if cursor else {}
        except ValueError:
            marks = {}
        new_marks = dict(marks)
        fallback = datetime.now().astimezone()
        for rtype in RESOURCE_TYPES:
            params = {"_sort": "_lastUpdated", "_count": str(self.page_size)}
            if marks.get(rtype):
                params["_lastUpdated"] = f"ge{marks[rtype]}"
            url: str | None = f"{self.base_url}/{rtype}?{urllib.parse.urlencode(params)}"
            newest = marks.get(rtype, "")
            while url:
                page = self._get(url)
                for n, entry in enumerate(page.get("entry") or [], start=1):
                    res = entry.get("resource")
                    if not isinstance(res, dict):
                        continue
                    rec = _record(res, str(entry.get("fullUrl") or ""), f"{url}#{n}", fallback, {})
                    updated = (res.get("meta") or {}).get("lastUpdated") or ""
                    if _instant(updated) > _instant(newest):
                        newest = updated
                    yield rec
                url = next(
                    (link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"),
                    None,
                )
                if url and not url.startswith("http"):
                    url = urllib.parse.urljoin(self.base_url + "/", url)
            if newest:
                new_marks[rtype] = newest
        self.next_cursor = json.dumps(new_marks, sort_keys=True)


def _instant(text: str) -> float:
    """Seconds since the epoch of a FHIR instant ('' and unreadable sort first)."""
    try:
        dt = parse_datetime(text, "instant")
    except Rejected:
        return 0.0
    return dt.timestamp() if dt else 0.0
