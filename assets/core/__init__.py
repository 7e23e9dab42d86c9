"""The plain compute behind the assets: no Dagster, no store.

Arrays and records in, arrays and records out. The asset modules one level up read the store,
call these functions and write what they return; the labeling app (Find similar) and the ingest
pool's worker processes import them without loading Dagster or the asset graph
(tests/test_import_boundaries.py).
"""
