"""One DQN gradient step on numbarl's autodiff against PyTorch CPU and against the same arithmetic
written in plain numpy (no autodiff, clip or Adam: a floor for the step), in the same process.

The step is what `python -m rl.train dqn CartPole` runs 9,792 times: a minibatch sampled from a
replay buffer of 40,000 transitions (random numbers in CartPole's shapes), double-DQN targets (the
Q-network picks the next action, the target network values it), Huber loss, backward, global
grad-norm clip at 10 and an Adam step; Q-networks 4-256-256-2 with ReLU. Every side runs on one
thread.

    python scripts/bench_dqn_update.py [--batches 64 256] [--hidden 256] [--repeats 2000]
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before numpy/torch load their BLAS

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import autodiff as ad  # noqa: E402
from algos.replay import ReplayBuffer  # noqa: E402
from bench_autodiff import median_us, one_thread_torch  # noqa: E402

GAMMA, MAX_GRAD_NORM, LR, STORED = 0.99, 10.0, 1e-3, 40_000


def make_transitions(seed=0):
    rng = np.random.default_rng(seed)
    return dict(obs=rng.standard_normal((STORED, 4)).astype(np.float32),
                next_obs=rng.standard_normal((STORED, 4)).astype(np.float32),
                actions=rng.integers(0, 2, STORED), rewards=np.ones(STORED, np.float32),
                dones=(rng.random(STORED) < 0.02).astype(np.float32))


def numbarl_step_fn(data, batch, hidden):
    ad.manual_seed(0)
    q, target = (ad.nn.MLP([4, hidden, hidden, 2], "relu") for _ in range(2))
    params = q.parameters()
    opt = ad.optim.Adam(params, lr=LR)
    buffer = ReplayBuffer(STORED, (4,))
    for name, value in data.items():
        getattr(buffer, name).copy_(ad.tensor(value, dtype=getattr(buffer, name).dtype))
    buffer.size = STORED
    rng = ad.Generator(0)

    def step():  # algos/dqn.py's gradient step
        obs, actions, rewards, next_obs, dones = buffer.sample(batch, rng)
        with ad.no_grad():
            best = q(next_obs).argmax(-1)
            next_q = target(next_obs).gather(-1, best.unsqueeze(-1)).squeeze(-1)
            td_target = rewards + GAMMA * next_q * (1.0 - dones)
        q_pred = q(obs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        loss = ad.smooth_l1_loss(q_pred, td_target)
        opt.zero_grad()
        loss.backward()
        ad.optim.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()

    return step


def torch_step_fn(data, batch, hidden):
    import torch
    from torch import nn

    torch.manual_seed(0)
    q, target = (nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                               nn.Linear(hidden, 2)) for _ in range(2))
    opt = torch.optim.Adam(q.parameters(), lr=LR)
    t = {k: torch.from_numpy(v) for k, v in data.items()}
    generator = torch.Generator().manual_seed(0)

    def step():  # as Stable-Baselines3's DQN.train, with the double-DQN target
        index = torch.randint(0, STORED, (batch,), generator=generator)
        obs, next_obs = t["obs"][index], t["next_obs"][index]
        with torch.no_grad():
            best = q(next_obs).argmax(-1, keepdim=True)
            next_q = target(next_obs).gather(-1, best).squeeze(-1)
            td_target = t["rewards"][index] + GAMMA * next_q * (1.0 - t["dones"][index])
        q_pred = q(obs).gather(-1, t["actions"][index].unsqueeze(-1)).squeeze(-1)
        loss = nn.functional.smooth_l1_loss(q_pred, td_target)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(q.parameters(), MAX_GRAD_NORM)
        opt.step()

    return step


def numpy_step_fn(data, batch, hidden):
    """The step's arithmetic by hand: forwards, targets, Huber gradient, backward products."""
    rng = np.random.default_rng(0)
    sizes = [4, hidden, hidden, 2]
    nets = [[((rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32), np.zeros(o, np.float32))
             for i, o in zip(sizes[:-1], sizes[1:])] for _ in range(2)]
    q, target = nets

    def forward(layers, x):
        outs = [x]
        for k, (w, b) in enumerate(layers):
            x = x @ w.T
            x += b
            if k < len(layers) - 1:
                np.maximum(x, 0, out=x)
            outs.append(x)
        return outs

    def step():
        index = (rng.random(batch) * STORED).astype(np.int64)
        obs, actions, next_obs = data["obs"][index], data["actions"][index], data["next_obs"][index]
        best = forward(q, next_obs)[-1].argmax(-1)
        next_q = np.take_along_axis(forward(target, next_obs)[-1], best[:, None], 1)[:, 0]
        td_target = data["rewards"][index] + GAMMA * next_q * (1 - data["dones"][index])
        outs = forward(q, obs)
        d = np.take_along_axis(outs[-1], actions[:, None], 1)[:, 0] - td_target
        g = np.zeros_like(outs[-1])
        np.put_along_axis(g, actions[:, None], (np.clip(d, -1, 1) / batch)[:, None], 1)
        grads = []
        for k in range(len(q) - 1, -1, -1):
            grads.append((g.T @ outs[k], g.sum(0)))
            if k:
                g = (g @ q[k][0]) * (outs[k] > 0)
        return grads

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    torch, versions = one_thread_torch()
    print(f"{versions}; {args.hidden}-{args.hidden} Q-networks; median of {args.repeats} steps")
    print(f"{'batch':>6} {'numbarl us':>11} {'torch us':>10} {'ratio':>7} {'numpy floor us':>15}")
    data = make_transitions()
    for batch in args.batches:
        fns = [numbarl_step_fn(data, batch, args.hidden), numpy_step_fn(data, batch, args.hidden)]
        if torch:
            fns.append(torch_step_fn(data, batch, args.hidden))
        ours, floor, theirs = (median_us(fns, args.repeats) + [float("nan")])[:3]
        print(f"{batch:>6} {ours:>11.0f} {theirs:>10.0f} {ours / theirs:>7.2f}x {floor:>15.0f}")


if __name__ == "__main__":
    main()
