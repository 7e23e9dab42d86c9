"""What both learning assets read from the store about the library: its faces and their graph.

A local retrain run executes ``face_classifier`` and ``predicted_labels`` in one process
(definitions.py), and both need the whole library: it is read once per process and reused while
the store's ``library_stamp`` is unchanged (every embedding or neighbour-list write changes it), so
the second step reads one row instead of 100 000 (ARCHITECTURE.md, "Label latency").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from assets.core.learning.graph import graph_from_neighbours, knn_graph, l2_normalize
from resources.state_store.ports import EmbeddingLibrary


@dataclass(frozen=True)
class Library:
    """Every embedded face of one model space, in the store's order, and the face graph over them."""

    face_ids: list[str]
    embeddings: np.ndarray
    graph: sp.csr_matrix


def load_library(store: EmbeddingLibrary, space: str) -> Library:
    """The library as the store holds it now; read again only when the store's stamp moved.

    The stamp is read before the rows, so a copy can only be newer than its stamp, never older:
    a write after the read changes the stamp and the next call reads again.
    """
    stamp = store.library_stamp(space)
    if _last and _last[0] == stamp:
        return _last[1]
    face_ids, embeddings = store.load_embeddings(space)
    library = Library(face_ids, embeddings, library_graph(store, space, face_ids, embeddings))
    embeddings.setflags(write=False)  # shared by the steps of a run: nobody may change it in place
    _last[:] = [stamp, library]
    return library


_last: list = []  # [stamp, Library]: the last library read in this process


def library_graph(store: EmbeddingLibrary, space: str, face_ids: list[str], embeddings: np.ndarray) -> sp.csr_matrix:
    """The face graph the store keeps (built as faces were embedded), else computed exactly.

    ``embeddings`` are only normalized (a full copy of the library) when the graph is computed.
    """
    kept = store.load_neighbours(space, face_ids)
    if kept is not None:
        return graph_from_neighbours(*kept)
    return knn_graph(l2_normalize(embeddings))
