"""The FaceLoop labeling app: people confirm and correct what the classifier predicts.

``actions`` holds plain functions over the stores (unit-tested without a browser); ``views``
lays them out as a Gradio app; ``python -m gradio_app`` starts it.
"""
