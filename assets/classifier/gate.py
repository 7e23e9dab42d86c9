"""Why a classifier version does or does not serve, in words for people (the gate, the run, the app).

A training attempt that cannot make a model is stored as a version with no artifact and a
``training_error`` metric, refused by the gate at once: the promoted version keeps serving and
the app can say why nothing new serves. (Training skips while the newest version, failed or not,
already covers the label watermark, so a failing set of labels is not retried until labels change.)
"""

from __future__ import annotations

from resources.state_store.records import ModelVersion

DEFAULT_MIN_ACCURACY = 0.8


def gate_verdict(metrics: dict) -> tuple[bool, str]:
    """(passes, reason) for a version's metrics; passes only with >= 2 personas and enough held-out accuracy."""
    if metrics.get("training_error"):
        return False, f"not trained: {metrics['training_error']}"
    accuracy = metrics.get("accuracy")
    minimum = metrics.get("gate_min_accuracy", DEFAULT_MIN_ACCURACY)
    if metrics.get("personas", 0) < 2:
        return False, "needs labeled faces of at least 2 people"
    if accuracy is None:
        return False, (
            "no held-out faces to measure accuracy on: each person needs at least 2 labeled faces "
            "before a version can be checked"
        )
    if accuracy < minimum:
        return False, f"held-out accuracy {accuracy:.1%} is below the {minimum:.0%} minimum"
    return True, f"held-out accuracy {accuracy:.1%} meets the {minimum:.0%} minimum"


def is_failed_attempt(version: ModelVersion) -> bool:
    """A recorded training attempt that produced no classifier (never loadable, never promoted)."""
    return not version.artifact_key or bool(version.metrics.get("training_error"))


def training_problem(latest: ModelVersion | None) -> str | None:
    """Why the newest version does not serve, or None when it serves or is still being checked."""
    if latest is None or latest.promoted or latest.passed_gate is not False:
        return None
    return f"version {latest.version}: {gate_verdict(latest.metrics)[1]}"
