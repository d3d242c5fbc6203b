"""The health system's FHIR R4 collection Bundles, per township health centre and for the county hospital."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from connectors.synthetic import vocab
from connectors.synthetic.emitter_base import EmitterBase
from connectors.synthetic.facts import ChildFacts, HealthEvent
from connectors.synthetic.population import (
    Person,
)
from connectors.synthetic.sinks import BundleSink
from connectors.synthetic.values import (
    ACT_CODE,
    GENDER_FHIR,
    ICD10,
    LOINC,
    OID_HEALTH_RECORD,
    OID_ID_CARD,
    OID_OUTPATIENT,
    RELATION_ROLE_CODE,
    ROLE_CODE,
    UCUM,
    age_on,
    fhir_datetime,
)


class HealthWriter(EmitterBase):
    """Writes a child's Patient, related persons and encounters with their resources."""

    # -- health -----------------------------------------------------------------------------

    def _health(self, child: Person, f: ChildFacts) -> None:
        if not f.health:
            return
        if self.noise.roll("health", "absent_from_source"):
            return
        for facility in ("thc", "cph"):
            events = [e for e in f.health if e.facility == facility]
            if not events:
                continue
            sink = self.hospital if facility == "cph" else self.centre
            if sink is None:
                raise RuntimeError("a health event outside any township")
            file_stem = sink.stem
            self._patient_bundle(child, f, events, sink, file_stem)
            sink.end_group()

    def _patient_bundle(
        self, child: Person, f: ChildFacts, events: list[HealthEvent], sink: BundleSink, stem: str
    ) -> None:
        system = "health"
        noise = self.noise
        hh = child.household
        file = f"health/{sink.current_name()}"
        pid = self._uuid()
        applied: list[str] = []
        name = noise.name(system, child.name, applied)
        idn = noise.id_number(system, child.id_number, applied)
        birth = noise.date(system, child.birth, applied)
        address = noise.address(system, hh.address, self._stale_address(hh), applied)
        last = max(events, key=lambda e: (e.day, e.minute))
        identifiers: list[dict[str, Any]] = []
        if idn:
            identifiers.append({"use": "official", "system": OID_ID_CARD, "value": idn})
        if stem.startswith("thc"):
            identifiers.append(
                {
                    "use": "usual",
                    "system": OID_HEALTH_RECORD,
                    "value": f"{hh.village.township.code}{self._next('health_record'):08d}",
                }
            )
        else:
            identifiers.append(
                {"use": "usual", "system": OID_OUTPATIENT, "value": f"MZ{self._next('outpatient'):09d}"}
            )
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "meta": {"lastUpdated": fhir_datetime(last.day, last.minute + 90)},
            "identifier": identifiers,
            "name": [{"use": "official", "text": name, "family": name[0], "given": [name[1:]]}],
            "gender": GENDER_FHIR[child.sex],
            "birthDate": birth.isoformat(),
            "address": [
                {
                    "use": "home",
                    "text": address,
                    "state": vocab.PROVINCE_NAME,
                    "district": vocab.COUNTY_NAME,
                    "country": "CN",
                }
            ],
        }
        malformed = self._malformed(system)
        if malformed:
            if noise.rng.random() < 0.5:
                patient["birthDate"] = f"{child.birth.year}-02-30"
            else:
                del patient["name"]
        sink.add(f"urn:uuid:{pid}", patient)
        self._map(system, file, f"Patient/{pid}", child, "subject", "person", applied, malformed)

        # The accompanying adult: the guardian, or for a baby its mother.
        adult, relation = child.guardian, child.guardian_relation
        if child.age(self.as_of) < 1 and child.mother is not None and child.mother.can_care:
            adult, relation = child.mother, "母亲"
        if adult is not None and relation:
            rid = self._uuid()
            r_applied: list[str] = []
            r_name = noise.name(system, adult.name, r_applied)
            r_idn = noise.id_number(system, adult.id_number, r_applied)
            code, display = RELATION_ROLE_CODE.get(relation, ("FAMMEMB", "family member"))
            related: dict[str, Any] = {
                "resourceType": "RelatedPerson",
                "id": rid,
                "meta": {"lastUpdated": patient["meta"]["lastUpdated"]},
                "patient": {"reference": f"urn:uuid:{pid}"},
                "relationship": [
                    {"coding": [{"system": ROLE_CODE, "code": code, "display": display}], "text": relation}
                ],
                "name": [{"text": r_name}],
                "gender": GENDER_FHIR[adult.sex],
            }
            if r_idn:
                related["identifier"] = [{"system": OID_ID_CARD, "value": r_idn}]
            if adult.phone:
                related["telecom"] = [{"system": "phone", "value": adult.phone, "use": "mobile"}]
            r_malformed = self._malformed(system)
            if r_malformed:
                del related["patient"]
            sink.add(f"urn:uuid:{rid}", related)
            self._map(
                system, file, f"RelatedPerson/{rid}", adult, "related", "person", r_applied, r_malformed
            )

        centre = hh.village.township.health_centre
        if centre is None:
            raise ValueError(f"township {hh.village.township.code} has no health centre")
        facility = self.county.hospital.name if stem.startswith("cph") else centre.name
        for e in events:
            self._encounter(child, f, e, pid, sink, file, facility)

    def _encounter(
        self,
        child: Person,
        f: ChildFacts,
        e: HealthEvent,
        pid: str,
        sink: BundleSink,
        file: str,
        facility: str,
    ) -> None:
        subject = {"reference": f"urn:uuid:{pid}"}
        eid = self._uuid()
        klass = {
            "checkup": "AMB",
            "illness": "AMB",
            "disability": "AMB",
            "injury": "EMER",
            "maltreatment": "EMER",
            "serious": "IMP",
        }[e.kind]
        type_text = {
            "checkup": "儿童健康检查",
            "illness": "门诊",
            "disability": "残疾评定",
            "injury": "急诊",
            "maltreatment": "急诊",
            "serious": "住院",
        }[e.kind]
        start = fhir_datetime(e.day, e.minute)
        end_minutes = e.minute + (
            60 * 24 * self.detail.randint(3, 20) if klass == "IMP" else self.detail.randint(15, 180)
        )
        updated = fhir_datetime(e.day, end_minutes + 30)
        encounter: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": eid,
            "meta": {"lastUpdated": updated},
            "status": "finished",
            "class": {
                "system": ACT_CODE,
                "code": klass,
                "display": {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}[klass],
            },
            "type": [{"text": type_text}],
            "subject": subject,
            "period": {"start": start, "end": fhir_datetime(e.day, end_minutes)},
            "serviceProvider": {"display": facility},
        }
        if e.kind == "checkup":
            code, display = vocab.ROUTINE_CHECKUP
            encounter["reasonCode"] = [{"coding": [{"system": ICD10, "code": code, "display": display}]}]
        self._event_resource(child, encounter, sink, file)
        for code, display in e.conditions:
            cid = self._uuid()
            active = e.kind in ("serious", "disability") or (e.day > self.as_of - timedelta(days=14))
            condition: dict[str, Any] = {
                "resourceType": "Condition",
                "id": cid,
                "meta": {"lastUpdated": updated},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active" if active else "resolved",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "encounter-diagnosis",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display},
                "subject": subject,
                "encounter": {"reference": f"urn:uuid:{eid}"},
                "onsetDateTime": start,
                "recordedDate": start,
            }
            self._event_resource(child, condition, sink, file)
        if e.measure:
            height, weight = _growth(
                child, e.day, f.height_z, f.weight_z, any(c[0] == "E44.1" for c in e.conditions)
            )
            for loinc, display, value, unit in (
                ("8302-2", "Body height", height, "cm"),
                ("29463-7", "Body weight", weight, "kg"),
            ):
                oid = self._uuid()
                observation: dict[str, Any] = {
                    "resourceType": "Observation",
                    "id": oid,
                    "meta": {"lastUpdated": updated},
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "vital-signs",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                    "subject": subject,
                    "encounter": {"reference": f"urn:uuid:{eid}"},
                    "effectiveDateTime": start,
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                }
                self._event_resource(child, observation, sink, file)

    def _event_resource(self, child: Person, resource: dict[str, Any], sink: BundleSink, file: str) -> None:
        malformed = self._malformed("health")
        if malformed:
            del resource["subject"]
        sink.add(f"urn:uuid:{resource['id']}", resource)
        self._map(
            "health",
            file,
            f"{resource['resourceType']}/{resource['id']}",
            child,
            "subject",
            "event",
            [],
            malformed,
        )


def _growth(
    child: Person, day: date, height_z: float, weight_z: float, underweight: bool
) -> tuple[float, float]:
    age = max(0.0, age_on(child, day))
    table = vocab.GROWTH
    for (a0, h0, w0), (a1, h1, w1) in pairwise(table):
        if a0 <= age <= a1:
            t = (age - a0) / (a1 - a0)
            h, w = h0 + t * (h1 - h0), w0 + t * (w1 - w0)
            break
    else:
        h, w = table[-1][1], table[-1][2]
    if child.sex == "M" and age > 12:
        h += min(6.0, (age - 12) * 1.5)
        w += min(5.0, (age - 12) * 1.2)
    h *= 1 + 0.04 * height_z
    w *= (1 + 0.11 * weight_z) * (0.85 if underweight else 1.0)
    return round(h, 1), round(w, 1)
