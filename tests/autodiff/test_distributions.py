"""autodiff/distributions.py: densities and entropies against numpy formulas, sampling
frequencies and moments, and gradients by gradcheck."""

import math

import numpy as np
import pytest

import autodiff as ad
from autodiff import gradcheck
from autodiff.distributions import Categorical, Normal


def np_log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def test_categorical_log_prob_entropy_probs_mode(rng):
    logits = rng.standard_normal((6, 4)) * 2
    d = Categorical(logits=ad.tensor(logits))
    lp = np_log_softmax(logits)
    actions = rng.integers(0, 4, 6)
    np.testing.assert_allclose(d.log_prob(ad.tensor(actions)).numpy(), lp[np.arange(6), actions], rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), -(np.exp(lp) * lp).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(d.probs.numpy().sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(d.mode().numpy(), logits.argmax(-1))
    from_probs = Categorical(probs=ad.tensor(np.exp(lp)))
    np.testing.assert_allclose(from_probs.logits.numpy(), lp, atol=1e-12)


def test_categorical_sample_frequencies_and_reproducibility():
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    d = Categorical(logits=ad.tensor(np.log(np.tile(probs, (200_000, 1)))))
    samples = d.sample(ad.Generator(0)).numpy()
    np.testing.assert_allclose(np.bincount(samples, minlength=4) / len(samples), probs, atol=4e-3)
    np.testing.assert_array_equal(d.sample(ad.Generator(5)).numpy()[:50], d.sample(ad.Generator(5)).numpy()[:50])


def test_categorical_gradients(rng):
    logits = ad.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    actions = ad.tensor(rng.integers(0, 5, 3))
    assert gradcheck(lambda l: Categorical(logits=l).log_prob(actions), [logits])
    assert gradcheck(lambda l: Categorical(logits=l).entropy(), [logits])


def test_categorical_masked_action_keeps_entropy_finite():
    d = Categorical(logits=ad.tensor(np.array([[0.0, -np.inf, 1.0]], np.float32)))
    h = d.entropy().numpy()
    p = np.exp(np_log_softmax(np.array([0.0, 1.0])))
    np.testing.assert_allclose(h, [-(p * np.log(p)).sum()], rtol=1e-6)
    assert (d.sample(ad.Generator(0)).numpy() != 1).all()


def test_categorical_bad_input():
    d = Categorical(logits=ad.zeros(3, 2))
    with pytest.raises(ValueError, match=r"values of shape \(2,\) for a batch of shape \(3,\)"):
        d.log_prob(ad.tensor([0, 1]))
    with pytest.raises(ValueError, match="exactly one of logits= or probs="):
        Categorical()


def test_normal_log_prob_entropy_mode(rng):
    loc, scale = rng.standard_normal((4, 2)), np.exp(rng.standard_normal(2))
    x = rng.standard_normal((4, 2))
    d = Normal(ad.tensor(loc), ad.tensor(scale))
    expected = -((x - loc) ** 2) / (2 * scale ** 2) - np.log(scale) - 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(d.log_prob(ad.tensor(x)).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(d.entropy().numpy(), np.broadcast_to(0.5 + 0.5 * math.log(2 * math.pi) + np.log(scale), (4, 2)))
    np.testing.assert_array_equal(d.mode().numpy(), loc)


def test_normal_sample_moments():
    d = Normal(ad.full((200_000,), 1.5, dtype=np.float64), 0.5)
    s = d.sample(ad.Generator(1)).numpy()
    assert abs(s.mean() - 1.5) < 0.01 and abs(s.std() - 0.5) < 0.01


def test_normal_gradients_and_reparameterisation(rng):
    loc = ad.tensor(rng.standard_normal(3), requires_grad=True)
    log_scale = ad.tensor(rng.standard_normal(3) * 0.3, requires_grad=True)
    x = ad.tensor(rng.standard_normal(3))
    assert gradcheck(lambda m, s: Normal(m, s.exp()).log_prob(x), [loc, log_scale])
    assert gradcheck(lambda m, s: Normal(m, s.exp()).entropy(), [loc, log_scale])
    scale = log_scale.exp().detach().requires_grad_()
    sample = Normal(loc, scale).rsample(ad.Generator(2))
    sample.sum().backward()
    eps = np.random.default_rng(2).standard_normal(3)  # the draw rsample made
    np.testing.assert_allclose(loc.grad.numpy(), 1.0)
    np.testing.assert_allclose(scale.grad.numpy(), eps, rtol=1e-12)


def test_categorical_log_prob_takes_float_actions_and_refuses_out_of_range_ones(rng):
    """A negative action wrapped around to a class from the end (numpy's indexing) and gave its
    log-probability silently; PyTorch refuses actions outside the support. Float actions (a float
    rollout buffer) are cast to integers, as PyTorch's log_prob does."""
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    actions = rng.integers(0, 4, 6)
    dist = Categorical(logits=ad.tensor(logits))
    expected = logits[np.arange(6), actions] - np.log(np.exp(logits).sum(-1))
    np.testing.assert_allclose(dist.log_prob(ad.tensor(actions.astype(np.float32))).numpy(), expected, rtol=1e-5)
    for bad in (actions - 4, actions + 4):
        with pytest.raises(ValueError, match="actions must be in 0..3"):
            dist.log_prob(ad.tensor(bad))
    torch = pytest.importorskip("torch")
    ours = dist.log_prob(ad.tensor(actions.astype(np.float32))).numpy()
    theirs = torch.distributions.Categorical(logits=torch.tensor(logits)).log_prob(torch.tensor(actions.astype(np.float32)))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)
    with pytest.raises(ValueError):
        torch.distributions.Categorical(logits=torch.tensor(logits)).log_prob(torch.tensor(actions - 4))
