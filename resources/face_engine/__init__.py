"""The face engine resource (``base``), its deepface implementation and offline weights;
``records`` holds what it returns, importable without Dagster."""
