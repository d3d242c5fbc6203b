"""Connectors: one module per source system, the sync runner, entity resolution."""
