"""The linked domain model, the GraphStore port and its LadybugDB and Neo4j adapters."""
