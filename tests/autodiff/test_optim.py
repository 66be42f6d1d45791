"""autodiff/optim.py: Adam and SGD against float64 references of their published rules, the flat
buffer, gradient-norm clipping, schedules, state round trips and bad input."""

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim

from .reference import numpy_adam


def params_and_grads(rng, dtype=np.float64):
    shapes = [(3, 4), (4,), (2, 3, 2)]
    params = [nn.Parameter(ad.tensor(rng.standard_normal(s).astype(dtype))) for s in shapes]
    return params, shapes


def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad.copy_(g)


@pytest.mark.parametrize("eps, weight_decay", [(1e-8, 0.0), (1e-5, 0.0), (1e-5, 0.01)])
def test_adam_matches_the_published_rule(eps, weight_decay, rng):
    params, shapes = params_and_grads(rng)
    reference = [p.numpy().copy() for p in params]
    m = [np.zeros(s) for s in shapes]
    v = [np.zeros(s) for s in shapes]
    lr, b1, b2 = 3e-3, 0.9, 0.999
    opt = optim.Adam(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    for t in range(1, 21):
        grads = [rng.standard_normal(s) for s in shapes]
        set_grads(params, grads)
        opt.step()
        for k in range(len(shapes)):  # Kingma & Ba, Algorithm 1, with L2 added to the gradient
            g = grads[k] + weight_decay * reference[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            m_hat, v_hat = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
            reference[k] = reference[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    for p, r in zip(params, reference):
        np.testing.assert_allclose(p.numpy(), r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum, nesterov, weight_decay", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.01)])
def test_sgd_matches_pytorchs_rule(momentum, nesterov, weight_decay, rng):
    params, shapes = params_and_grads(rng)
    reference = [p.numpy().copy() for p in params]
    buf = [np.zeros(s) for s in shapes]
    opt = optim.SGD(params, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    for _ in range(10):
        grads = [rng.standard_normal(s) for s in shapes]
        set_grads(params, grads)
        opt.step()
        for k in range(len(shapes)):
            g = grads[k] + weight_decay * reference[k]
            if momentum:
                buf[k] = momentum * buf[k] + g
                g = g + momentum * buf[k] if nesterov else buf[k]
            reference[k] = reference[k] - 0.1 * g
    for p, r in zip(params, reference):
        np.testing.assert_allclose(p.numpy(), r, rtol=1e-12)


def test_parameters_and_grads_are_views_of_one_flat_buffer(rng):
    model = nn.MLP([3, 5, 2])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        assert np.shares_memory(p.data, opt.flat) and np.shares_memory(p.grad.data, opt.flat_grad)
    x = ad.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    model(x).sum().backward()
    model(x).sum().backward()  # gradients accumulate across backward calls
    single = nn.MLP([3, 5, 2])
    single.load_state_dict(model.state_dict())
    single(x).sum().backward()
    for p, q in zip(model.parameters(), single.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 2 * q.grad.numpy(), rtol=1e-6)
    opt.zero_grad()
    assert not opt.flat_grad.any()


@pytest.mark.parametrize("subset", [False, True])
def test_clip_grad_norm(subset, rng):
    params, shapes = params_and_grads(rng)
    opt = optim.SGD(params, lr=0.1)
    grads = [rng.standard_normal(s) * 3 for s in shapes]
    set_grads(params, grads)
    chosen = params[:2] if subset else params  # a subset takes the per-tensor path
    total = np.sqrt(sum((g ** 2).sum() for g in grads[:len(chosen)]))
    norm = optim.clip_grad_norm_(chosen, 1.0)
    assert float(norm) == pytest.approx(total)
    clipped = np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in chosen))
    assert clipped == pytest.approx(1.0, rel=1e-5)
    if subset:
        np.testing.assert_array_equal(params[2].grad.numpy(), grads[2])
    set_grads(params, [g * 1e-3 for g in grads])
    optim.clip_grad_norm_(params, 1.0)  # below the bound: unchanged
    np.testing.assert_allclose(params[0].grad.numpy(), grads[0] * 1e-3)
    assert all(np.shares_memory(p.grad.data, opt.flat_grad) for p in params)  # scaled in place


def test_linear_lr_anneals_then_holds(rng):
    params, _ = params_and_grads(rng)
    opt = optim.Adam(params, lr=1.0)
    schedule = optim.LinearLR(opt, total_steps=4, end_factor=0.0)
    seen = [opt.lr] + [schedule.step() for _ in range(6)]
    np.testing.assert_allclose(seen, [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0])
    lam = optim.LambdaLR(optim.SGD(params_and_grads(rng)[0], lr=2.0), lambda step: 0.5 ** step)
    assert lam.optimizer.lr == 2.0 and lam.step() == 1.0


def test_state_dict_round_trip_continues_bit_for_bit(rng):
    def run(split):
        ad.manual_seed(0)
        model = nn.MLP([3, 8, 1])
        opt = optim.Adam(model.parameters(), lr=1e-2)
        data = np.random.default_rng(1).standard_normal((20, 4, 3)).astype(np.float32)
        for i, x in enumerate(data):
            if i == split:  # rebuild everything from saved state, as a resumed run does
                saved_model, saved_opt = model.state_dict(), opt.state_dict()
                saved_model = {k: v.numpy().copy() for k, v in saved_model.items()}
                model = nn.MLP([3, 8, 1])
                opt = optim.Adam(model.parameters(), lr=1e-2)
                model.load_state_dict(saved_model)
                opt.load_state_dict(saved_opt)
            opt.zero_grad()
            (model(ad.tensor(x)) ** 2).mean().backward()
            opt.step()
        return [p.numpy() for p in model.parameters()]

    for a, b in zip(run(split=-1), run(split=7)):
        np.testing.assert_array_equal(a, b)


def test_bad_input_is_named(rng):
    params, _ = params_and_grads(rng)
    with pytest.raises(ValueError, match="learning rate must be positive, got 0"):
        optim.SGD(params, lr=0)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([], lr=1e-3)
    with pytest.raises(TypeError, match="leaf tensors that require grad"):
        optim.Adam([ad.tensor([1.0])], lr=1e-3)
    with pytest.raises(ValueError, match="one dtype and device"):
        optim.Adam([nn.Parameter(ad.tensor([1.0])), nn.Parameter(ad.tensor(np.ones(2)))], lr=1e-3)
    optim.Adam(params, lr=1e-3)
    with pytest.raises(RuntimeError, match="already managed by another optimizer"):
        optim.SGD(params, lr=1e-3)
    with pytest.raises(ValueError, match="betas must be in"):
        optim.Adam([nn.Parameter(ad.tensor([1.0]))], betas=(1.0, 0.9))


def test_adam_moments_never_turn_subnormal():
    """A parameter whose gradient stops (a dead ReLU unit) has moments decaying towards 0; they are
    flushed to 0 below float32's smallest normal number (subnormal arithmetic costs the CPU ~100x),
    and the parameters end exactly where they would have without the flush."""
    grads = [np.array([1.0, 1.0 if step < 10 else 0.0], np.float32) for step in range(2000)]
    p = ad.tensor(np.array([0.5, -0.25], np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=1e-3)
    for g in grads:
        opt.zero_grad()
        (p * ad.tensor(g)).sum().backward()
        opt.step()
    tiny = np.finfo(np.float32).tiny
    for moment in (opt.exp_avg, opt.exp_avg_sq):
        m = np.asarray(moment)
        assert not ((m != 0) & (np.abs(m) < tiny)).any()
    assert np.asarray(opt.exp_avg)[1] == 0.0  # 0.9 ** 1990 of its last value: long past subnormal

    ref_p, ref_m, ref_v = np.array([0.5, -0.25], np.float32), np.zeros(2, np.float32), np.zeros(2, np.float32)
    for step, g in enumerate(grads, 1):
        numpy_adam(ref_p, g, ref_m, ref_v, 1e-3, 0.9, 0.999, 1e-8, step, flush=False)
    assert 0 < np.abs(ref_m[1]) < tiny  # without the flush it is subnormal
    np.testing.assert_array_equal(p.numpy(), ref_p)


def test_an_optimizer_of_models_steps_only_the_models_asked_with_their_own_counts():
    """A model left out of a step keeps its parameters, moments and step count; stepped later, it
    goes on from its own count (Adam's bias correction), as the model alone would."""
    def run(seeds, plan):
        net = nn.stacked(lambda: nn.MLP([3, 8, 1]), seeds)
        opt = optim.Adam(net.parameters(), lr=1e-2, models=len(seeds))
        x = ad.tensor(np.stack([np.random.default_rng(s).standard_normal((16, 3)) for s in seeds]), dtype="float32")
        for active in plan:
            opt.zero_grad()
            (net(x) ** 2).mean(-1).mean(-1).sum().backward()
            opt.step(active)
        return net, opt

    net, opt = run([1, 2], [None, [True, False], [True, False], None])
    alone, alone_opt = run([2], [None, None])
    for p, q in zip(net.parameters(), alone.parameters()):
        np.testing.assert_array_equal(p.numpy()[1], q.numpy()[0])
    assert opt.model_steps == [4, 2] and alone_opt.model_steps == [2]
    state = opt.state_dict()
    opt.load_state_dict(state)
    assert opt.model_steps == [4, 2]
    with pytest.raises(ValueError, match="3 flags for 2 models"):
        opt.step([True, True, False])


def test_models_must_match_the_parameters_leading_axis():
    with pytest.raises(ValueError, match="leading axis"):
        optim.Adam(nn.MLP([3, 4, 1]).parameters(), models=2)


def test_clip_grad_norm_takes_one_tensor(rng):
    """PyTorch takes a single tensor too; iterating one gave its rows, which have no gradient, and
    the error said no parameter had one."""
    g = rng.standard_normal((3, 4))
    p = ad.tensor(np.zeros((3, 4)), requires_grad=True)
    (p * ad.tensor(g)).sum().backward()
    norm = optim.clip_grad_norm_(p, 0.5)
    assert norm.item() == pytest.approx(np.linalg.norm(g))
    np.testing.assert_allclose(p.grad.numpy(), g * 0.5 / (np.linalg.norm(g) + 1e-6))
    torch = pytest.importorskip("torch")
    t = torch.tensor(np.zeros((3, 4)), requires_grad=True)
    (t * torch.tensor(g)).sum().backward()
    assert torch.nn.utils.clip_grad_norm_(t, 0.5).item() == pytest.approx(norm.item())
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy())
