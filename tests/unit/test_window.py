import torch

from smp_gym.motion.features import Frames
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.motion.window import MotionWindow

D = Frames.packed_dim(L)


def frame(value: float, n: int = 3) -> torch.Tensor:
    return torch.full((n, D), float(value))


def test_push_keeps_the_last_w_frames_in_order_across_wraparound():
    w = MotionWindow(3, L, "cpu")
    for i in range(23):
        w.push(frame(i))
    assert w.frames()[:, :, 0].tolist() == [list(range(13, 23))] * 3


def test_reset_touches_only_the_given_envs_and_keeps_chronology():
    w = MotionWindow(4, L, "cpu")
    for i in range(7):
        w.push(frame(i, 4))
    before = w.frames().clone()
    w.reset(torch.tensor([1, 3]), torch.arange(100.0, 110.0)[None, :, None].expand(2, 10, D))
    after = w.frames()
    assert torch.equal(after[[0, 2]], before[[0, 2]])
    assert after[1, :, 0].tolist() == list(range(100, 110))
    w.push(frame(7, 4))
    assert w.frames()[3, :, 0].tolist() == list(range(101, 110)) + [7]


def test_features_shape_and_no_allocation_growth():
    w = MotionWindow(2, L, "cpu")
    w.push(frame(0, 2))
    out1 = w.frames()
    for i in range(50):
        w.push(frame(i, 2))
        assert w.frames().data_ptr() == out1.data_ptr()  # gathered into the same buffer every step
    assert w.features().shape == (2, L.window, L.feature_dim)


def test_state_dict_round_trip():
    w = MotionWindow(2, L, "cpu")
    for i in range(4):
        w.push(frame(i, 2))
    w2 = MotionWindow(2, L, "cpu")
    w2.load_state_dict(w.state_dict())
    assert torch.equal(w.frames(), w2.frames())
