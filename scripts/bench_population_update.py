"""A population's PPO update on numbarl's autodiff against its floor: the same arithmetic written
by hand in plain numpy (no autodiff), in the same process.

The update is one minibatch step of `python -m rl.train ppo CartPole --num-seeds K` with the
tuned settings: K agents, each with a 4-64-64-2 actor and a 4-64-64-1 critic (tanh), one
minibatch of 1,024 transitions per agent, the clipped surrogate with advantages normalised per
agent, the value loss, the approximate KL and clip fraction, then each agent's gradient clipped
to norm 0.5 and an Adam step. The floor does all of it too, on stacked (K, ...) arrays with
numpy's stacked matmul, gradients written straight into one flat (K, P) buffer as ours are.
numpy and BLAS run on one thread; numbarl runs on one, then on every core (its threads split a
stack of models' products and elementwise passes by model). A last column times the step's matrix
products alone, on one BLAS thread: what no update of these networks can go below on one core.

    python scripts/bench_population_update.py [--k 1 4 16 64] [--batch 1024] [--repeats 400]
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before numpy loads its BLAS

import argparse  # noqa: E402
import sys  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import autodiff as ad  # noqa: E402
import envs  # noqa: E402
from algos import ppo  # noqa: E402
from bench_autodiff import median_us  # noqa: E402

LR, MAX_NORM, CLIP, VF = 3e-3, 0.5, 0.2, 0.5


def make_batch(k, batch, seed=0):
    rng = np.random.default_rng(seed)
    return dict(obs=rng.standard_normal((k, batch, 4)).astype(np.float32),
                actions=rng.integers(0, 2, (k, batch)),
                logprobs=np.log(np.full((k, batch), 0.5, np.float32)) + 0.05 * rng.standard_normal((k, batch)).astype(np.float32),
                advantages=rng.standard_normal((k, batch)).astype(np.float32),
                returns=rng.standard_normal((k, batch)).astype(np.float32),
                values=rng.standard_normal((k, batch)).astype(np.float32))


def numbarl_update_fn(data, k):
    """algos/ppo.py's minibatch step on a stack of K agents."""
    args = ppo.Args(num_seeds=k, clip_vloss=False, ent_coef=0.0, learning_rate=LR, max_grad_norm=MAX_NORM)
    agent, _ = ppo.build(args, envs.make("CartPole"), models=k)
    params = agent.parameters()
    optimizer = ad.optim.Adam(params, lr=LR, eps=1e-5, models=k)
    t = {name: ad.tensor(value) for name, value in data.items()}
    stepping = [True] * k

    def step():
        dist, newvalue = agent.dist_value(t["obs"])
        newlogprob, entropy = agent.log_prob_entropy(dist, t["actions"])
        loss, stats = ppo.clipped_loss(args, newlogprob, entropy, newvalue, t["logprobs"], t["advantages"],
                                       t["returns"], t["values"])
        optimizer.zero_grad()
        loss.sum().backward()
        ad.optim.clip_grad_norm_(params, args.max_grad_norm)
        optimizer.step(stepping)

    return step


