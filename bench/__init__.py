"""Benchmarks: `make bench` runs them all, writes bench/results/*.json and prints a summary."""
