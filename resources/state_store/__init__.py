"""The state store: photos, faces, embeddings, the label log, classifier versions and predictions.

``records`` is the vocabulary, ``rules`` decides what events mean (once, above the backends),
``base.StateStore`` is the resource every backend implements, ``sqlite`` (the default) and
``cosmos`` are the backends. This file imports nothing, so the records load without Dagster.
"""
