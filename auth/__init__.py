"""Identities (OAuth2 client credentials, JWT, external OIDC), the field policy and the audit log."""
