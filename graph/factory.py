"""Choose the graph adapter from the settings: Neo4j when a URI is given, LadybugDB otherwise."""

from __future__ import annotations

from graph.port import GraphStore
from kernel.settings import Settings


def open_graph(settings: Settings, *, init: bool = True) -> GraphStore:
    """Open (and by default create the schema of) the configured graph store.

    Raises GraphStoreError with one line naming the store and the cause.
    """
    store: GraphStore
    if settings.neo4j_uri:
        from graph.neo4j import Neo4jStore

        store = Neo4jStore(
            settings.neo4j_uri,
            settings.neo4j_user,
            settings.neo4j_password.get_secret_value(),
            settings.neo4j_database,
        )
    else:
        from graph.ladybug import LadybugStore

        store = LadybugStore(settings.graph_path, settings.graph_buffer_pool_mb)
    if init:
        store.init_schema()
    return store
