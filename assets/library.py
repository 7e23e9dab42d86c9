"""What both learning assets read from the store about the library: its faces and their graph."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from assets.classifier.graph import graph_from_neighbours, knn_graph, l2_normalize
from resources.state_store import StateStore


def library_graph(store: StateStore, space: str, face_ids: list[str], embeddings: np.ndarray) -> sp.csr_matrix:
    """The face graph the store keeps (built as faces were embedded), else computed exactly.

    ``embeddings`` are only normalized (a full copy of the library) when the graph is computed.
    """
    kept = store.load_neighbours(space, face_ids)
    if kept is not None:
        return graph_from_neighbours(*kept)
    return knn_graph(l2_normalize(embeddings))
