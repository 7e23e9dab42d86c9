"""The whole loop on lfw10 with Cosmos DB as the state store (local protocol server, real SDK)."""

from __future__ import annotations

import pytest

from resources.state_store.records import ImageStatus
from tests.support.pipeline import PipelineHome, local_resources_at, main_face_predictions, materialize_all
from tests.support.sample_library import build_library

pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def test_pipeline_on_cosmos_gets_at_least_95_percent_of_unlabeled_photos_right(
    lfw10, weights_home, cosmos_store_factory, tmp_path
):
    keys = build_library(lfw10, tmp_path / "library", labels_per_person=3)
    pipeline = PipelineHome(tmp_path, tmp_path / "library", keys)
    pipeline.resources = {**local_resources_at(pipeline.home, pipeline.library), "state_store": cosmos_store_factory()}
    assert materialize_all(pipeline.resources).success

    store = pipeline.store
    assert len(store.images()) == 100 and all(i.status == ImageStatus.DONE for i in store.images())
    assert len(store.label_events()) == 30 and store.promoted_model().version == 1
    predicted = main_face_predictions(pipeline)
    assert len(predicted) == 70
    right = sum(name == key.split("/")[0] for key, name in predicted.items())
    assert right / 70 >= 0.95, f"{right}/70 right"

    watermark, predictions = store.label_watermark(), store.predictions()
    assert materialize_all(pipeline.resources).success  # a rerun adds and changes nothing
    assert (store.label_watermark(), store.predictions(), len(store.model_versions())) == (watermark, predictions, 1)
