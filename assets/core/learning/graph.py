"""The library's face graph and label spreading over it (pure NumPy/SciPy: no Dagster, no store).

Faces of one person form a tight neighbourhood in embedding space: label mass spread over the
k-nearest-neighbour graph of the whole library reaches the faces of labeled people and not the
clusters of people nobody has labeled. Predictions, the unknown threshold and the label check
all read that mass (see ARCHITECTURE.md).
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

NEIGHBOURS = 5
ALPHA = 0.9
ITERATIONS = 30
CLASS_ITERATIONS = 5  # the class posterior is a ratio: it settles in a few steps (lfw10: same accuracy as 30)
KNN_BATCH = 1024
GROUP = 64


def l2_normalize(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


def nearest_neighbours(
    unit: np.ndarray, rows: np.ndarray | None = None, k: int = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest other faces (positions, cosine similarities) of ``rows`` (default: all)."""
    n = len(unit)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    k = min(k, n - 1)
    if k <= 0:
        return np.zeros((len(rows), 0), dtype=np.int64), np.zeros((len(rows), 0), dtype=np.float32)
    padded = np.vstack([unit, np.zeros(((-n) % GROUP, unit.shape[1]), dtype=unit.dtype)])
    positions, sims = [], []
    for start in range(0, len(rows), KNN_BATCH):
        batch = rows[start : start + KNN_BATCH]
        block = unit[batch] @ padded.T
        block[:, n:] = -np.inf
        block[np.arange(len(batch)), batch] = -np.inf
        nearest, similarity = top_k_per_row(block, k)
        positions.append(nearest)
        sims.append(similarity)
    return np.concatenate(positions), np.concatenate(sims).astype(np.float32)


def graph_from_neighbours(positions: np.ndarray, sims: np.ndarray) -> sp.csr_matrix:
    """Symmetric, degree-normalized affinity matrix from each face's neighbour list."""
    n, k = positions.shape
    keep = positions.ravel() >= 0
    rows = np.repeat(np.arange(n), k)[keep]
    cols, sims_a = positions.ravel()[keep], sims.ravel()[keep]
    # Scale-free affinity: the kernel width follows the model's typical neighbour distance.
    width = max(float(np.median(1.0 - sims_a)) * 0.4, 1e-4) if len(sims_a) else 1.0
    weights = np.exp((sims_a - 1.0) / width).astype(np.float32)
    graph = sp.csr_matrix((weights, (rows, cols)), shape=(n, n))
    graph = graph.maximum(graph.T)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    scale = sp.diags((1.0 / np.sqrt(np.maximum(degree, 1e-12))).astype(np.float32))
    return (scale @ graph @ scale).tocsr()


def knn_graph(unit: np.ndarray, k: int = NEIGHBOURS) -> sp.csr_matrix:
    """The exact kNN graph of unit-norm rows.

    The last graph is kept per process: a retrain run builds it for calibration and reuses it
    for relabeling when the embeddings have not changed in between.
    """
    key = (unit.shape, hashlib.blake2b(unit.tobytes(), digest_size=16).digest(), k)
    if _last_graph and _last_graph[0] == key:
        return _last_graph[1]
    graph = graph_from_neighbours(*nearest_neighbours(unit, k=k))
    _last_graph[:] = [key, graph]
    return graph


_last_graph: list = []


