"""LadybugDB (embedded, the maintained fork of Kùzu): the default graph store."""

from graph.ladybug.adapter import LadybugStore

__all__ = ["LadybugStore"]
