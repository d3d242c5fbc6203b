"""Shouhu's kernel: settings, the relational engine and migrations runner, names and the clock.

A leaf: it imports nothing of the project, so every package may import it.
"""
