"""The jobs: ingest new photos, retrain + relabel after new labels, relabel when the serving version changes."""

from dagster import AssetSelection, define_asset_job

WATERMARK_TAG = "faceloop/label_watermark"  # on a retrain run: the label event it trains through

INGEST_ASSETS = ["raw_images", "detected_faces", "face_embeddings", "predicted_labels"]

ingest_job = define_asset_job(
    "ingest_job",
    selection=AssetSelection.assets(*INGEST_ASSETS),
    description="New photos -> faces -> embeddings, then predictions when a classifier is promoted.",
)

retrain_job = define_asset_job(
    "retrain_job",
    selection=AssetSelection.assets("face_classifier", "predicted_labels"),
    description="Train a classifier on all labels; if it passes the quality gate, relabel every face.",
    tags={"faceloop/retrain": "true"},
)

relabel_job = define_asset_job(
    "relabel_job",
    selection=AssetSelection.assets("predicted_labels"),
    description="Relabel every face with the serving version, after a labeler pins one or goes back to automatic.",
    tags={"faceloop/relabel": "true"},
)
