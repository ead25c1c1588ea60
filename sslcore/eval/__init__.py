"""Evaluating representations: features, linear-probe and kNN accuracy, embeddings, collapse."""

from sslcore.eval.embeddings import (
    Features,
    Projection,
    collapse_metrics,
    project,
    run_features,
)
from sslcore.eval.few_label import FewLabelResult, few_label_accuracy, paired_difference
from sslcore.eval.knn import weighted_knn, weighted_knn_predict
from sslcore.eval.probe import extract_features, knn_accuracy, linear_probe_accuracy

__all__ = [
    "Features",
    "FewLabelResult",
    "Projection",
    "collapse_metrics",
    "extract_features",
    "few_label_accuracy",
    "knn_accuracy",
    "linear_probe_accuracy",
    "paired_difference",
    "project",
    "run_features",
    "weighted_knn",
    "weighted_knn_predict",
]
