"""Cross-cutting platform pieces: settings, the relational store and the command line."""
