"""Is a run of this job, started by this sensor, still queued or running?"""

from __future__ import annotations

from dagster import DagsterRunStatus, RunsFilter, SensorEvaluationContext

IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def run_in_flight(context: SensorEvaluationContext, job_name: str) -> str | None:
    """The id of an unfinished run of ``job_name`` requested by this sensor, if any."""
    records = context.instance.get_run_records(
        RunsFilter(job_name=job_name, statuses=IN_FLIGHT, tags={"dagster/sensor_name": context.sensor_name}),
        limit=1,
    )
    return records[0].dagster_run.run_id if records else None