def top_k_per_row(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k columns of each row, ~5x faster than argpartition over whole rows.

    The k largest entries of a row lie in at most k groups of GROUP columns, and those groups are
    among the k groups with the largest maxima; so select groups first, then within 64k entries.
    """
    count, width = block.shape
    groups = block.reshape(count, width // GROUP, GROUP)
    if groups.shape[1] <= k:  # small library: every group is a candidate
        best_groups = np.broadcast_to(np.arange(groups.shape[1]), (count, groups.shape[1]))
    else:
        best_groups = np.argpartition(groups.max(axis=2), -k, axis=1)[:, -k:]
    candidates = np.take_along_axis(groups, best_groups[:, :, None], axis=1).reshape(count, -1)
    columns = (best_groups[:, :, None] * GROUP + np.arange(GROUP)).reshape(count, -1)
    chosen = np.argpartition(candidates, -k, axis=1)[:, -k:]
    return np.take_along_axis(columns, chosen, axis=1), np.take_along_axis(candidates, chosen, axis=1)


def spread(graph: sp.csr_matrix, seeds: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """Label spreading (Zhou et al. 2004): mass each face receives from the seeded faces.

    ``seeds`` is (n,) for one label or (n, classes) one-hot; the result has the same shape.
    """
    seeds = seeds.astype(np.float32)
    restart = (1.0 - ALPHA) * seeds
    mass = seeds.copy()
    for _ in range(iterations):  # mass = ALPHA * (graph @ mass) + restart, one temporary per step
        mass = graph @ mass
        mass *= ALPHA
        mass += restart
    return mass


def within_hops(graph: sp.csr_matrix, rows: np.ndarray, hops: int) -> np.ndarray:
    """Sorted positions of the faces at most ``hops`` edges from ``rows`` (breadth first)."""
    reached = np.zeros(graph.shape[0], dtype=bool)
    reached[rows] = True
    frontier = np.flatnonzero(reached)
    for _ in range(hops):
        if frontier.size == 0:
            break
        edges = graph[frontier]
        found = np.zeros_like(reached)  # a mask, not np.unique: a hop of the whole library is cheap
        found[edges.indices[edges.data > 0]] = True
        found &= ~reached
        reached |= found
        frontier = np.flatnonzero(found)
    return np.flatnonzero(reached)


def spread_within_reach(
    graph: sp.csr_matrix, seeds: sp.csr_matrix, iterations: int = ITERATIONS, wanted: sp.spmatrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``spread`` of (n, columns) seeds, computed only on the faces the mass can reach.

    Each step moves mass one edge (the graph is symmetric), so after t steps only faces within t
    hops of a seed hold any, and mass never crosses between connected components of the graph.
    So each component is spread on the subgraph its seeds reach, with only the columns seeded in
    it (and, given ``wanted``, an (n, columns) mask of the entries the caller reads, only the
    columns read there): exactly ``spread``'s numbers there (the same products, summed in the
    same order), while a label spread alone over its own person's cluster no longer costs a
    whole-library column. Components that need the same columns are spread together. In a
    library of a million faces with a few hundred labels no (n, columns) matrix is made.
    Returns (rows, mass of those rows); entries not ``wanted`` may be 0.
    """
    n, columns = seeds.shape
    component = connected_components(graph, directed=False)[1].astype(np.int64)
    seeds = seeds.tocoo()
    pair = component[seeds.row] * columns + seeds.col
    used = np.unique(pair)  # (component, column) pairs with a seed, sorted by component
    if wanted is not None:
        wanted = wanted.tocoo()
        used = np.intersect1d(used, component[wanted.row] * columns + wanted.col)
    keep = np.isin(pair, used)
    seeds = sp.csr_matrix((seeds.data[keep], (seeds.row[keep], seeds.col[keep])), shape=(n, columns))
    rows = within_hops(graph, np.flatnonzero(seeds.getnnz(axis=1)), iterations)
    mass = np.zeros((len(rows), columns), dtype=np.float32)
    by_component = np.argsort(component[rows], kind="stable")
    bounds = np.searchsorted(component[rows][by_component], np.arange(component.max(initial=0) + 2))
    for cols, members in _components_by_columns(used, columns):
        at = np.sort(np.concatenate([by_component[bounds[c] : bounds[c + 1]] for c in members]))
        if len(at) > n // 2:  # most of the library: cutting out the subgraph does not pay
            part = spread(graph, seeds[:, cols].toarray(), iterations)[rows[at]]
        else:
            sub = rows[at]
            part = spread(graph[sub][:, sub], seeds[sub][:, cols].toarray(), iterations)
        mass[np.ix_(at, cols)] = part
    return rows, mass


def _components_by_columns(used: np.ndarray, columns: int) -> list[tuple[np.ndarray, list[int]]]:
    """(columns, components) groups from sorted ``component * columns + column`` pairs."""
    if not len(used):  # no seed anywhere (or none where it is read): nothing to spread
        return []
    component, column = np.divmod(used, columns)
    starts = np.flatnonzero(np.r_[True, component[1:] != component[:-1]])
    groups: dict[bytes, tuple[np.ndarray, list[int]]] = {}
    for start, end in zip(starts, [*starts[1:], len(used)], strict=True):
        cols = column[start:end]
        groups.setdefault(cols.tobytes(), (cols, []))[1].append(int(component[start]))
    return list(groups.values())


def positions_in(sorted_rows: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``rows`` sits in ``sorted_rows``, and whether it is there at all."""
    at = np.searchsorted(sorted_rows, rows).clip(max=max(len(sorted_rows) - 1, 0))
    return at, sorted_rows[at] == rows if len(sorted_rows) else np.zeros(len(rows), dtype=bool)


LOO_COLUMNS = 256  # labeled faces spread at a time by leave_one_out_posterior (memory: reach x 256)


def leave_one_out_posterior(
    graph: sp.csr_matrix, labeled_rows: np.ndarray, classes: np.ndarray, num_classes: int
) -> np.ndarray:
    """(labels, classes) class posterior at each labeled face from every other label.

    Spreading is linear in the seeds: seed each labeled face alone (one column each), read the
    mass every labeled face receives, drop its own, and sum by class. Exactly one leave-one-out
    spread per label, done in a few wide spreads.
    """
    received = np.zeros((len(labeled_rows), len(labeled_rows)), dtype=np.float32)
    for start in range(0, len(labeled_rows), LOO_COLUMNS):
        batch = labeled_rows[start : start + LOO_COLUMNS]
        seeds = sp.csr_matrix(
            (np.ones(len(batch), dtype=np.float32), (batch, np.arange(len(batch)))),
            shape=(graph.shape[0], len(batch)),
        )
        reach, mass = spread_within_reach(graph, seeds, CLASS_ITERATIONS)
        at, inside = positions_in(reach, labeled_rows)
        received[inside, start : start + len(batch)] = mass[at[inside]]
    np.fill_diagonal(received, 0.0)
    one_hot = np.eye(num_classes, dtype=np.float32)[classes]
    posterior = received @ one_hot
    return posterior / np.maximum(posterior.sum(axis=1, keepdims=True), 1e-12)
