"""Trajectory, PCA and filter-normalised directions, and the L_pre surface of a tiny run."""

import numpy as np
import pytest
import torch

import sslcore.landscape.plane as plane_module
from sslcore.config import PretrainConfig
from sslcore.errors import DataError
from sslcore.eval.transfer import pretext_loss
from sslcore.landscape.plane import loss_surface
from sslcore.landscape.trajectory import (
    Trajectory,
    pca_directions,
    random_directions,
    run_trajectory,
)
from sslcore.runs import RunStore
from sslcore.train.pretrain import build, pretrain

CONFIG = PretrainConfig(
    task="rotation",
    data="shapes",
    data_options={"n": 64, "size": 16},
    steps=4,
    batch_size=8,
    width=4,
    eval_every=4,
    checkpoint_every=2,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return pretrain(CONFIG, store=RunStore(tmp_path_factory.mktemp("runs")), progress=False)


@pytest.fixture(scope="module")
def path(run):
    return run_trajectory(run)


@pytest.fixture
def empty_run(tmp_path):
    return RunStore(tmp_path).create(CONFIG)


def _flat(*modules):
    return torch.cat([p.detach().reshape(-1) for m in modules for p in m.parameters()]).numpy()


def _oracle_loss(run, step, vector=None, batches=1):
    """L_pre through the plain modules and eval.transfer.pretext_loss: no functional_call."""
    setup = build(run.config)
    state = run.load_checkpoint(step)
    setup.encoder.load_state_dict(state["encoder"])
    setup.head.load_state_dict(state["head"])
    if vector is not None:
        params = [*setup.encoder.parameters(), *setup.head.parameters()]
        torch.nn.utils.vector_to_parameters(torch.as_tensor(vector, dtype=torch.float32), params)
    x = torch.cat([setup.split.target_train.x, setup.split.target_test.x])
    return pretext_loss(setup.task, setup.encoder, setup.head, x, CONFIG.batch_size, 0, batches)


# ---- trajectory ---------------------------------------------------------------------------------


def test_trajectory_is_the_seeded_init_then_every_checkpoint(run, path):
    setup = build(CONFIG)
    assert path.steps == [0, 2, 4] and path.run_id == run.id
    assert path.params.dtype == np.float32 and path.params.shape[0] == 3
    np.testing.assert_array_equal(path.params[0], _flat(setup.encoder, setup.head))
    state = run.load_checkpoint(4)
    setup.encoder.load_state_dict(state["encoder"])
    setup.head.load_state_dict(state["head"])
    np.testing.assert_array_equal(path.params[2], _flat(setup.encoder, setup.head))
    assert not np.array_equal(path.params[0], path.params[1])  # training moved θ
    assert sum(int(np.prod(s)) for s in path.shapes) == path.params.shape[1]
    assert all(n.startswith(("encoder.", "head.")) for n in path.names)
    assert not any("running" in n or "num_batches" in n for n in path.names)  # no BN buffers
    assert "encoder.stem.1.weight" in path.names  # BN's γ is a parameter


def test_trajectory_at_chosen_steps_and_a_missing_one(run, path):
    one = run_trajectory(run, [4])
    assert one.steps == [4]
    np.testing.assert_array_equal(one.params[0], path.params[-1])
    with pytest.raises(DataError, match=r"no checkpoint at step\(s\) \[3\]"):
        run_trajectory(run, [0, 3])


def test_a_run_without_checkpoints_is_named(empty_run):
    with pytest.raises(DataError, match=f"run {empty_run.id} has no checkpoints"):
        run_trajectory(empty_run)
    with pytest.raises(DataError, match=empty_run.id):
        loss_surface(empty_run, np.zeros((2, 10)), resolution=3)


# ---- PCA directions -----------------------------------------------------------------------------


def _synthetic(params):
    return Trajectory("synthetic", list(range(len(params))), params.astype(np.float32), [], [])


def test_a_straight_line_trajectory_has_one_pca_direction():
    rng = np.random.default_rng(0)
    start, v = rng.normal(size=50), rng.normal(size=50)
    s = np.array([0.0, 0.3, 1.1, 1.7, 2.0])
    directions, ratio, coords = pca_directions(_synthetic(start + s[:, None] * v))
    np.testing.assert_allclose(ratio, [1.0, 0.0], atol=1e-6)
    unit = v / np.linalg.norm(v)
    sign = np.sign(directions[0] @ unit)
    np.testing.assert_allclose(directions[0] * sign, unit, atol=1e-5)
    np.testing.assert_allclose(coords[:, 0] * sign, (s - 2.0) * np.linalg.norm(v), atol=1e-4)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-4)
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-6)


def test_a_planar_trajectory_is_recovered_from_its_coordinates():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(2, 40))
    params = rng.normal(size=40) + rng.normal(size=(6, 2)) @ basis  # (6, 40) in a plane
    directions, ratio, coords = pca_directions(_synthetic(params))
    assert ratio.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(coords[-1], 0.0, atol=1e-6)  # θ_final at the origin
    np.testing.assert_allclose(coords @ directions, params - params[-1], atol=1e-4)


def test_pca_refuses_a_single_point_and_a_path_that_does_not_move():
    with pytest.raises(ValueError, match="T >= 2"):
        pca_directions(_synthetic(np.ones((1, 5))))
    with pytest.raises(ValueError, match="does not move"):
        pca_directions(_synthetic(np.ones((3, 5))))


# ---- random directions --------------------------------------------------------------------------


