"""Sensors that keep FaceLoop current: new photos are ingested, new labels retrain + relabel."""

from sensors.new_images import new_images_sensor
from sensors.new_labels import new_labels_sensor

ALL_SENSORS = [new_images_sensor, new_labels_sensor]

__all__ = ["ALL_SENSORS", "new_images_sensor", "new_labels_sensor"]