def numpy_update_fn(data, k, start=None):
    """The same step by hand: stacked forwards, the loss's gradient, backward products into one
    flat gradient buffer, per-agent norm clip, Adam. `start`: the 12 parameters to begin from
    (actor's layers, then critic's), to check the floor against ours."""
    rng = np.random.default_rng(0)
    shapes = [(64, 4), (64,), (64, 64), (64,), (2, 64), (2,), (64, 4), (64,), (64, 64), (64,), (1, 64), (1,)]
    sizes = [int(np.prod(s)) for s in shapes]
    offsets = np.cumsum([0] + sizes)
    flat = (0.1 * rng.standard_normal((k, offsets[-1]))).astype(np.float32)
    grad = np.zeros_like(flat)
    m, v = np.zeros_like(flat), np.zeros_like(flat)

    def views(buffer):
        return [buffer[:, a:b].reshape((k,) + s) for a, b, s in zip(offsets[:-1], offsets[1:], shapes)]

    p, g = views(flat), views(grad)
    for mine, given in zip(p, start or ()):
        mine[...] = given
    actor, critic = (p[0:6], g[0:6]), (p[6:12], g[6:12])
    x, actions = data["obs"], data["actions"][..., None]
    old, adv, ret = data["logprobs"], data["advantages"], data["returns"]
    n = x.shape[1]
    state = SimpleNamespace(t=0)

    def forward(layers):
        acts = [x]
        for i in range(0, 6, 2):
            z = np.matmul(acts[-1], layers[i].transpose(0, 2, 1))
            z += layers[i + 1][:, None, :]
            if i < 4:
                np.tanh(z, out=z)
            acts.append(z)
        return acts

    def backward(layers, grads, acts, d):
        for i in (4, 2, 0):
            np.matmul(d.transpose(0, 2, 1), acts[i // 2], out=grads[i])
            np.add.reduce(d, axis=1, out=grads[i + 1])
            if i:
                d = np.matmul(d, layers[i])
                d *= 1 - acts[i // 2] ** 2

    def step():
        a_acts, c_acts = forward(actor[0]), forward(critic[0])
        logits, value = a_acts[-1], c_acts[-1][..., 0]
        shifted = logits - logits.max(-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        probs = np.exp(logp)
        newlogprob = np.take_along_axis(logp, actions, -1)[..., 0]
        entropy = -(probs * logp).sum(-1).mean(-1)  # logged, not trained (ent_coef 0)
        logratio = newlogprob - old
        ratio = np.exp(logratio)
        approx_kl = ((ratio - 1) - logratio).mean(-1)
        clipfrac = (np.abs(ratio - 1) > CLIP).astype(np.float32).mean(-1)
        a = (adv - adv.mean(-1, keepdims=True)) / (adv.std(-1, ddof=1, keepdims=True) + 1e-8)
        clipped = np.clip(ratio, 1 - CLIP, 1 + CLIP)
        pg1, pg2 = -a * ratio, -a * clipped
        loss = np.maximum(pg1, pg2).mean(-1) + VF * 0.5 * ((value - ret) ** 2).mean(-1)
        d_ratio = np.where(pg1 >= pg2, -a, -a * ((ratio > 1 - CLIP) & (ratio < 1 + CLIP))) / n
        d_logits = -probs * (d_ratio * ratio)[..., None]
        np.put_along_axis(d_logits, actions, np.take_along_axis(d_logits, actions, -1) + (d_ratio * ratio)[..., None], -1)
        backward(actor[0], actor[1], a_acts, d_logits)
        backward(critic[0], critic[1], c_acts, (VF * (value - ret) / n)[..., None])
        norm = np.sqrt(np.einsum("kp,kp->k", grad, grad, dtype=np.float64)).astype(np.float32)
        grad[...] *= np.minimum(1.0, MAX_NORM / (norm + 1e-6))[:, None]
        state.t += 1
        m[...] *= 0.9
        m[...] += 0.1 * grad
        v[...] *= 0.999
        v[...] += 0.001 * grad * grad
        denom = np.sqrt(v / (1 - 0.999 ** state.t))
        denom += 1e-5
        flat[...] -= (LR / (1 - 0.9 ** state.t)) * m / denom
        return loss, entropy, approx_kl, clipfrac

    step.grads = g
    return step


def products_fn(data, k):
    """Only the update's matrix products, the floor's own calls on the same shapes: both networks'
    three forward products, their weight gradients and the two input gradients each backward
    needs. No update can take less time than these on one BLAS thread."""
    rng = np.random.default_rng(0)
    n = data["obs"].shape[1]
    sizes = [(4, 64), (64, 64), (64, 2)], [(4, 64), (64, 64), (64, 1)]
    nets = [[(rng.standard_normal((k, o, i)).astype(np.float32), np.empty((k, n, o), np.float32))
             for i, o in net] for net in sizes]

    def step():
        for net in nets:
            x = data["obs"]
            for w, out in net:  # forward: x @ w^T per layer
                np.matmul(x, w.transpose(0, 2, 1), out=out)
                x = out
            for i in (2, 1, 0):  # backward: d^T @ input for the weight gradient, d @ w for the input's
                d, below = net[i][1], data["obs"] if i == 0 else net[i - 1][1]
                np.matmul(d.transpose(0, 2, 1), below)
                if i:
                    np.matmul(d, net[i][0])

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=400)
    args = parser.parse_args()
    cores = ad.get_num_threads()
    print(f"numpy {np.__version__}; PPO minibatch step, actor and critic 4-64-64 tanh, {args.batch} transitions "
          f"per agent; median of {args.repeats} steps; numpy and BLAS on one thread, numbarl on one and on "
          f"{cores} (ad.set_num_threads)")
    print(f"{'K':>4} {'numbarl us':>11} {'per agent':>10} {'numpy floor us':>15} {'ratio':>7} "
          f"{f'{cores} threads us':>15} {'ratio':>7} {'products us':>12} {'numbarl/products':>17}")
    for k in args.k:
        data = make_batch(k, args.batch)
        one, many = numbarl_update_fn(data, k), numbarl_update_fn(data, k)
        ours, floor, threaded, products = median_us(
            [on_threads(1, one), numpy_update_fn(data, k), on_threads(cores, many), products_fn(data, k)],
            args.repeats)
        print(f"{k:>4} {ours:>11.0f} {ours / k:>10.0f} {floor:>15.0f} {ours / floor:>6.2f}x {threaded:>15.0f} "
              f"{threaded / floor:>6.2f}x {products:>12.0f} {ours / products:>16.2f}x", flush=True)


def on_threads(n, fn):
    def run():
        ad.set_num_threads(n)
        return fn()
    return run


if __name__ == "__main__":
    main()
