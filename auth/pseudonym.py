"""Stable, keyed, reversible pseudonyms for record ids: what analysts see instead of people.

A pseudonym is the record id under AES-SIV (RFC 5297, deterministic authenticated encryption,
from ``cryptography``): the same id always gives the same pseudonym under one key, so networks
traced on different days can be compared, yet nobody without the key can compute or reverse
one. Its synthetic IV is a keyed PRF of the id, which is what an HMAC pseudonym would be; the
ciphertext after it is what makes re-identification possible without a table of every
pseudonym ever handed out (which would be written on every read). Re-identification itself is
the API's business: a capability, a declared purpose, an audit entry (api/network_schema.py).

The key is never in the repository: ``SHOUHU_PSEUDONYM_KEY`` (64 bytes, base64) when set,
otherwise ``<data_dir>/pseudonym.key``, generated on first use with mode 0600, the way the
token-signing keys are generated on first use rather than shipped.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from kernel.settings import Settings

KEY_BYTES = 64  # AES-SIV with two AES-256 keys
KEY_FILE = "pseudonym.key"
_CONTEXT = [b"shouhu-pseudonym-v1"]  # associated data: a key reused elsewhere gives other values
SEPARATOR = "~"  # record ids use ':', so a pseudonym can never be taken for an id
FIELD_MASK = "field_mask"
"""The `use` of an id the field layer makes opaque (a household's, which carries its number): a
mask, not a name. Were it the network pseudonym, a record read by its id (`person(id:) { household
{ id } }`) would hand a pseudonymised analyst the pseudonym its networks know the household by, and
`network(start:)` from it the members' pseudonyms: a record id in, pseudonyms out, under any purpose."""

# Fields a pseudonymised answer never carries, whatever the field matrix says: the direct
# identifiers. Sensitivity classes first (see auth/policies/default.toml), then single fields.
DIRECT_IDENTIFIER_CLASSES = frozenset({"identity_number", "contact", "address"})
DIRECT_IDENTIFIER_FIELDS = frozenset(
    {"Person.name", "Person.name_pinyin", "Household.household_number", "ENROLLED_AT.student_number"}
)


class PseudonymKeyError(RuntimeError):
    """The configured key is unusable; the message names the setting, never the key."""


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise PseudonymKeyError(f"the pseudonym key must be {KEY_BYTES} bytes, not {len(key)}")
        self._siv = AESSIV(key)

    def encode(self, record_id: str, audience: str | None = None, use: str | None = None) -> str:
        """``person:…`` → ``person~<base32>``: the kind stays readable, the rest is opaque. With an
        `audience` (the agency that receives it) the pseudonym is that agency's own: another
        agency's pseudonym for the same record differs and does not decode under this one, so two
        agencies' pseudonymised answers do not join on it. With a `use` (an id the field layer
        makes opaque) it is neither a network's pseudonym nor decoded as one (see ``FIELD_MASK``)."""
        kind = record_id.partition(":")[0].lower()
        sealed = self._siv.encrypt(record_id.encode("utf-8"), _associated(audience, use))
        return f"{kind}{SEPARATOR}{base64.b32encode(sealed).decode('ascii').rstrip('=').lower()}"

    def decode(self, pseudonym: str, audience: str | None = None) -> str | None:
        """The record id, or None for anything this key did not make for this audience (no oracle
        beyond that)."""
        kind, sep, body = pseudonym.partition(SEPARATOR)
        if not sep or not body or len(body) > 400:
            return None
        try:
            raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
            record_id = self._siv.decrypt(raw, _associated(audience)).decode("utf-8")
        except (ValueError, InvalidTag, UnicodeDecodeError):
            return None
        return record_id if record_id.partition(":")[0].lower() == kind else None

    def seal(self, value: str, context: str) -> str:
        """An opaque token for ``value`` that only ``unseal`` with the same context opens: a
        paging cursor bound to one caller (another caller's token does not open)."""
        sealed = self._siv.encrypt(value.encode("utf-8"), [*_CONTEXT, context.encode("utf-8")])
        return "c" + SEPARATOR + base64.b32encode(sealed).decode("ascii").rstrip("=").lower()

    def unseal(self, token: str, context: str) -> str | None:
        head, sep, body = token.partition(SEPARATOR)
        if head != "c" or not sep or not body or len(body) > 400:
            return None
        try:
            raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
            return self._siv.decrypt(raw, [*_CONTEXT, context.encode("utf-8")]).decode("utf-8")
        except (ValueError, InvalidTag, UnicodeDecodeError):
            return None


def _associated(audience: str | None, use: str | None = None) -> list[bytes]:
    data = _CONTEXT if audience is None else [*_CONTEXT, b"audience:" + audience.encode("utf-8")]
    return data if use is None else [*data, b"use:" + use.encode("utf-8")]


def is_pseudonym(value: str) -> bool:
    return SEPARATOR in value and ":" not in value


_cache: dict[tuple[str, str], Pseudonymizer] = {}
_resolved: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def pseudonymizer(settings: Settings) -> Pseudonymizer:
    """The deployment's pseudonymizer: the configured key (`SHOUHU_PSEUDONYM_KEY`), else the one in
    (or new in) the data directory."""
    configured = settings.pseudonym_key
    env_key = configured.get_secret_value() if configured else ""
    data_dir = Path(settings.data_dir)
    # Resolving the path is file-system calls (~70 us): once per path and working directory, not
    # once per call (a page of 100 people seals 101 cursors; 7 ms of a page's ~40).
    where = (str(data_dir), "" if data_dir.is_absolute() else os.getcwd())
    with _lock:
        if where not in _resolved:
            _resolved[where] = str(data_dir.resolve())
        cache_key = (_resolved[where], env_key)
        if cache_key not in _cache:
            _cache[cache_key] = Pseudonymizer(_decode_key(env_key) if env_key else _key_file(data_dir))
        return _cache[cache_key]


def _decode_key(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise PseudonymKeyError("SHOUHU_PSEUDONYM_KEY is not base64") from None


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii")
        for _ in range(100):  # another process created it a moment ago and is still writing
            if text.strip():
                break
            time.sleep(0.01)
            text = path.read_text(encoding="ascii")
        key = _decode_key(text)
    else:
        key = secrets.token_bytes(KEY_BYTES)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.b64encode(key).decode("ascii") + "\n")
    if len(key) != KEY_BYTES:
        raise PseudonymKeyError(f"{path} does not hold a {KEY_BYTES}-byte key")
    return key
