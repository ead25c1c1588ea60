"""Reading the pretext head's outputs as pseudolabels, and reloading a run's h_θ and k_γ."""

import pytest
import torch

from sslcore.config import PretrainConfig
from sslcore.pretext.base import PretextBatch
from sslcore.pretext_predictions import (
    load_pretext_model,
    nearest_other_row,
    predictions,
    pretext_outputs,
)
from sslcore.runs import RunStore
from sslcore.train.pretrain import build, pretrain


class Classifier:
    num_classes = 4


class Other:
    pass


def test_classification_logits_give_their_argmax():
    z = torch.tensor([0, 1, 2, 3])
    logits = torch.eye(4)[[3, 1, 2, 0]]  # rows 0 and 3 swapped
    got = predictions(Classifier(), logits, PretextBatch(torch.zeros(4, 1), z))
    assert got.pseudolabels.tolist() == [3, 1, 2, 0] and got.images is None


def test_two_view_outputs_give_the_most_similar_other_row():
    b = 3
    z = (torch.arange(2 * b) + b) % (2 * b)
    base = torch.eye(2 * b)[:b] * 2 + 0.1  # three nearly orthogonal directions
    outputs = torch.cat([base, base + 0.01 * torch.randn(b, 2 * b)])  # each pair nearly equal
    batch = PretextBatch(torch.zeros(2 * b, 1), z)
    assert torch.equal(predictions(Other(), outputs, batch).pseudolabels, z)
    # SimSiam's head returns (predictions p, projections z): the projections are compared.
    swapped = torch.cat([base[[1, 0, 2]], base])
    got = predictions(Other(), (torch.zeros(2 * b, 4), swapped), batch).pseudolabels
    assert got.tolist() == [4, 3, 5, 1, 0, 2]


def test_nearest_other_row_never_picks_the_row_itself():
    same = torch.ones(3, 2)
    assert all(int(j) != i for i, j in enumerate(nearest_other_row(same)))
    with pytest.raises(ValueError, match="N >= 2"):
        nearest_other_row(torch.ones(1, 2))


def test_vime_images_and_unknown_outputs():
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    batch = PretextBatch(torch.zeros(2, 2), mask)
    logits, features = torch.tensor([[2.0, -1.0], [3.0, 0.5]]), torch.randn(2, 2)
    got = predictions(Other(), (logits, features), batch)
    assert got.pseudolabels.tolist() == [[1.0, 0.0], [1.0, 1.0]] and got.features is features

    target = torch.zeros(2, 3, 4, 4)
    image = torch.ones(2, 3, 4, 4)
    assert predictions(Other(), image, PretextBatch(target, target)).images is image
    empty = predictions(Other(), torch.zeros(5), PretextBatch(torch.zeros(2, 1), torch.zeros(2)))
    assert empty.pseudolabels is None and empty.images is None and empty.features is None


def test_a_run_reloads_with_its_last_checkpoint(tmp_path, monkeypatch):
    config = PretrainConfig(
        task="rotation",
        data="shapes",
        data_options={"n": 200},
        steps=4,
        batch_size=8,
        width=4,
        eval_every=2,
        checkpoint_every=2,
    )
    run = pretrain(config, store=RunStore(tmp_path), progress=False)
    from sslcore.train import pretrain as training

    with monkeypatch.context() as patch:  # the checkpoint's sample shape is enough: no data loaded
        patch.setattr(training, "load_dataset", lambda *a, **k: pytest.fail("data was loaded"))
        model = load_pretext_model(run)
    assert (model.run_id, model.step, model.sample_shape) == (run.id, 4, (3, 32, 32))
    state = run.load_checkpoint()
    for name, value in model.encoder.state_dict().items():
        assert torch.equal(value, state["encoder"][name]), name
    assert not model.head.training and not any(p.requires_grad for p in model.head.parameters())
    assert load_pretext_model(run, step=2).step == 2

    setup = build(config)  # the reference: the same modules, the checkpoint loaded by hand
    setup.encoder.load_state_dict(state["encoder"])
    setup.head.load_state_dict(state["head"])
    x = setup.split.source.x[:5]
    batch = model.task.make_batch(x, torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = setup.head.eval()(setup.encoder.eval()(batch.inputs))
    outputs = pretext_outputs(model, batch)
    torch.testing.assert_close(outputs, expected)
    labels = predictions(model.task, outputs, batch).pseudolabels
    assert labels.shape == (20,) and torch.equal(labels, expected.argmax(1))
