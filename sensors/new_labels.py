"""new_labels_sensor: retrain + relabel as soon as people give new labels."""

from __future__ import annotations

import os

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.jobs import retrain_job
from resources.state_store import StateStore
from sensors.in_flight import run_in_flight

LABELS_INTERVAL_S = int(os.environ.get("FACELOOP_LABELS_SENSOR_INTERVAL", "1"))


@sensor(
    job=retrain_job,
    minimum_interval_seconds=LABELS_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches the label event log; one retrain at a time, labels arriving meanwhile batch up.",
)
def new_labels_sensor(context: SensorEvaluationContext, state_store: StateStore) -> SensorResult | SkipReason:
    """Cursor = the label watermark of the last requested retrain.

    While a retrain is queued or running the sensor skips *without* advancing its cursor, so
    labels written meanwhile are picked up by the next tick after it finishes: none is lost, and
    a burst of labels costs one retrain, not one per label.
    """
    seen = int(context.cursor or 0)
    watermark = state_store.label_watermark()
    if watermark <= seen:
        return SkipReason(f"no label events after #{seen}")
    running = run_in_flight(context, retrain_job.name)
    if running:
        return SkipReason(f"retrain {running} in flight; labels #{seen + 1}..#{watermark} wait for the next one")
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"labels-upto-{watermark}",
                tags={"faceloop/label_watermark": str(watermark), "faceloop/retrain": "true"},
            )
        ],
        cursor=str(watermark),
    )
