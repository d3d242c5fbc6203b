"""What the API hands the audit log, the guard that keeps personal data out of it, and the hash.

Personal data stays out by construction: `AuditEvent` has no field for data values. Records are named by
node id (`person:…`), fields by schema coordinate (`Person.name`) or response path, decisions and
reasons by code. The one free-text field is the break-glass justification (see `AuditEvent`).

The guard (`check_record_id`, `check_field_path`, `check_code`) exists because "by construction" only
holds while every caller passes ids where ids belong. The likely mistakes are passing a value where an id
was expected (a child's name, an ID number, a phone number) or building an id from a value
(`person:<ID number>`); the log is kept for years, copied into exports and read by auditors of other
agencies, so such a value would leak far and could not be removed without breaking the chain. The
guard refuses, with ValueError, before anything is written:

* anything that is not printable ASCII in the expected shape (`kind:key`, `Type.field`, `a.b.0.c`):
  this catches names and addresses (Chinese text) and free text (spaces);
* in record keys, judged by form: a key is tokens separated by `.`, `_`, `:` or `-`, and a token
  that *is* an identifying number is refused: an 18-character resident ID number with a valid
  GB 11643 check digit, a 15-digit first-generation ID number with a valid birth date, or a mainland
  mobile number (`1[3-9]` + 9 digits). A value built into an id (`person:<ID number>`,
  `person:tel-139…`) is such a token. A digit run *inside* a longer token is never refused: opaque
  keys (uuid4 hex person keys, hashes) contain long digit runs by chance, and about 1 in 5,000 random
  person keys holds a 15-digit run with a plausible birth date. Refusing those (as an earlier version
  did) failed every request touching such a child closed, for ever;
* in field paths, reason codes and operation names, any run of 11 or more digits. Schema names never
  have one; a GraphQL alias (chosen by the caller, and part of a response path) that does is an attempt
  to smuggle a value into the log. Callers should prefer schema coordinates, which callers cannot
  choose.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from auth.audit.model import DECISIONS, FIELD_DECISIONS

if TYPE_CHECKING:
    from auth.principal import Principal

GENESIS_HASH = "0" * 64
"""The `prev_hash` of entry 1: the chain's anchor."""

HASHED_COLUMNS: tuple[str, ...] = (
    "seq",
    "at",
    "request_id",
    "client_id",
    "user",
    "agency_id",
    "agency_type",
    "role",
    "issuer",
    "purpose",
    "operation",
    "query_hash",
    "records",
    "fields",
    "decision",
    "reasons",
    "break_glass",
    "break_glass_justification",
    "result_size",
    "status",
    "prev_hash",
)
"""The columns an entry's hash covers: every column but `hash`. Fixed, because old entries must hash the
same forever: a column added later needs a new hash version, not an entry in this tuple."""

MAX_JUSTIFICATION = 2000
MAX_RECORDS = 10_000

_RECORD_ID = re.compile(r"[a-z][a-z0-9_]{0,39}:[A-Za-z0-9][A-Za-z0-9._:\-]{0,159}")
_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,99}"
_FIELD_PATH = re.compile(rf"{_NAME}(?:\.(?:{_NAME}|[0-9]{{1,6}}))*")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:\-]{0,99}")
_OPERATION = re.compile(rf"(?:(?:query|mutation|subscription)(?: {_NAME})?|[a-z][a-z0-9_.:\-]{{0,99}})")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LONG_DIGITS = re.compile(r"[0-9]{11,}")
_KEY_TOKEN_SEP = re.compile(r"[._:\-]")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CHECK = "10X98765432"


def _looks_like_id_number(run: str) -> bool:
    """An 18-character resident ID number with a valid check digit, or a 15-digit old-style one with a
    valid birth date (YYMMDD at positions 7-12)."""
    if len(run) == 18 and run[:17].isdigit():
        total = sum(int(d) * w for d, w in zip(run[:17], _GB11643_WEIGHTS, strict=True))
        return _GB11643_CHECK[total % 11] == run[17].upper()
    if len(run) == 15 and run.isdigit():
        try:
            date(1900 + int(run[6:8]), int(run[8:10]), int(run[10:12]))
        except ValueError:
            return False
        return True
    return False


def check_record_id(value: str) -> str:
    """A node id (`kind:key`, printable ASCII) none of whose key tokens is an ID or mobile number;
    else ValueError. Digits inside an opaque token are never a reason to refuse (see the module doc)."""
    if not isinstance(value, str) or not _RECORD_ID.fullmatch(value):
        raise ValueError(
            f"audit record {_show(value)} is not a node id ('kind:key' in ASCII letters, digits, '._:-'); "
            "the audit log takes ids, never data values"
        )
    kind, _, key = value.partition(":")
    for token in _KEY_TOKEN_SEP.split(key):
        if _looks_like_id_number(token):
            raise ValueError(f"audit record id {kind}:… contains an ID number; refused")
        if _MOBILE.fullmatch(token):
            raise ValueError(f"audit record id {kind}:… contains a phone number; refused")
    return value


