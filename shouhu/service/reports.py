"""A run report back from its JSON (``RunReport.as_json``), so that a sync the service ran is printed by
the same code, line for line, as one run in the command's own process.

The fields are read from the dataclasses themselves (``dataclasses.fields``), not listed here: a field
added to ``SourceReport`` or ``RunReport`` comes back from the service without a change to this file.
Values whose JSON form differs from the field's are converted by the field's type: counters (JSON
objects), times (ISO text). Keys the JSON adds that are no fields (``unexplained``, ``seconds``,
``total``: derived on the way out) are left out.
"""

from __future__ import annotations

import dataclasses
import typing
from collections import Counter
from datetime import datetime
from typing import Any

from connectors.reports import RunReport, SourceReport


def _from_json(cls: type, doc: dict[str, Any], **given: Any) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in given:
            kwargs[f.name] = given[f.name]
        elif f.name in doc:
            kwargs[f.name] = _value(hints[f.name], doc[f.name])
    return cls(**kwargs)


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    kinds = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else (hint,)
    for kind in kinds:
        origin = typing.get_origin(kind) or kind
        if origin is Counter:
            return Counter(value)
        if origin is datetime:
            return datetime.fromisoformat(value)
    return value


_UnionType = type(int | None)


def source_report_from_json(doc: dict[str, Any]) -> SourceReport:
    report: SourceReport = _from_json(SourceReport, doc)
    return report


def run_report_from_json(doc: dict[str, Any]) -> RunReport:
    sources = [source_report_from_json(s) for s in doc.get("sources") or []]
    report: RunReport = _from_json(RunReport, doc, sources=sources)
    return report
