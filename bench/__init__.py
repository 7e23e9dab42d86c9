"""Benchmarks: each prints its figures, and one JSON object with --json."""
