"""Why a classifier version does or does not serve, in words for people (the gate, the run, the app).

A version serves when its held-out accuracy (labeled faces it did not train on, named right)
reaches the minimum. From the first label on there may be nothing to hold out: a person with a
single labeled face cannot be hidden and still be learned. Such a version serves *provisionally*
while no checked version serves, so a new user sees suggestions at once; it never replaces a
checked version, and the normal gate applies as soon as an estimate exists (every version is
judged afresh: the first one with held-out faces that passes replaces the provisional one).

A training attempt that cannot make a model is stored as a version with no artifact and a
``training_error`` metric, refused by the gate at once: the promoted version keeps serving and
the app can say why nothing new serves. (Training skips while the newest version, failed or not,
already covers the label watermark, so a failing set of labels is not retried until labels change.)
"""

from __future__ import annotations

from resources.state_store.records import ModelVersion, Serving, ServingEvent
from resources.state_store.rules import has_classifier

DEFAULT_MIN_ACCURACY = 0.8

NO_HELD_OUT = (
    "no held-out faces to measure accuracy on: each person needs at least 2 labeled faces "
    "before a version can be checked"
)


def gate_verdict(metrics: dict, checked_version_serves: bool = False) -> tuple[bool, str]:
    """(passes, reason) for a version's metrics, given whether a checked version already serves."""
    if metrics.get("training_error"):
        return False, f"not trained: {metrics['training_error']}"
    accuracy = metrics.get("accuracy")
    minimum = metrics.get("gate_min_accuracy", DEFAULT_MIN_ACCURACY)
    if metrics.get("personas", 0) < 1:
        return False, "needs labeled faces of at least 1 person"
    if accuracy is None:
        if checked_version_serves:
            return False, f"{NO_HELD_OUT}; a provisional version never replaces a checked one"
        return True, f"provisional: {NO_HELD_OUT}; it serves until a checked version passes"
    if accuracy < minimum:
        return False, f"held-out accuracy {accuracy:.1%} is below the {minimum:.0%} minimum"
    return True, f"held-out accuracy {accuracy:.1%} meets the {minimum:.0%} minimum"


def is_failed_attempt(version: ModelVersion) -> bool:
    """A recorded training attempt that produced no classifier (never loadable, never promoted)."""
    return not has_classifier(version)


def is_provisional(version: ModelVersion | None) -> bool:
    """A trained version with no held-out estimate: it may serve only while no checked one does."""
    return version is not None and not is_failed_attempt(version) and version.metrics.get("accuracy") is None


def is_checked(version: ModelVersion | None) -> bool:
    return version is not None and not is_failed_attempt(version) and not is_provisional(version)


def training_problem(latest: ModelVersion | None) -> str | None:
    """Why the newest version does not serve, or None when it serves or is still being checked."""
    if latest is None or latest.promoted or latest.passed_gate is not False:
        return None
    # Refused with no estimate means a checked version was serving (else it would serve provisionally).
    return f"version {latest.version}: {gate_verdict(latest.metrics, checked_version_serves=True)[1]}"


def serving_note(promoted: ModelVersion | None) -> str | None:
    """What a person should know about the serving version beyond its figures (None: nothing)."""
    if not is_provisional(promoted):
        return None
    return (
        "Provisional: no held-out faces to check it on yet. Give some people a second labeled face "
        "and the next version is checked as usual."
    )


def pin_words(pin: ServingEvent) -> str:
    """ "v1 pinned by ada" (the actor left out when unknown)."""
    return f"v{pin.version} pinned" + (f" by {pin.actor}" if pin.actor else "")


def gate_description(
    version: int, passed: bool, reason: str, serving: Serving, lifted: ServingEvent | None = None
) -> str:
    """The gate's verdict said once: promoted or not, why, what serves, and a pin it lifted."""
    if passed:
        provisional = reason.startswith("provisional: ")
        how = "promoted as provisional" if provisional else "promoted"
        text = f"v{version} {how}: {reason.removeprefix('provisional: ')}"
        if lifted is not None:
            text += f"; it lifts the pin ({pin_words(lifted)}): automatic promotion resumes"
        return text
    if serving.pin is not None:
        keeps = f"{pin_words(serving.pin)} keeps serving"
    else:
        keeps = f"v{serving.model.version} keeps serving" if serving.model else "no classifier serves yet"
    return f"v{version} not promoted: {reason}; {keeps}"


def served_by(state: Serving) -> str:
    """Which version served this run and why, for the run's metadata."""
    if state.pin is not None:
        who = f" by {state.pin.actor}" if state.pin.actor else ""
        return f"v{state.model.version}, pinned{who} (promoted: v{state.promoted.version if state.promoted else '-'})"
    return f"v{state.model.version}, promoted by the quality gate"
