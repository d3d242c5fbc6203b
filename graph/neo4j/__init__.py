"""Neo4j 5 over Bolt: the graph store for a shared server (chosen when a Neo4j URI is configured)."""

from graph.neo4j.adapter import Neo4jStore

__all__ = ["Neo4jStore"]
