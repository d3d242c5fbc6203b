"""A workflow row (a report, a case, a step, an agreement …) as a GraphQL object, written once.

Every view type of the workflows is a row and the record id its reads are audited under; its
fields are the row's columns, each read as text through the enforcement layer under the class the
policy file declares for it (`fields.<Type>.<field>`), and the people it names, each as the Person
type if in the caller's row scope. The bases below hold the row; `column` and `named_person` make
the fields, so a view type lists only its own columns.
"""

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from auth.enforce import scope
from auth.enforce.context import Context
from auth.enforce.records import Person


def _text(raw: Any) -> Any:
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    if isinstance(raw, list):
        return ",".join(str(x) for x in raw)
    return raw


def column(attr: str, doc: str | None = None) -> Any:
    """A column of the workflow row as text. Its class is declared in the policy file
    (`fields.<Type>.<field>`) and decided by the enforcement layer, like every field's."""

    def resolve(self: Any, info: Info[Context, None]) -> str | None:
        raw = _text(getattr(self._row, attr))
        guard = info.context.guard
        if guard.enforcing:
            guard.trail.records.add(self._rid)
        return None if raw is None else str(raw)

    return strawberry.field(resolver=resolve, description=doc)


def named_person(attr: str, doc: str | None = None) -> Any:
    """A person the workflow row names (by the column `attr`), as the Person type, if in the
    caller's row scope (else null)."""

    def resolve(self: Any, info: Info[Context, None]) -> Person | None:
        return scope.person(info.context.guard, getattr(self._row, attr))

    return strawberry.field(resolver=resolve, description=doc)


@strawberry.type
class RowView:
    """A workflow row as a GraphQL object: `_row` the row, `_rid` the record id its reads are
    audited under. A base only (no field returns it): each view type is its own type in the
    schema, with these fields first."""

    _row: strawberry.Private[Any]
    _rid: strawberry.Private[str]


@strawberry.type
class IdentifiedRowView(RowView):
    """A workflow row with an id of its own: `id` is the type's first field."""

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self._row.id)


def views(cls: Any, rows: list[Any], prefix: str) -> list[Any]:
    """Rows as views of `cls`, each audited under `prefix:<its id>` (the case's id for the
    records that have none of their own)."""
    return [cls(_row=r, _rid=f"{prefix}:{getattr(r, 'id', '')}") for r in rows]
