"""Screening (预警排查), classification, visits, the reporting chain and statistics over GraphQL,
assembled into the two roots the API merges into its schema.

Thin resolvers over protection/: each checks a capability, confines divisions to the caller's
jurisdiction (a village supervisor: their own village), reads personal values through the
guard and puts every change on the audit entry. Each area's types and resolvers are in a module of
their own beside its domain module, so that a field is found next to what it reads:
`classification_graphql.py` (the classification, its counts, the worklist and the recompute),
`visit_graphql.py` (the village supervisor's phone page: ``childVisitRecord``, ``recordVisit``,
``visitConflicts``, ``resolveVisitConflict``, and the visiting rounds), `reporting_graphql.py` (the
village→township→county periodic reports), `statistics_graphql.py`; what every resolver of the area
needs is in `screening_common_graphql.py`. The order of the areas below is the order of their
fields in the schema.
"""

from strawberry.tools import merge_types

from protection.classification_graphql import ClassificationMutation, ClassificationQuery
from protection.reporting_graphql import PeriodicReportMutation, PeriodicReportQuery
from protection.statistics_graphql import StatisticsQuery
from protection.visit_graphql import VisitMutation, VisitQuery

ScreeningQuery = merge_types(
    "ScreeningQuery", (ClassificationQuery, VisitQuery, PeriodicReportQuery, StatisticsQuery)
)
ScreeningMutation = merge_types(
    "ScreeningMutation", (VisitMutation, ClassificationMutation, PeriodicReportMutation)
)

__all__ = ["ScreeningMutation", "ScreeningQuery"]
