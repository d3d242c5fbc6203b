"""Helpers for the federation test: another agency's subgraph and loopback servers."""
