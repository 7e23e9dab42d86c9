"""Is a run of these jobs (started by this sensor, or by anyone) still queued or running?"""

from __future__ import annotations

from dagster import DagsterRunStatus, RunsFilter, SensorEvaluationContext

IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def run_in_flight(context: SensorEvaluationContext, *job_names: str, any_sensor: bool = False) -> str | None:
    """The id of an unfinished run of one of ``job_names`` requested by this sensor (by anyone,
    sensor or person, with ``any_sensor``), if any."""
    tags = None if any_sensor else {"dagster/sensor_name": context.sensor_name}
    for job_name in job_names:
        records = context.instance.get_run_records(
            RunsFilter(job_name=job_name, statuses=IN_FLIGHT, tags=tags), limit=1
        )
        if records:
            return records[0].dagster_run.run_id
    return None
