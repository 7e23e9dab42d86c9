"""Open-set gate: is this face one of the labeled people at all?

A softmax always picks some persona, so it cannot say "nobody we know". Faces of one person form
a tight neighbourhood in embedding space; label mass spread over the k-nearest-neighbour graph of
the whole library reaches the faces of labeled people and not the clusters of people nobody has
labeled. On lfw10 this separates unknown people far better than any per-face similarity
threshold (see ARCHITECTURE.md), and it needs no labels of unknown people to calibrate.
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp

from resources.state_store import StateStore

NEIGHBOURS = 5
ALPHA = 0.9
ITERATIONS = 30
CLASS_ITERATIONS = 5  # the class posterior is a ratio: it settles in a few steps (lfw10: same accuracy as 30)
CHUNK = 1024
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
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        block = unit[chunk] @ padded.T
        block[:, n:] = -np.inf
        block[np.arange(len(chunk)), chunk] = -np.inf
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


def library_graph(store: StateStore, space: str, face_ids: list[str], embeddings: np.ndarray) -> sp.csr_matrix:
    """The face graph the store keeps (built as faces were embedded), else computed exactly.

    ``embeddings`` are only normalized (a full copy of the library) when the graph is computed.
    """
    kept = store.load_neighbours(space, face_ids)
    if kept is not None:
        return graph_from_neighbours(*kept)
    return knn_graph(l2_normalize(embeddings))


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
    mass = seeds.copy()
    for _ in range(iterations):
        mass = ALPHA * (graph @ mass) + (1.0 - ALPHA) * seeds
    return mass


def within_hops(graph: sp.csr_matrix, rows: np.ndarray, hops: int) -> np.ndarray:
    """Sorted positions of the faces at most ``hops`` edges from ``rows`` (breadth first)."""
    reached = np.zeros(graph.shape[0], dtype=bool)
    frontier = np.unique(rows)
    reached[frontier] = True
    for _ in range(hops):
        if frontier.size == 0:
            break
        edges = graph[frontier]
        found = np.unique(edges.indices[edges.data > 0])
        frontier = found[~reached[found]]
        reached[frontier] = True
    return np.flatnonzero(reached)


def spread_within_reach(
    graph: sp.csr_matrix, seeds: sp.csr_matrix, iterations: int = ITERATIONS
) -> tuple[np.ndarray, np.ndarray]:
    """``spread`` of (n, columns) seeds, computed only on the faces the mass can reach.

    Each step moves mass one edge (the graph is symmetric), so after t steps only faces within t
    hops of a seed hold any, and spreading on that subgraph gives exactly ``spread``'s numbers
    there. In a library of a million faces with a few hundred labels the subgraph is small and
    no (n, columns) matrix is made. Returns (rows, mass of those rows).
    """
    rows = within_hops(graph, np.flatnonzero(seeds.getnnz(axis=1)), iterations)
    if len(rows) > graph.shape[0] // 2:  # most of the library: cutting out the subgraph does not pay
        return np.arange(graph.shape[0]), spread(graph, seeds.toarray(), iterations)
    return rows, spread(graph[rows][:, rows], seeds[rows].toarray(), iterations)


def calibrate_threshold(
    graph: sp.csr_matrix, labeled_rows: np.ndarray, classes: np.ndarray, repeats: int = 3, max_personas: int = 20
) -> tuple[float, dict]:
    """Threshold from held-out labels, no unknown examples needed.

    Genuine scores: labeled faces whose own label is hidden (5 folds, ``repeats`` shuffles).
    Impostor scores: the labeled faces of one persona with all its labels hidden, which is exactly
    what a person nobody labeled looks like (every persona, up to ``max_personas``). The threshold
    is the point equally many robust standard deviations from both medians in log space, nudged
    10% toward keeping known faces (a wrong "unknown" costs a click, a wrong name costs trust);
    the nudge was chosen on lfw10. Robust statistics keep it stable on a few dozen labels, where
    picking the best cut between the samples swung with the fold draw.

    From the first label on, what is missing is stood in for (``calibration`` in the stats says
    which): a persona's only label cannot be hidden and still be learned, so its genuine score
    comes from its nearest faces in the graph standing in as its second label; with one persona
    there is nobody else to hide, so the impostors are the library's other faces the label mass
    reaches (most faces of a library are not the one person named; robust statistics shrug off
    the few that are).
    """
    counts = np.bincount(classes)
    columns = _genuine_columns(labeled_rows, classes, counts, repeats)
    held_out_sets = len(columns)
    columns += _single_label_columns(graph, labeled_rows, classes, counts)
    genuine_sets = len(columns)
    personas = np.unique(classes)
    one_persona = len(personas) == 1
    if one_persona:
        columns.append((labeled_rows, np.setdiff1d(np.arange(graph.shape[0]), labeled_rows)))
    else:
        if len(personas) > max_personas:
            personas = np.random.default_rng(0).choice(personas, max_personas, replace=False)
        columns += [(labeled_rows[classes != persona], labeled_rows[classes == persona]) for persona in personas]
    scores = _scores_in_one_spread(graph, columns)
    gen = np.concatenate([np.zeros(0), *scores[:genuine_sets]])
    imp = np.concatenate([np.zeros(0), *scores[genuine_sets:]])
    method = "held-out labels"
    if one_persona:
        # Faces the labels never reach say nothing about where to cut; faces that look at least as
        # known as a typical held-out label are most likely the person (a library where the person
        # is an island of their own has no stand-ins left, and the fixed margin decides).
        imp = imp[(imp > REACHED) & (imp < np.median(gen) if len(gen) else True)]
        method = "one persona: the library's other faces as impostors"
        if len(imp) < MIN_IMPOSTORS:
            method = "one persona, too few faces reached: a fixed margin below the held-out labels"
    if counts.min() < 2:
        method += "; single labels: nearest faces stand in as a second label"
    if not len(gen):  # no label has a neighbour: nothing to calibrate on, every face the labels reach is known
        threshold, method = REACHED, "no held-out estimate: every face the labels reach counts as known"
    elif one_persona and len(imp) < MIN_IMPOSTORS:
        threshold = float(np.exp(np.median(np.log(np.maximum(gen, 1e-12))) - ONE_PERSONA_MARGIN))
    else:
        floor = max(ONE_PERSONA_SPREAD_FLOOR * one_persona, SINGLE_LABEL_SPREAD_FLOOR * (counts.min() < 2))
        threshold = float(equal_z_threshold(gen, imp, genuine_floor=floor) * np.exp(-0.1))
    stats = {
        "knownness_threshold": threshold,
        "genuine_kept": float((gen >= threshold).mean()),
        "impostor_rejected": float((imp < threshold).mean()) if len(imp) else None,
        "calibration_faces": len(labeled_rows),
        "held_out_genuine": int(sum(len(scored) for scored in scores[:held_out_sets])),
        "calibration": method,
    }
    return threshold, stats


REACHED = 1e-9  # label mass below this is float noise: the face is not connected to any label
MIN_IMPOSTORS = 5
ONE_PERSONA_MARGIN = 1.5  # log units below the genuine median when nothing else can say where to cut
# Floors on the genuine log-scores' robust spread (both chosen on lfw10): a spread measured on 2-3
# held-out labels is mostly luck, and nearest faces standing in for a second label sit one edge
# away, closer than most of the person's other photos.
ONE_PERSONA_SPREAD_FLOOR = 0.25
SINGLE_LABEL_SPREAD_FLOOR = 0.5


def _genuine_columns(
    labeled_rows: np.ndarray, classes: np.ndarray, counts: np.ndarray, repeats: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(seed rows, scored rows): each fold's labels hidden, scored where the persona keeps a label."""
    columns = []
    learnable = counts[classes] >= 2
    for repeat in range(repeats):
        folds = np.random.default_rng(repeat).permutation(len(labeled_rows)) % min(5, len(labeled_rows))
        for fold in np.unique(folds):
            hidden = folds == fold
            if (hidden & learnable).any():
                columns.append((labeled_rows[~hidden], labeled_rows[hidden & learnable]))
    return columns


