"""The system of record's operations for the CLI: they live in :mod:`protection.record` (below the
API, so the service opens the graph the same self-healing way); this name stays for the CLI."""

from protection.record import RebuildReport, behind, expected_graph, open_healed, rebuild, verify

__all__ = ["RebuildReport", "behind", "expected_graph", "open_healed", "rebuild", "verify"]
