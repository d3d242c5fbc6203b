"""The HTTP surface: GraphQL API and console pages on Starlette. Thin: domain logic lives elsewhere."""