def _single_label_columns(
    graph: sp.csr_matrix, labeled_rows: np.ndarray, classes: np.ndarray, counts: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A persona's only label, scored with each of its graph neighbours standing in as its second label."""
    columns = []
    labeled = set(labeled_rows.tolist())
    for position in np.flatnonzero(counts[classes] == 1):
        row = labeled_rows[position]
        others = np.delete(labeled_rows, position)
        start, end = graph.indptr[row], graph.indptr[row + 1]
        order = np.argsort(-graph.data[start:end])
        neighbours = [n for n in graph.indices[start:end][order][:NEIGHBOURS] if n not in labeled]
        columns += [(np.append(others, neighbour), np.array([row])) for neighbour in neighbours]
    return columns


def _scores_in_one_spread(graph: sp.csr_matrix, columns: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Mass at each column's scored rows from its seed rows: one spread of many columns on the
    subgraph the labels reach, instead of one whole-library spread per column."""
    seeds = sp.csr_matrix(
        (
            np.ones(sum(len(seed) for seed, _ in columns), dtype=np.float32),
            (
                np.concatenate([seed for seed, _ in columns]),
                np.repeat(np.arange(len(columns)), [len(seed) for seed, _ in columns]),
            ),
        ),
        shape=(graph.shape[0], len(columns)),
    )
    reach, mass = spread_within_reach(graph, seeds)
    out = []
    for j, (_, scored) in enumerate(columns):
        at, inside = positions_in(reach, scored)
        out.append(np.where(inside, mass[at, j], 0.0))
    return out


def positions_in(sorted_rows: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``rows`` sits in ``sorted_rows``, and whether it is there at all."""
    at = np.searchsorted(sorted_rows, rows).clip(max=max(len(sorted_rows) - 1, 0))
    return at, sorted_rows[at] == rows if len(sorted_rows) else np.zeros(len(rows), dtype=bool)


def equal_z_threshold(genuine: np.ndarray, impostor: np.ndarray, genuine_floor: float = 0.0) -> float:
    """exp of the point between the log-score medians at equal robust z (median, MAD) distance."""

    def robust(scores: np.ndarray) -> tuple[float, float]:
        logs = np.log(np.maximum(scores, 1e-12))
        median = float(np.median(logs))
        return median, 1.4826 * float(np.median(np.abs(logs - median))) + 1e-6

    mg, sg = robust(genuine)
    mi, si = robust(impostor)
    sg = max(sg, genuine_floor)
    return float(np.exp((mg * si + mi * sg) / (si + sg)))


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
        chunk = labeled_rows[start : start + LOO_COLUMNS]
        seeds = sp.csr_matrix(
            (np.ones(len(chunk), dtype=np.float32), (chunk, np.arange(len(chunk)))),
            shape=(graph.shape[0], len(chunk)),
        )
        reach, mass = spread_within_reach(graph, seeds, CLASS_ITERATIONS)
        at, inside = positions_in(reach, labeled_rows)
        received[inside, start : start + len(chunk)] = mass[at[inside]]
    np.fill_diagonal(received, 0.0)
    one_hot = np.eye(num_classes, dtype=np.float32)[classes]
    posterior = received @ one_hot
    return posterior / np.maximum(posterior.sum(axis=1, keepdims=True), 1e-12)
