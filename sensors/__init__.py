"""Sensors that keep FaceLoop current, one per file: new photos are ingested (``new_images``), new
labels retrain and relabel (``new_labels``), and a change of the serving version (a pin, or back
to automatic) relabels (``serving_changes``). ``definitions.py`` collects them."""
