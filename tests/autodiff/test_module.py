"""autodiff/module.py: Module's registration, traversal, modes, devices and state dicts, and
nn.stacked's initialisation."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.MLP([3, 4, 2])
        self.head = nn.Linear(2, 1)
        self.shared = self.head  # the same module twice: its parameters are listed once
        self.scale = nn.Parameter(ad.ones(1))
        self.register_buffer("running", ad.zeros(2))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_registration_names_and_state_dict():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "head.weight", "head.bias"]
    assert len(net.parameters()) == 7 and [n for n, _ in net.named_children()] == ["body", "head", "shared"]
    assert net.children()[1] is net.children()[2] is net.head
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "head", "shared"]
    assert set(net.state_dict()) == set(names) | {"running"}
    assert "Linear(in_features=3, out_features=4, bias=True, activation=tanh)" in repr(net)
    net.eval()
    assert not net.body.training and not net.head.training
    net.train()
    assert all(m.training for m in net.modules())


def test_assigning_before_super_init_is_explained():
    class Forgot(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(RuntimeError, match=r"must call super\(\)\.__init__\(\) before assigning"):
        Forgot()


def test_load_state_dict_copies_in_place_and_checks_keys(rng):
    source, target = nn.MLP([2, 3, 1]), nn.MLP([2, 3, 1])
    opt = optim.Adam(target.parameters(), lr=1e-3)  # made before loading: must still see the values
    target.load_state_dict({k: v.numpy() for k, v in source.state_dict().items()})
    for p, q in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
        assert np.shares_memory(q.data, opt.flat)
    with pytest.raises(KeyError, match=r"missing keys \['1.bias'\]"):
        target.load_state_dict({k: v for k, v in source.state_dict().items() if k != "1.bias"})
    with pytest.raises(KeyError, match=r"unexpected keys \['extra'\]"):
        target.load_state_dict({**source.state_dict(), "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"0.weight has shape \(3, 2\) in the module but \(2, 2\)"):
        target.load_state_dict({**source.state_dict(), "0.weight": np.zeros((2, 2))})


def test_to_cpu_is_a_no_op_and_unknown_devices_are_named():
    net = nn.MLP([2, 2])
    assert net.to("cpu") is net
    with pytest.raises(ValueError, match="unknown device 'tpu'; valid: cpu, cuda, auto"):
        net.to("tpu")


def test_stacked_initialisation_is_the_seeded_single_model():
    net = nn.stacked(lambda: nn.MLP([4, 8, 2]), [7, 9])
    assert net.models == 2
    ad.manual_seed(9)
    alone = nn.MLP([4, 8, 2])
    for (name, p), (_, q) in zip(net.named_parameters(), alone.named_parameters()):
        assert p.shape == (2,) + q.shape
        np.testing.assert_array_equal(p.numpy()[1], q.numpy(), err_msg=name)
    for name, value in nn.unstack(net, 1).items():
        np.testing.assert_array_equal(value.numpy(), alone.state_dict()[name].numpy())
