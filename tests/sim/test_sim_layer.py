"""The pure motion code agrees with mjlab: rotations, joint/body order, and the prior guard."""

import pytest
import torch

from smp_gym.errors import PriorMismatchError
from smp_gym.motion import rotations as R
from smp_gym.motion.layout import DEFAULT_LAYOUT, G1_BODY_NAMES, G1_JOINT_NAMES, FeatureLayout
from smp_gym.prior.checkpoint import save_prior
from smp_gym.prior.denoiser import Denoiser, DenoiserCfg
from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def test_rotation_helpers_match_mjlab():
    from mjlab.utils.lab_api import math as M

    g = torch.Generator().manual_seed(0)
    q = R.quat_normalize(torch.randn(256, 4, generator=g))
    p = R.quat_normalize(torch.randn(256, 4, generator=g))
    v = torch.randn(256, 3, generator=g)
    assert torch.allclose(R.quat_mul(q, p), M.quat_mul(q, p), atol=1e-6)
    assert torch.allclose(R.quat_apply(q, v), M.quat_apply(q, v), atol=1e-5)
    assert torch.allclose(R.quat_apply_inverse(q, v), M.quat_apply_inverse(q, v), atol=1e-5)
    ours, theirs = R.yaw_quat(q), M.yaw_quat(q)
    assert torch.allclose(ours, theirs, atol=1e-6)
    m = R.matrix_from_quat(q)
    assert torch.allclose(m, M.matrix_from_quat(q), atol=1e-6)
    mq = M.quat_from_matrix(m)
    assert (
        torch.minimum(
            (R.quat_from_matrix(m) - mq).abs().amax(-1), (R.quat_from_matrix(m) + mq).abs().amax(-1)
        ).max()
        < 1e-5
    )
    assert torch.allclose(R.axis_angle_from_quat(q), M.axis_angle_from_quat(q), atol=1e-4)


def test_layout_constants_match_the_simulated_g1():
    env = make("SmpSteeringG1-v0", num_envs=1, gsi={"init": "default"})
    robot = env.unwrapped.sim.scene["robot"]
    assert robot.joint_names == G1_JOINT_NAMES
    assert robot.body_names == G1_BODY_NAMES
    env.close()


def test_mismatched_prior_layout_is_refused_with_every_mismatch(tmp_path):
    names = list(G1_JOINT_NAMES)
    names[0], names[1] = names[1], names[0]
    layout = FeatureLayout(
        joint_names=tuple(names), ee_body_names=("left_ankle_roll_link", "head_link"), fps=30.0
    )
    model = Denoiser(DenoiserCfg(feature_dim=layout.feature_dim, d_model=16, nhead=2, num_layers=1))
    path = save_prior(
        tmp_path / "bad.safetensors",
        model,
        torch.zeros(layout.feature_dim),
        torch.ones(layout.feature_dim),
        layout,
    )
    with pytest.raises(PriorMismatchError) as err:
        make("SmpSteeringG1-v0", num_envs=1, prior=str(path), gsi={"init": "default"})
    msg = str(err.value)
    assert "joint order differs from position 0" in msg
    assert "'head_link'" in msg and "control dt" in msg
    assert DEFAULT_LAYOUT.feature_dim == 59


def test_fast_reset_observations_match_mjlab_reset():
    """Our reset (light forward) gives the observations mjlab's own reset (full forward) gives."""
    from smp_gym.sim.mjlab_bridge import reset_envs

    envs = [
        make(
            "SmpLocationG1-v0",
            num_envs=3,
            gsi={"init": "dataset", "dataset": str(_window_file())},
            sim={"observation_noise": False, "push_robot": False},
            seed=5,
        )
        for _ in range(2)
    ]
    outs = []
    for k, env in enumerate(envs):
        u = env.unwrapped
        env.reset(seed=5)
        for _ in range(4):
            env.step(torch.full((3, 29), 0.2))
        ids = torch.tensor([0, 2])
        u._generator.manual_seed(9)
        obs = reset_envs(u.sim, ids, full_forward=False) if k == 0 else u.sim.reset(env_ids=ids)[0]
        outs.append({g: v.clone() for g, v in obs.items()})
        env.close()
    for group in ("actor", "critic"):
        assert torch.allclose(outs[0][group], outs[1][group], atol=1e-5), group


def _window_file():
    import tempfile
    from pathlib import Path

    from smp_gym.motion.dataset import build_windows, norm_stats, save_windows
    from tests.synthetic import gait_clip

    ws = build_windows([gait_clip("g", seconds=2.0)], DEFAULT_LAYOUT, stride=5)
    path = Path(tempfile.mkdtemp()) / "w.npz"
    save_windows(path, ws, *norm_stats(ws.windows))
    return path
