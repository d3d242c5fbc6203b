"""Every reason an audit entry can carry has a name for the auditor, in both catalogues.

The codes are found by reading the code (tests/audit_reasons.py), not listed here: a reason added
anywhere in one of the forms that write reasons fails this test until it is named. A code without
a name showed in the console as 其他原因 (the change entries' `write` did, for every mutation).
"""

from __future__ import annotations

import re
from pathlib import Path

from kernel.messages import MESSAGES, audit_reason_name
from tests.audit_reasons import reason_codes

ROOT = Path(__file__).resolve().parents[1]


def _console_reasons() -> set[str]:
    text = (ROOT / "console" / "src" / "i18n" / "codes.ts").read_text(encoding="utf-8")
    block = text[text.index("  reason: {") : text.index("  errorCode: {")]
    return {k.strip('"') for k in re.findall(r'^\s+([a-z_.\-]+|"[^"]+"):', block, re.M)}


def test_the_walk_finds_reasons_of_every_origin() -> None:
    codes = reason_codes()
    # One of each form, so that a walk broken by a refactoring fails here rather than passing empty:
    # a change entry, the guard's trail, a refusal, a refused token, an OAuth error, the policy, a
    # capability, a refused request's code.
    for code in ("write", "out_of_scope", "not_found_or_out_of_scope", "expired", "invalid_client"):
        assert code in codes, code
    for code in ("masked_by_policy", "trace_networks", "rate_limited", "time_budget"):
        assert code in codes, code


def test_every_reason_the_code_writes_has_a_name_in_the_catalogue() -> None:
    missing = {c: w for c, w in reason_codes().items() if f"audit.reason.{c}" not in MESSAGES}
    assert not missing, missing
    assert audit_reason_name("write") != "write"


def test_every_reason_the_code_writes_has_a_name_in_the_console() -> None:
    named = _console_reasons()
    missing = {c: w for c, w in reason_codes().items() if c not in named}
    assert not missing, missing
