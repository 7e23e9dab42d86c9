"""The state store: photos, faces, embeddings, the label log, classifier versions and predictions.

A map, in the order the pieces build on each other (each imports only those above it):

``records``  the vocabulary: plain records and enums (images, faces, label events, personas,
             versions, predictions). No Dagster, no rules.
``rules``    what events mean, once for every backend: a face's derived label, merges and
             renames, undo, when a prediction changed, which version serves (one module each).
``ports``    the small interfaces consumers are typed with, one per concern (``PhotoLibrary``,
             ``EmbeddingLibrary``, ``PersonaDirectory``, ``LabelLog``, ``ModelRegistry``,
             ``ModelServing``, ``Predictions``): read it first to see who needs what. No Dagster.
``base``     ``StateStore``, the Dagster resource that implements every port: the rules' public
             methods, and the abstract reads and writes a backend supplies.
``sqlite``   the default backend (one WAL file), one mixin per concern.
``cosmos``   the Azure backend (Cosmos DB), the same mixins.

This file imports nothing, so the records, the rules and the ports load without Dagster.
"""
