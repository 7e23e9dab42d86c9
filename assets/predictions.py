"""predicted_labels: the serving classifier (the promoted one, or a labeler's pin) applied to every
face without a human label."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.core.clock import PhaseClock
from assets.core.learning.gate import served_by
from assets.core.learning.model import FaceClassifier
from assets.core.learning.scoring import predict_faces
from assets.library import load_library
from resources.artifact_store.base import ArtifactStore
from resources.face_engine.base import FaceEngine
from resources.state_store.base import StateStore


@asset(deps=["face_embeddings", "face_classifier"], group_name="learn", compute_kind="numpy")
def predicted_labels(
    context: AssetExecutionContext,
    state_store: StateStore,
    artifact_store: ArtifactStore,
    face_engine: FaceEngine,
) -> MaterializeResult:
    """Predictions for unlabeled faces by the serving version (a labeler's pin, else the promoted
    one); only rows whose prediction changed are written."""
    state = state_store.serving()
    serving = state.model
    if serving is None:
        context.log.info("no classifier serves yet: label faces of at least one person")
        return MaterializeResult(metadata={"status": "no promoted classifier yet", "written": 0})
    clock = PhaseClock()
    library = load_library(state_store, face_engine.embedding_space)  # read by face_classifier: reused
    face_ids = library.face_ids
    watermark = state_store.label_watermark()
    # "Reflected" means in the model: the labels the serving version was trained on.
    reflected = (serving.version, serving.label_watermark, len(face_ids))
    last = state_store.latest_prediction_update()
    last_key = last and (last["model_version"], last["label_watermark"], last["faces"])
    if last_key == reflected and watermark == serving.label_watermark:
        return MaterializeResult(
            metadata={"status": "up to date", "written": 0, "model_version": serving.version, "pinned": state.pinned}
        )
    classifier = FaceClassifier.from_bytes(artifact_store.get(serving.artifact_key))
    states = state_store.label_states(upto=watermark)
    clock.lap("load")
    predictions = predict_faces(classifier, serving.version, face_ids, library.embeddings, states, library.graph)
    clock.lap("score")
    settled_now = [f for f, s in states.items() if s.settled]
    written = state_store.write_predictions(predictions, drop=settled_now)
    if last_key != reflected:
        state_store.record_prediction_update(*reflected)
    clock.lap("write")
    context.log.info(f"predicted_labels: {len(predictions)} faces, {written} predictions written; {clock}")
    return MaterializeResult(
        metadata={
            "model_version": serving.version,
            "pinned": state.pinned,
            "served_by": served_by(state),
            "label_watermark": serving.label_watermark,
            "human_labels_applied_upto": watermark,
            "predicted_faces": len(predictions),
            "unknown": int((~predictions.known).sum()),
            "written": written,
            **{f"seconds_{phase}": seconds for phase, seconds in clock.seconds.items()},
        }
    )
