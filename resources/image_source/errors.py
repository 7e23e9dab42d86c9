"""Errors of an image source, importable without Dagster (the ingest pool catches them)."""


class SourceError(OSError):
    """A photo or sidecar that cannot be read, with a human-readable reason."""
