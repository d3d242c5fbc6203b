"""The protection workflows over GraphQL: 强制报告, 应急处置, 评估帮扶, 监护干预, agreements,
accountability, webhooks, assembled into the two roots the API merges into its schema.

Each area's types and resolvers are in a module of their own beside its domain module, so that a
step's mutation is found next to the step: `case_views_graphql.py` (the case file and its records,
``protectionCase(s)``), `report_graphql.py`, `emergency_graphql.py`, `assessment_graphql.py`,
`intervention_graphql.py` (with the court), `agreement_graphql.py`, `accountability_graphql.py`
(worklist and deadlines), `webhook_graphql.py`; what every resolver does is in
`workflow_graphql.py`, what every view type is in `rows_graphql.py`. The order of the areas below is
the order of their fields in the schema.
"""

from strawberry.tools import merge_types

from protection.accountability_graphql import AccountabilityQuery
from protection.agreement_graphql import AgreementMutation, AgreementQuery
from protection.assessment_graphql import AssessmentMutation
from protection.case_views_graphql import CaseQuery
from protection.emergency_graphql import EmergencyMutation
from protection.intervention_graphql import InterventionMutation
from protection.report_graphql import ReportMutation, ReportQuery
from protection.webhook_graphql import WebhookMutation, WebhookQuery

ProtectionQuery = merge_types(
    "ProtectionQuery", (CaseQuery, ReportQuery, AccountabilityQuery, AgreementQuery, WebhookQuery)
)
ProtectionMutation = merge_types(
    "ProtectionMutation",
    (
        ReportMutation,
        EmergencyMutation,
        AssessmentMutation,
        InterventionMutation,
        AgreementMutation,
        WebhookMutation,
    ),
)