def test_every_filter_of_a_random_direction_has_the_model_filter_norm(path):
    center = path.params[-1]
    directions = random_directions(center, path.shapes, seed=3)
    assert directions.shape == (2, center.size) and directions.dtype == np.float32
    start, checked = 0, 0
    for shape in path.shapes:
        size = int(np.prod(shape))
        d = directions[:, start : start + size].astype(np.float64)
        if len(shape) == 1:
            assert not d.any()  # biases and BatchNorm parameters: zero
        else:
            w = center[start : start + size].astype(np.float64).reshape(shape[0], -1)
            want = np.linalg.norm(w, axis=1)
            for k in range(2):
                got = np.linalg.norm(d[k].reshape(shape[0], -1), axis=1)
                np.testing.assert_allclose(got, want, rtol=1e-5)
            checked += shape[0]
        start += size
    assert checked > 0
    assert not np.allclose(directions[0], directions[1])
    np.testing.assert_array_equal(directions, random_directions(center, path.shapes, seed=3))
    assert not np.allclose(directions, random_directions(center, path.shapes, seed=4))


def test_random_directions_refuse_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match="shapes"):
        random_directions(np.ones(10), [(2, 3), (3,)])


# ---- loss surface -------------------------------------------------------------------------------


@pytest.mark.parametrize("center", [None, 2])
def test_the_surface_origin_is_the_center_checkpoint_pretext_loss(run, path, center):
    directions = random_directions(path.params[-1], path.shapes, seed=0)
    surface = loss_surface(run, directions, center, resolution=3, batches=2, method="loop")
    step = 4 if center is None else center
    assert surface.center == step and surface.loss.shape == (3, 3)
    np.testing.assert_array_equal(surface.a, [-1.0, 0.0, 1.0])
    assert surface.loss[1, 1] == pytest.approx(_oracle_loss(run, step, batches=2), abs=1e-5)


def test_loss_i_j_is_at_a_i_and_b_j(run, path):
    directions = random_directions(path.params[-1], path.shapes, seed=1)
    surface = loss_surface(run, directions, span=(-0.5, 0.5), resolution=3, method="loop")
    theta = path.params[-1] + surface.a[0] * directions[0] + surface.b[2] * directions[1]
    assert surface.loss[0, 2] == pytest.approx(_oracle_loss(run, 4, theta), abs=1e-5)
    assert abs(surface.loss[0, 2] - surface.loss[2, 0]) > 1e-4  # the test can tell them apart


def test_the_vmap_path_equals_the_loop_path(run, path):
    directions, _, coords = pca_directions(path)
    loop = loss_surface(run, directions, span=(-2, 2), resolution=3, method="loop", coords=coords)
    batched = loss_surface(run, directions, span=(-2, 2), resolution=3, method="vmap", chunk=4)
    assert (loop.path, batched.path) == ("loop", "vmap")
    np.testing.assert_allclose(batched.loss, loop.loss, atol=1e-5)
    np.testing.assert_array_equal(loop.coords, coords)
    assert np.ptp(loop.loss) > 1e-3  # a surface, not a constant


def test_auto_falls_back_to_the_loop_when_vmap_raises(run, path, monkeypatch):
    def no_batching_rule(*args, **kwargs):
        raise RuntimeError("Batching rule not implemented for sslcore::info_nce_self")

    directions = random_directions(path.params[-1], path.shapes, seed=2)
    loop = loss_surface(run, directions, resolution=3, method="loop")
    monkeypatch.setattr(plane_module, "vmap", no_batching_rule)
    auto = loss_surface(run, directions, resolution=3, method="auto", chunk=2)
    assert auto.path == "loop"
    np.testing.assert_array_equal(auto.loss, loop.loss)
    with pytest.raises(RuntimeError, match="Batching rule"):
        loss_surface(run, directions, resolution=3, method="vmap")


@pytest.mark.parametrize("resolution", [1, 0, -3, True, 2.0, 102])
def test_a_bad_resolution_is_refused_before_anything_is_loaded(empty_run, resolution):
    with pytest.raises(ValueError, match="resolution"):
        loss_surface(empty_run, np.zeros((2, 10)), resolution=resolution)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"span": (1.0, -1.0)}, "span"),
        ({"span": (0.5, 0.5)}, "span"),
        ({"span": (0.0, float("nan"))}, "span"),
        ({"span": 3}, "span"),
        ({"batches": 0}, "batches"),
        ({"chunk": 0}, "chunk"),
        ({"method": "fast"}, "method"),
        ({"resolution": 11, "max_points": 100}, "resolution: 11 makes 121"),
        ({"directions": np.full((2, 10), np.nan)}, "NaN"),
        ({"directions": np.zeros((3, 10))}, r"\(2, P\)"),
        ({"coords": np.zeros((4, 3))}, "coords"),
    ],
)
def test_bad_grid_arguments_are_named(empty_run, options, message):
    options = {"directions": np.zeros((2, 10)), "resolution": 3} | options
    with pytest.raises(ValueError, match=message):
        loss_surface(empty_run, **options)


def test_directions_of_the_wrong_size_name_the_run_size(run, path):
    size = path.params.shape[1]
    with pytest.raises(ValueError, match=rf"expected \(2, {size}\) for run {run.id}"):
        loss_surface(run, np.zeros((2, size + 1), np.float32), resolution=3)


def test_a_grid_over_the_memory_limit_names_the_resolution(run, path):
    directions = np.zeros((2, path.params.shape[1]), np.float32)
    with pytest.raises(ValueError, match="resolution 5: a chunk of"):
        loss_surface(run, directions, resolution=5, memory_limit=1000)