def check_field_path(value: str) -> str:
    """A schema coordinate (`Person.name`) or dotted response path (`childProfile.guardians.0.name`)."""
    if not isinstance(value, str) or not _FIELD_PATH.fullmatch(value) or _LONG_DIGITS.search(value):
        raise ValueError(
            f"audit field {_show(value)} is not a field path ('Type.field' or 'a.b.0.c' in ASCII, no long "
            "digit runs); the audit log takes paths, never data values"
        )
    return value


def check_code(value: str, what: str = "code", pattern: re.Pattern[str] = _CODE) -> str:
    """A reason code, purpose code or operation name: ASCII, no spaces, no long digit runs."""
    if not isinstance(value, str) or not pattern.fullmatch(value) or _LONG_DIGITS.search(value):
        raise ValueError(f"audit {what} {_show(value)} is not a code (ASCII letters, digits, '_.:-')")
    return value


def _show(value: object) -> str:
    """A refused value, described without repeating it: it may be the very personal data refused."""
    if not isinstance(value, str):
        return f"of type {type(value).__name__}"
    return f"of {len(value)} characters"


def check_identity(value: str | None, what: str, max_len: int) -> str | None:
    """Identity strings (client, user, agency, issuer ...) come from tokens and configuration, not from
    the graph; they are who acted, which is the point of the log. Only shape is checked."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"audit {what} must be a string")
    value = value.strip()
    if not value:
        return None  # "" and None mean the same; CSV export relies on it
    if len(value) > max_len or _CONTROL.search(value):
        raise ValueError(f"audit {what} {_show(value)} is too long or contains control characters")
    return value


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """One decision to record, before it gets its place (seq, hashes) in the chain.

    `records` are node ids, `fields` maps a per-field decision (allow / mask / deny) to field paths,
    `reasons` are reason codes, `decision` the summary (see `DECISIONS`). Lists are normalised: records and
    field paths sorted and de-duplicated (they are sets; a canonical form keeps hashes stable), reasons
    de-duplicated in order (the first reason is the main one).

    The break-glass justification is the only free text. It is stored, in full: reviewing a break-glass
    use means judging the reason given at the time, and a summary or hash of it could not be judged. It is
    the caller's own statement about the emergency, not a value read from the graph; the API must not fill
    it from request data. It may still name a child ("张三 alone at home"), so it is shown only to
    auditors, and it is required exactly when `break_glass` is set.
    """

    operation: str
    decision: str
    status: int
    request_id: str | None = None
    client_id: str | None = None
    user: str | None = None
    agency_id: str | None = None
    agency_type: str | None = None
    role: str | None = None
    issuer: str | None = None
    purpose: str | None = None
    query_hash: str | None = None
    records: tuple[str, ...] = ()
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    break_glass: bool = False
    break_glass_justification: str | None = None
    result_size: int = 0
    at: datetime | None = None
    """When the decision was made; None lets the log stamp it when it appends (the normal case)."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "operation", check_code(self.operation, "operation", _OPERATION))
        if self.decision not in DECISIONS:
            raise ValueError(f"audit decision must be one of {', '.join(DECISIONS)}, not {self.decision!r}")
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError(f"audit status must be an HTTP status code, not {self.status!r}")
        for name, max_len in (
            ("request_id", 100),
            ("client_id", 200),
            ("user", 200),
            ("agency_id", 100),
            ("agency_type", 100),
            ("role", 100),
            ("issuer", 500),
        ):
            set_(self, name, check_identity(getattr(self, name), name, max_len))
        if self.purpose is not None:
            set_(self, "purpose", check_code(self.purpose, "purpose") if self.purpose.strip() else None)
        if self.query_hash is not None and not _HEX64.fullmatch(self.query_hash):
            raise ValueError("audit query_hash must be a lower-case sha256 hex digest (see hash_document)")
        if isinstance(self.records, str):
            raise ValueError("audit records must be a collection of node ids, not one string")
        records = tuple(sorted({check_record_id(r) for r in self.records}))
        if len(records) > MAX_RECORDS:
            raise ValueError(f"audit entry names {len(records)} records; at most {MAX_RECORDS}")
        set_(self, "records", records)
        set_(self, "fields", _normalise_fields(self.fields))
        if isinstance(self.reasons, str):
            raise ValueError("audit reasons must be a collection of reason codes, not one string")
        set_(self, "reasons", tuple(dict.fromkeys(check_code(r, "reason") for r in self.reasons)))
        if self.decision == "allow" and self.fields.get("deny"):
            raise ValueError("audit decision 'allow' with denied fields; the summary is 'partial'")
        set_(self, "break_glass", bool(self.break_glass))
        justification = (self.break_glass_justification or "").strip() or None
        if self.break_glass and justification is None:
            raise ValueError("a break-glass entry needs the justification the caller gave")
        if not self.break_glass and justification is not None:
            raise ValueError("a justification belongs only to a break-glass entry")
        if justification is not None and (len(justification) > MAX_JUSTIFICATION or "\x00" in justification):
            raise ValueError(f"break-glass justification longer than {MAX_JUSTIFICATION} characters")
        set_(self, "break_glass_justification", justification)
        if (
            isinstance(self.result_size, bool)
            or not isinstance(self.result_size, int)
            or self.result_size < 0
        ):
            raise ValueError("audit result_size must be a non-negative integer")
        if self.at is not None and (self.at.tzinfo is None or self.at.utcoffset() is None):
            raise ValueError("audit time must be timezone-aware")

    @classmethod
    def for_principal(cls, principal: Principal, **kwargs: Any) -> AuditEvent:
        """The event for a request made by `principal`: who and why come from it, the rest from kwargs.

        The purpose and the break-glass grant (with its justification) are the principal's; pass
        `purpose=` to override the purpose.
        """
        bg = principal.break_glass
        who: dict[str, Any] = {
            "client_id": principal.client_id,
            "user": principal.user,
            "agency_id": principal.agency_id,
            "agency_type": principal.agency_type,
            "role": principal.role,
            "issuer": principal.issuer,
            "purpose": principal.purpose,
            "break_glass": bg is not None,
            "break_glass_justification": bg.justification if bg is not None else None,
        }
        who.update(kwargs)
        return cls(**who)


