"""The audit log: every request and every field decision, append-only and hash-chained.

Who (client, user, agency, role), when, why (purpose, break-glass), what (operation, query hash,
records, fields), the decision and the result size; never data values. See `auth.audit.log` for the
write and verify protocol (`chain` the hashing and verification, `change_capture` a change and its entry
in one transaction, `queries`, `notifications` and `export` what is read back, `record_ids` which
record ids a GraphQL request and its response name), `auth.audit.event` for what may be logged and
why, `auth.audit.model` for the tables (created by revision 0003).

Typical use by the API::

    log = AuditLog(engine)
    seq = log.append(AuditEvent.for_principal(principal, request_id=rid, operation="query ChildProfile",
                     query_hash=hash_document(doc), records=["person:p1"],
                     fields={"allow": ["Person.birthDate"], "mask": ["Person.name"]},
                     decision="allow", result_size=1, status=200))
    log.notify_case_owner(seq, owners)   # AuditUnavailable from either: fail the request closed
"""

from auth.audit.chain import Anchor, ChainChecker, VerifyResult, verify_rows
from auth.audit.event import (
    GENESIS_HASH,
    AuditEvent,
    canonical_json,
    check_field_path,
    check_record_id,
    entry_hash,
    format_at,
    hash_document,
    parse_at,
)
from auth.audit.export import read_csv, read_jsonl
from auth.audit.log import AuditLog
from auth.audit.model import DECISIONS, FIELD_DECISIONS, AuditEntry, AuditRecord, AuditReview, Notification
from auth.audit.queries import BreakGlassUse, Page, VolumeAlert
from auth.audit.store import EXPORT_COLUMNS, AuditUnavailable

__all__ = [
    "DECISIONS",
    "EXPORT_COLUMNS",
    "FIELD_DECISIONS",
    "GENESIS_HASH",
    "Anchor",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditRecord",
    "AuditReview",
    "AuditUnavailable",
    "BreakGlassUse",
    "ChainChecker",
    "Notification",
    "Page",
    "VerifyResult",
    "VolumeAlert",
    "canonical_json",
    "check_field_path",
    "check_record_id",
    "entry_hash",
    "format_at",
    "hash_document",
    "parse_at",
    "read_csv",
    "read_jsonl",
    "verify_rows",
]
