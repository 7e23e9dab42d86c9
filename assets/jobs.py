"""The two jobs: ingest new photos, and retrain + relabel after new labels."""

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
