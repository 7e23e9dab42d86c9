"""new_labels_sensor: retrain + relabel as soon as people give new labels."""

from __future__ import annotations

import os
import time

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.jobs import WATERMARK_TAG, retrain_job
from resources.state_store.base import StateStore
from resources.state_store.ports import LabelLog, RetrainWatch
from resources.state_store.rules import teaches_the_model
from sensors.in_flight import run_in_flight

LABELS_INTERVAL_S = int(os.environ.get("FACELOOP_LABELS_SENSOR_INTERVAL", "1"))
# The daemon starts a sensor's tick at most every 5 s (dagster/_daemon/sensor.py,
# MIN_INTERVAL_LOOP_TIME, not configurable), so a tick keeps watching the store for this long
# and requests the retrain the moment a label lands, instead of leaving it to the next tick:
# on average 2.5 s saved per label. It stays under 5 s so that every daemon loop starts a tick.
LABELS_WATCH_S = float(os.environ.get("FACELOOP_LABELS_WATCH_S", "4.5"))
LABELS_POLL_S = float(os.environ.get("FACELOOP_LABELS_POLL_S", "0.1"))


@sensor(
    job=retrain_job,
    minimum_interval_seconds=LABELS_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Watches the label event log; one retrain at a time, labels arriving meanwhile batch up.",
)
def new_labels_sensor(context: SensorEvaluationContext, state_store: StateStore) -> SensorResult | SkipReason:
    """Cursor = the label watermark of the last requested retrain.

    A tick requests a run only for labels no classifier version has seen yet (so the first tick
    after the demo's initial materialization requests nothing). While a retrain is queued or
    running it waits *without* advancing its cursor, so labels written meanwhile go into the next
    retrain: none is lost, and a burst of labels costs one retrain, not one per label.
    """
    deadline = time.monotonic() + LABELS_WATCH_S
    while True:
        verdict = _retrain_request(context, state_store)
        if isinstance(verdict, SensorResult) or time.monotonic() + LABELS_POLL_S > deadline:
            return verdict
        time.sleep(LABELS_POLL_S)


def _retrain_request(context: SensorEvaluationContext, state_store: RetrainWatch) -> SensorResult | SkipReason:
    """One look at the store: a run request for the labels after what is trained, or why not."""
    latest = state_store.latest_model()
    trained = max(int(context.cursor or 0), latest.label_watermark if latest else 0)
    watermark = state_store.label_watermark()
    if watermark <= trained:
        return SkipReason(f"no label events after #{trained}")
    running = run_in_flight(context, retrain_job.name)
    if running:
        return SkipReason(f"retrain {running} in flight; labels #{trained + 1}..#{watermark} wait for the next one")
    if only_checks_since(state_store, trained):
        # Checked-and-kept labels teach the model nothing (read only once no retrain is in flight,
        # not on every poll while one runs): move on without an empty retrain.
        return SensorResult(
            skip_reason=f"label events #{trained + 1}..#{watermark} only check labels", cursor=str(watermark)
        )
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"labels-upto-{watermark}",
                tags={WATERMARK_TAG: str(watermark), "faceloop/retrain": "true"},
            )
        ],
        cursor=str(watermark),
    )


def only_checks_since(state_store: LabelLog, trained: int) -> bool:
    """Every event after ``trained`` is a CHECK (persona events, such as a rename, always teach)."""
    if state_store.persona_events(since=trained):
        return False
    events = state_store.label_events(since=trained)
    return bool(events) and not any(teaches_the_model(event) for event in events)
