"""Sensors that keep FaceLoop current: new photos are ingested, new labels retrain + relabel, and
a change of the serving version (a pin, or back to automatic) relabels."""

from sensors.new_images import new_images_sensor
from sensors.new_labels import new_labels_sensor
from sensors.serving_changes import serving_changes_sensor

ALL_SENSORS = [new_images_sensor, new_labels_sensor, serving_changes_sensor]

__all__ = ["ALL_SENSORS", "new_images_sensor", "new_labels_sensor", "serving_changes_sensor"]
