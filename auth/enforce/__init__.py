"""The one layer every value leaves through: the guard, the record types and the request context.

It sits below the domain packages (protection, connectors, auth.audit) so that each area's
GraphQL module can use it; `api/` only assembles the schema and runs the app.
"""
