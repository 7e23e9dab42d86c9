"""serving_changes_sensor: relabel with the version that serves when a labeler pins one or goes
back to automatic (the predictions then come from a Dagster run, as after any retrain)."""

from __future__ import annotations

import os

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from assets.jobs import ingest_job, relabel_job, retrain_job
from resources.state_store.base import StateStore
from sensors.in_flight import run_in_flight

SERVING_INTERVAL_S = int(os.environ.get("FACELOOP_SERVING_SENSOR_INTERVAL", "2"))
SERVING_TAG = "faceloop/serving_version"  # on a relabel run: the version it was requested for
RELABELING_JOBS = (retrain_job.name, relabel_job.name, ingest_job.name)  # each ends with predicted_labels


@sensor(
    job=relabel_job,
    minimum_interval_seconds=SERVING_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Relabels every face when the serving version is not the one the predictions come from.",
)
def serving_changes_sensor(context: SensorEvaluationContext, state_store: StateStore) -> SensorResult | SkipReason:
    """Compares the serving version (a pin, else the promoted one) with the prediction update's.

    A retrain that promotes a version relabels in its own run, so while any run that ends in
    ``predicted_labels`` is in flight it waits; after it, nothing differs unless that run failed
    (then this sensor catches up). The cursor and run key name the serving event too, so pinning
    the same version again after going back to automatic relabels again.
    """
    serving = state_store.serving()
    if serving.model is None:
        return SkipReason("no classifier serves yet")
    update = state_store.latest_prediction_update()
    current = update["model_version"] if update else None
    version = serving.model.version
    if current == version:
        return SkipReason(f"predictions come from v{version}, the serving version")
    if running := run_in_flight(context, *RELABELING_JOBS, any_sensor=True):
        return SkipReason(f"run {running} in flight; v{version} relabels after it")
    events = state_store.serving_events()
    key = f"v{version}-after-{events[-1].seq if events else 0}"
    if key == context.cursor:
        return SkipReason(f"a relabel with v{version} was requested already")
    reason = "pinned" if serving.pinned else "promoted"
    return SensorResult(
        run_requests=[RunRequest(run_key=f"serve-{key}", tags={SERVING_TAG: str(version), "faceloop/serving": reason})],
        cursor=key,
    )
