"""Theory figures: one curve per run, L_pre scaled as asked, steps in order."""

import pytest

from sslcore.viz_transfer import relation_figure, transfer_curves_figure


def _rows(task, pre, adapt):
    return [
        {"step": 100 * i, "task": task, "pretext_loss": a, "adapt_train_loss": b, "accuracy": 0.1}
        for i, (a, b) in enumerate(zip(pre, adapt, strict=True))
    ]


TABLES = {
    "r1": _rows("contrastive", [5.0, 4.0, 2.5], [2.0, 1.5, 1.0]),
    "r2": _rows("rotation", [1.4, 0.7], [2.1, 2.0]),
}


def test_one_curve_per_run_rescaled_within_the_run():
    fig = relation_figure(TABLES)
    assert [t.name for t in fig.data] == ["contrastive · r1", "rotation · r2"]
    assert list(fig.data[0].x) == pytest.approx([1.0, 0.6, 0.0])
    assert list(fig.data[1].y) == [2.1, 2.0]


def test_raw_scale_and_checkpoint_order():
    shuffled = {"r": list(reversed(TABLES["r1"]))}
    fig = relation_figure(shuffled, scale="raw")
    assert list(fig.data[0].x) == [5.0, 4.0, 2.5]
    assert [c[0] for c in fig.data[0].customdata] == [0, 100, 200]


def test_negative_losses_rescale_too():
    fig = relation_figure({"s": _rows("simsiam", [-0.1, -0.6, -0.7], [2.0, 1.9, 1.9])})
    assert list(fig.data[0].x) == pytest.approx([1.0, 1 / 6, 0.0])


def test_bad_scale_is_named():
    with pytest.raises(ValueError, match="scale"):
        relation_figure(TABLES, scale="log")


def test_curves_have_three_panels_per_run_and_one_legend_entry():
    fig = transfer_curves_figure(TABLES)
    assert len(fig.data) == 6 and sum(bool(t.showlegend) for t in fig.data) == 2
    assert relation_figure({}).data == ()
