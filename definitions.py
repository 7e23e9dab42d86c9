"""The one Definitions object of the FaceLoop code location."""

from dagster import Definitions

from assets import ALL_ASSETS, ALL_CHECKS, ALL_JOBS
from resources.deployments import resources_for_deployment

defs = Definitions(
    assets=ALL_ASSETS,
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    resources=resources_for_deployment(),
)