def _normalise_fields(value: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ValueError("audit fields must map a decision (allow/mask/deny) to field paths")
    out: dict[str, tuple[str, ...]] = {}
    for decision in sorted(value):
        if decision not in FIELD_DECISIONS:
            raise ValueError(f"audit field decision must be one of {', '.join(FIELD_DECISIONS)}")
        paths = value[decision]
        if isinstance(paths, str):
            raise ValueError("audit field paths must be a collection of paths, not one string")
        cleaned = tuple(sorted({check_field_path(p) for p in paths}))
        if cleaned:
            out[decision] = cleaned
    return out


# -------------------------------------------------------------------------------------------- hashing


def format_at(at: datetime) -> str:
    """The one text form of a timestamp in hashes and exports: UTC, microseconds, 'Z'."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_at(text: str) -> datetime:
    """Inverse of `format_at` (accepts any ISO-8601 text with an offset)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return value.astimezone(UTC)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same entry always serialises to the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an entry its hash covers, in JSON types (the timestamp as `format_at` text)."""
    view = {name: row[name] for name in HASHED_COLUMNS}
    at = view["at"]
    view["at"] = format_at(at) if isinstance(at, datetime) else at
    view["records"] = list(view["records"])
    view["fields"] = {k: list(v) for k, v in view["fields"].items()}
    view["reasons"] = list(view["reasons"])
    return view


def entry_hash(row: Mapping[str, Any]) -> str:
    """sha256(prev_hash + canonical_json(entry without hash)), hex."""
    body = canonical_json(hashed_view(row))
    return hashlib.sha256((row["prev_hash"] + body).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------- query hashing

_STRING_LITERAL = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"')
_NUMBER_LITERAL = re.compile(r"(?<![A-Za-z0-9_])-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_COMMENT = re.compile(r"#[^\n]*")


def hash_document(document: str) -> str:
    """sha256 of the normalised GraphQL document, for `AuditEvent.query_hash`.

    Normalised means parsed and re-printed (whitespace, commas and comments do not matter) with every
    literal replaced by a placeholder. The literals must go: a query such as
    `person(idNumber: "510…")` would otherwise hash to a value anyone can reverse by hashing the few
    thousand ID numbers of a known birth date and county. The hash then identifies the query's shape,
    which is what an auditor groups by; values belong in variables, which are never logged.
    A document that does not parse is hashed with literals and comments stripped by pattern instead.
    """
    try:
        from graphql import parse, print_ast
        from graphql.language import ast as gql
        from graphql.language.visitor import Visitor, visit

        class _HideLiterals(Visitor):
            def enter_string_value(self, node: gql.StringValueNode, *_: Any) -> gql.StringValueNode:
                return gql.StringValueNode(value="", block=False)

            def enter_int_value(self, node: gql.IntValueNode, *_: Any) -> gql.IntValueNode:
                return gql.IntValueNode(value="0")

            def enter_float_value(self, node: gql.FloatValueNode, *_: Any) -> gql.IntValueNode:
                return gql.IntValueNode(value="0")

        text = print_ast(visit(parse(document, no_location=True), _HideLiterals()))
    except Exception:
        text = _COMMENT.sub("", _NUMBER_LITERAL.sub("0", _STRING_LITERAL.sub('""', document)))
    normalised = " ".join(text.replace(",", " ").split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def literal_digest(document: str) -> str | None:
    """sha256 of the normalised document with its literals kept (None when it does not parse): two
    documents of one `hash_document` shape differ here when a literal does (`depth: 1`, `depth: 3`).
    Only compared with the console's own documents (auth.audit.known), never stored: an ID number
    written into a document would be recoverable from it."""
    try:
        from graphql import parse, print_ast

        text = print_ast(parse(document, no_location=True))
    except Exception:
        return None
    normalised = " ".join(text.replace(",", " ").split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
