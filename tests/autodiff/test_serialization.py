"""autodiff/serialization.py: save/load round trips, bit for bit, without pickle."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_module_state_round_trips_bit_for_bit(dtype, tmp_path, rng):
    net = nn.MLP([3, 5, 2], dtype=dtype)
    path = tmp_path / "net.npz"
    ad.save(net, path)
    loaded = ad.load(path)
    for name, tensor in net.state_dict().items():
        assert loaded[name].dtype == dtype and np.array_equal(loaded[name], tensor.numpy())
    fresh = nn.MLP([3, 5, 2], dtype=dtype)
    fresh.load_state_dict(loaded)
    x = ad.tensor(rng.standard_normal((4, 3)).astype(dtype))
    np.testing.assert_array_equal(fresh(x).numpy(), net(x).numpy())


def test_nested_state_with_plain_values(tmp_path):
    net = nn.MLP([2, 2])
    opt = optim.Adam(net.parameters(), lr=1e-3)
    state = {"agent": net.state_dict(), "optimizer": opt, "step": 1234, "lr": 2.5e-4, "env": "CartPole",
             "sizes": [64, 64], "nothing": None, "flag": True, "rng": {"state": {"state": 2 ** 100, "inc": 7}}}
    ad.save(state, tmp_path / "ckpt.npz")
    back = ad.load(tmp_path / "ckpt.npz")
    assert back["step"] == 1234 and back["lr"] == 2.5e-4 and back["env"] == "CartPole"
    assert back["sizes"] == [64, 64] and back["nothing"] is None and back["flag"] is True
    assert back["rng"]["state"]["state"] == 2 ** 100  # big integers survive (RNG states)
    np.testing.assert_array_equal(back["optimizer"]["exp_avg"], opt.exp_avg)
    assert not list(tmp_path.glob("*.tmp"))  # written to a temporary file, then renamed
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as data:  # readable without pickle
        assert len(data.files) > 3


def test_unsupported_values_are_named(tmp_path):
    with pytest.raises(TypeError, match="cannot store a set"):
        ad.save({"x": {1, 2}}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match="keys must be strings"):
        ad.save({1: 2}, tmp_path / "bad.npz")
