"""Evaluating representations: features of a dataset, linear-probe and kNN accuracy."""

from sslcore.eval.probe import extract_features, knn_accuracy, linear_probe_accuracy

__all__ = ["extract_features", "knn_accuracy", "linear_probe_accuracy"]
