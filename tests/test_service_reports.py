"""A sync the service ran comes back to the command whole: every field of its run report survives the
JSON between them (shouhu.service.reports), including a field added later."""

from __future__ import annotations

import dataclasses
import typing
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.reports import RunReport, SourceReport
from shouhu.service import reports


def _sample(hint: Any, n: int) -> Any:
    """A value of the field's type unlike its default (``n`` makes each field's differ)."""
    origin = typing.get_origin(hint) or hint
    if origin in (typing.Union, type(int | None)):
        return _sample(next(a for a in typing.get_args(hint) if a is not type(None)), n)
    if origin is Counter:
        return Counter({f"reason.{n}": n, "other": 1})
    if origin is dict:
        return {f"k{n}": n, "created": n + 1}
    if origin is list:
        return [{"file": f"f{n}.csv", "status": "read", "notes": [f"note {n}"]}]
    if origin is datetime:
        return datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n)
    if origin is bool:
        return True
    if origin is int:
        return 1000 + n
    if origin is float:
        return 0.5 + n
    if origin is str:
        return f"value-{n}"
    raise AssertionError(f"no sample for {hint!r}: teach _sample this type")


def _every_field(cls: type, **given: Any) -> Any:
    hints = typing.get_type_hints(cls)
    values = {
        f.name: given[f.name] if f.name in given else _sample(hints[f.name], i)
        for i, f in enumerate(dataclasses.fields(cls))
    }
    return cls(**values)


def test_every_field_of_a_run_report_survives_the_json_from_the_service() -> None:
    sources = [_every_field(SourceReport), _every_field(SourceReport, source="police_hukou")]
    report = _every_field(RunReport, sources=sources)
    back = reports.run_report_from_json(report.as_json())
    assert back == report
    for field in dataclasses.fields(SourceReport):
        assert getattr(back.sources[0], field.name) == getattr(sources[0], field.name), field.name
    assert back.as_json() == report.as_json()


def test_a_field_added_to_the_source_report_is_not_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader follows the dataclass: a new field needs no change to it."""
    grown = dataclasses.make_dataclass(
        "SourceReport",
        [("rows_rejected_by_school", int, dataclasses.field(default=0))],
        bases=(SourceReport,),
    )
    grown.__module__ = SourceReport.__module__
    monkeypatch.setattr(reports, "SourceReport", grown)
    source = grown("education", received=3, loaded=3, rows_rejected_by_school=7)
    report = RunReport("run-1", "sync", "deterministic", datetime(2026, 11, 1, tzinfo=UTC), sources=[source])
    back = reports.run_report_from_json(report.as_json())
    assert back.sources[0].rows_rejected_by_school == 7  # type: ignore[attr-defined]
    assert back.sources[0] == source
