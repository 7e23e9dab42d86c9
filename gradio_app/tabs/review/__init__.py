"""The Review tab: ``tab`` (the tab, its mode switch and the "Answer predictions" card) and
``check_labels`` (its "Check these labels" card, built inside it). The logic is ``gradio_app.review``."""
