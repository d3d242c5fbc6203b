"""JSON text as the standard library writes it, written by orjson where the bytes are the same.

What this project stores as JSON text is hashed or compared as text: a landing row's payload
(its content hash), a graph element's ``sources`` and ``claims`` (``graph verify`` hashes the
rows), a landing row's projection (its SHA-256). So the text must stay exactly what ``json.dumps``
gives (``ensure_ascii=False``, compact separators), and orjson (five to ten times faster) is used
only where its output is that text:

* Strings, integers, booleans, None, lists and dicts with string keys: the same bytes (UTF-8, no
  ASCII escapes, the same escapes of control characters, keys sorted by code point).
* Floats: the same shortest repr, except below 1e-4, where the standard library writes an
  exponent (``1e-05``) and orjson does not (``0.00001``) or writes a shorter one (``2.5e-7``);
  measured over two million random floats, every float whose text differs is written by orjson
  with ``e-`` or ``0.0000`` in it. Such a number (first, or after ``:``, ``,`` or ``[`` in compact JSON)
  sends the value to the standard library; so does ``null`` anywhere, since orjson writes NaN and
  the infinities as ``null``. A caller that knows its value holds no float says so (``floats``)
  and skips these checks.
* Anything orjson refuses (an integer past 64 bits, a lone surrogate, a key that is not a
  string) goes to the standard library, which writes it or raises what it always raised. Dates,
  times and dataclasses are passed to ``default`` as the standard library would. Only a UUID or
  an Enum, which the standard library refuses without a ``default``, orjson writes (as its text,
  as its value): nothing stored here holds one.

Reading (:func:`loads_bounded`): orjson's ``loads`` gives the same values as the standard
library's, except for ``NaN`` and infinities, which it refuses (then the standard library reads
the text), and an integer past 64 bits, which it reads as a float: so only for text whose
integers are bounded, such as a graph element's provenance (its values come from INT64 columns:
a larger integer cannot be written to either engine). :func:`loads_exact` reads any text as the
standard library does: orjson's values unless the text holds a run of 19 or more ASCII digits (every
integer past 64 bits has one; so may a long number in a string, read then by the standard library).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

_PASS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# A number orjson writes otherwise than the standard library: below 1e-4, with an exponent or not.
_SMALL_NUMBER = re.compile(r"(?:^|[:,\[])-?(?:[0-9]+(?:\.[0-9]+)?e-|0\.0000)")


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _differs(text: str) -> bool:
    """Whether orjson's text may differ from the standard library's (see the module's note)."""
    if "null" in text:
        return True
    # The exponent branch needs a digit just before "e-". Text often holds "e-" in words (a FHIR
    # resource's "date-time", a file name), and the pattern's search over the whole text cost more
    # than writing it: only "0.0000" or an "e-" after a digit sends the text to the pattern.
    if "0.0000" in text or ("e-" in text and _EXPONENT.search(text) is not None):
        return _SMALL_NUMBER.search(text) is not None
    return False


_EXPONENT = re.compile(r"[0-9]e-")


def dumps_sorted(value: Any, *, default: Callable[[Any], Any] | None = None, floats: bool = True) -> str:
    """``json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=default)``."""
    try:
        text = orjson.dumps(value, default=default or _refuse, option=_PASS | orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        text = None
    if text is None or (floats and _differs(text)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=default)
    return text


def dumps_compact(value: Any, *, floats: bool = True) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``: keys in insertion order."""
    try:
        text = orjson.dumps(value, default=_refuse, option=_PASS).decode()
    except TypeError:
        text = None
    if text is None or (floats and _differs(text)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text


# A run of 19 ASCII digits: digits become "0", every other byte a blank (UTF-8 never puts an ASCII
# byte inside a character), then one substring search.
_DIGITS_ONLY = bytes(48 if 48 <= b <= 57 else 32 for b in range(256))
_LONG_RUN = b"0" * 19


def loads_exact(text: str) -> Any:
    """``json.loads(text)``: orjson's values where they are the standard library's (see the module's
    note), else the standard library's; what neither reads raises the standard library's error."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate: orjson cannot take it
        return json.loads(text)
    if _LONG_RUN in data.translate(_DIGITS_ONLY):
        return json.loads(text)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(text)


def loads_bounded(text: str) -> Any:
    """``json.loads(text)`` for text whose integers fit in 64 bits (see the module's note)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
