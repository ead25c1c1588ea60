"""compare_paradigms: the supervised baseline on pixels, on the whole train split and on 1 %."""

import numpy as np

from sslcore.data import label_indices, load_dataset
from sslcore.paradigms import compare_paradigms


def test_the_pixel_baseline_is_also_scored_on_13_labels_over_10_draws():
    data = load_dataset("digits")
    r = compare_paradigms(data, np.arange(4))
    assert r.train_size == 1257  # 70 % of 1,797
    assert r.few_labels == len(label_indices(np.zeros(1257, dtype=int), 0.01)) == 13
    assert r.few_label_draws == 10
    assert 0.0 <= r.few_label_accuracy <= 1.0 and r.few_label_std > 0.0  # draws differ
    assert r.few_label_accuracy < r.supervised_accuracy - 0.1  # 13 labels are far fewer
    assert r.few_label_accuracy > 0.3  # well above chance (10 %)
