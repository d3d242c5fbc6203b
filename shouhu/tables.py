"""Every package's tables, registered on one metadata: the composition root's view of the schema.

The kernel runs migrations but cannot import the packages above it; autogenerate and `pending_changes`
need every table class imported, so they take `metadata` from here.
"""

from __future__ import annotations

import auth.audit.model
import auth.tables
import connectors.resolution.tables
import connectors.tables
import protection.case_tables
import protection.screening_tables
from kernel.db.tables import metadata

__all__ = ["metadata"]

# Imported for their side effect: each table class registers itself on `metadata`.
_REGISTERED = (
    auth.audit.model,
    auth.tables,
    connectors.resolution.tables,
    connectors.tables,
    protection.case_tables,
    protection.screening_tables,
)
