"""One PPO minibatch update on numbarl's autodiff against PyTorch CPU, in the same process.

The update is CleanRL's (ppo.py): actor 4-64-64-2 and critic 4-64-64-1 with tanh, Categorical
log-prob and entropy, per-minibatch advantage normalisation, clipped surrogate, clipped value
loss, entropy bonus, backward, global grad-norm clip at 0.5 and an Adam step (eps 1e-5).
Both sides run on one thread (PyTorch intra-op threads and numpy's BLAS).

    python scripts/bench_autodiff.py [--batches 64 256 4096] [--repeats 300]
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before numpy/torch load their BLAS

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autodiff as ad  # noqa: E402
from autodiff.distributions import Categorical  # noqa: E402

CLIP, ENT_COEF, VF_COEF, MAX_GRAD_NORM, LR = 0.2, 0.01, 0.5, 0.5, 2.5e-4


def make_batch(batch, seed=0):
    rng = np.random.default_rng(seed)
    return dict(
        obs=rng.standard_normal((batch, 4)).astype(np.float32),
        actions=rng.integers(0, 2, batch),
        logprobs=np.log(rng.uniform(0.3, 0.7, batch)).astype(np.float32),
        advantages=rng.standard_normal(batch).astype(np.float32),
        returns=rng.standard_normal(batch).astype(np.float32),
        values=rng.standard_normal(batch).astype(np.float32),
    )


def numbarl_update_fn(data, device="cpu", hidden=64):
    ad.manual_seed(0)
    actor = ad.nn.MLP([4, hidden, hidden, 2], "tanh", output_gain=0.01, device=device)
    critic = ad.nn.MLP([4, hidden, hidden, 1], "tanh", output_gain=1.0, device=device)
    params = actor.parameters() + critic.parameters()
    opt = ad.optim.Adam(params, lr=LR, eps=1e-5)
    obs = ad.tensor(data["obs"], device=device)
    actions = ad.tensor(data["actions"], device=device)
    old_logprob, adv = ad.tensor(data["logprobs"], device=device), ad.tensor(data["advantages"], device=device)
    returns, values = ad.tensor(data["returns"], device=device), ad.tensor(data["values"], device=device)

    def update():
        dist = Categorical(logits=actor(obs))
        newlogprob = dist.log_prob(actions)
        entropy = dist.entropy()
        newvalue = critic(obs).squeeze(-1)
        logratio = newlogprob - old_logprob
        ratio = logratio.exp()
        with ad.no_grad():
            approx_kl = ((ratio - 1) - logratio).mean()
        mb_adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg_loss = ad.maximum(-mb_adv * ratio, -mb_adv * ratio.clamp(1 - CLIP, 1 + CLIP)).mean()
        v_unclipped = (newvalue - returns) ** 2
        v_clipped = values + (newvalue - values).clamp(-CLIP, CLIP)
        v_loss = 0.5 * ad.maximum(v_unclipped, (v_clipped - returns) ** 2).mean()
        loss = pg_loss - ENT_COEF * entropy.mean() + v_loss * VF_COEF
        opt.zero_grad()
        loss.backward()
        ad.optim.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        return approx_kl

    return update


def torch_update_fn(data, device="cpu"):
    import torch
    from torch import nn

    torch.manual_seed(0)

    def layer(n_in, n_out, std):
        lin = nn.Linear(n_in, n_out)
        nn.init.orthogonal_(lin.weight, std)
        nn.init.constant_(lin.bias, 0.0)
        return lin

    actor = nn.Sequential(layer(4, 64, 2 ** 0.5), nn.Tanh(), layer(64, 64, 2 ** 0.5), nn.Tanh(), layer(64, 2, 0.01))
    critic = nn.Sequential(layer(4, 64, 2 ** 0.5), nn.Tanh(), layer(64, 64, 2 ** 0.5), nn.Tanh(), layer(64, 1, 1.0))
    actor, critic = actor.to(device), critic.to(device)
    params = list(actor.parameters()) + list(critic.parameters())
    opt = torch.optim.Adam(params, lr=LR, eps=1e-5)
    t = {k: torch.from_numpy(v).to(device) for k, v in data.items()}

    def update():
        dist = torch.distributions.Categorical(logits=actor(t["obs"]))
        newlogprob = dist.log_prob(t["actions"])
        entropy = dist.entropy()
        newvalue = critic(t["obs"]).view(-1)
        logratio = newlogprob - t["logprobs"]
        ratio = logratio.exp()
        with torch.no_grad():
            approx_kl = ((ratio - 1) - logratio).mean()
        adv = t["advantages"]
        mb_adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg_loss = torch.max(-mb_adv * ratio, -mb_adv * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)).mean()
        v_unclipped = (newvalue - t["returns"]) ** 2
        v_clipped = t["values"] + torch.clamp(newvalue - t["values"], -CLIP, CLIP)
        v_loss = 0.5 * torch.max(v_unclipped, (v_clipped - t["returns"]) ** 2).mean()
        loss = pg_loss - ENT_COEF * entropy.mean() + v_loss * VF_COEF
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        opt.step()
        return approx_kl

    return update


def median_us(fns, repeats, warmup=20, block=25):
    """Median microseconds per call of each function. The functions take turns in blocks of
    `block` calls: long enough for each to run with its own data in cache, as it would alone,
    short enough that load from other processes falls on all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(max(1, repeats // block)):
        for fn, ts in zip(fns, times):
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
    return [1e6 * float(np.median(ts)) for ts in times]


def one_thread_torch():
    """PyTorch set to one intra-op thread, or None without the bench extras; and the line naming
    the versions and the machine, which each benchmark's report starts with."""
    try:
        import torch

        torch.set_num_threads(1)
        torch_version = torch.__version__
    except ImportError:
        torch = None
        torch_version = "not installed (pip install -e '.[bench]')"
    return torch, (f"numpy {np.__version__}, torch {torch_version}, python {platform.python_version()}, "
                   f"{os.cpu_count()} cores")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256, 4096])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    torch, versions = one_thread_torch()
    print(f"{versions}; median of {args.repeats} updates")
    print(f"{'batch':>6} {'numbarl us':>11} {'torch us':>10} {'ratio':>7}")
    for batch in args.batches:
        data = make_batch(batch)
        fns = [numbarl_update_fn(data)] + ([torch_update_fn(data)] if torch else [])
        ours, theirs = (median_us(fns, args.repeats) + [float("nan")])[:2]
        print(f"{batch:>6} {ours:>11.0f} {theirs:>10.0f} {ours / theirs:>7.2f}x")


if __name__ == "__main__":
    main()
