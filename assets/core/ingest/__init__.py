"""Ingest: decoding photos safely, and finding, aligning and embedding faces on every core."""
