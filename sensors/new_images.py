"""new_images_sensor: ingest photos as soon as they land in the library."""

from __future__ import annotations

import hashlib
import os

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from assets.jobs import ingest_job
from resources.image_source.base import ImageSource
from resources.state_store.base import StateStore
from sensors.in_flight import run_in_flight

IMAGES_INTERVAL_S = int(os.environ.get("FACELOOP_IMAGES_SENSOR_INTERVAL", "10"))
# The daemon looks at sensors every 5 s and skips one whose last tick *started* less than its
# minimum interval ago; a tick starts a little after its loop does, so an interval of exactly two
# loops (10 s) was always just short and every tick came a loop late (~15 s). Asking for one second
# less lands each tick on the loop it was meant for (10 s apart for the default).
TICK_START_SLACK_S = 1


@sensor(
    job=ingest_job,
    minimum_interval_seconds=max(1, IMAGES_INTERVAL_S - TICK_START_SLACK_S),
    default_status=DefaultSensorStatus.RUNNING,
    description="Lists the library and requests an ingest run for photos the store has not seen.",
)
def new_images_sensor(
    context: SensorEvaluationContext, image_source: ImageSource, state_store: StateStore
) -> SensorResult | SkipReason:
    """A listing compared with the store's (key, size, mtime) record: no file is read or hashed.

    The cursor is a fingerprint of the pending set last requested, so the same pending photos
    never produce two runs; while an ingest is in flight the sensor waits.
    """
    known = state_store.known_photos()
    pending = sorted(
        (entry.key, entry.size, entry.mtime)
        for entry in image_source.list_photos()
        if known.get(entry.key) != (entry.size, entry.mtime)
    )
    if not pending:
        return SkipReason("no new or changed photos")
    running = run_in_flight(context, ingest_job.name)
    if running:
        return SkipReason(f"ingest {running} in flight; {len(pending)} photos wait")
    fingerprint = hashlib.sha256(repr(pending).encode()).hexdigest()[:16]
    if fingerprint == context.cursor:
        return SkipReason(f"{len(pending)} pending photos were already requested")
    return SensorResult(
        run_requests=[RunRequest(run_key=f"photos-{fingerprint}", tags={"faceloop/new_photos": str(len(pending))})],
        cursor=fingerprint,
    )
