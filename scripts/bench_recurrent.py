"""A recurrent minibatch update on numbarl's autodiff against PyTorch CPU, in the same process.

The update is recurrent PPO's core: an encoder Linear(obs, 64) + tanh and a GRU(64, 64) over
T x B steps with episode starts inside the sequences (where the state is zeroed), a linear head,
a squared loss over every step, backward through time, global grad-norm clip and an Adam step.
PyTorch runs nn.GRU one step at a time (so it can zero the state at the starts, as CleanRL's
recurrent PPO does), and, for reference, in one call without the resets (cuDNN-style fused
loops, not the same computation). Both sides on one thread.

    python scripts/bench_recurrent.py [--shapes 32x8 128x16] [--repeats 200]
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(var, "1")  # before numpy/torch load their BLAS

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autodiff as ad  # noqa: E402

OBS, HIDDEN = 2, 64


def make_data(T, B, seed=0):
    rng = np.random.default_rng(seed)
    return dict(obs=rng.standard_normal((T, B, OBS)).astype(np.float32),
                starts=rng.random((T, B)) < 0.05,
                targets=rng.standard_normal((T, B)).astype(np.float32))


def numbarl_update_fn(data):
    ad.manual_seed(0)
    encoder = ad.nn.Linear(OBS, HIDDEN, activation="tanh")
    gru = ad.nn.GRU(HIDDEN, HIDDEN)
    head = ad.nn.Linear(HIDDEN, 1)
    params = encoder.parameters() + gru.parameters() + head.parameters()
    opt = ad.optim.Adam(params, lr=1e-3, eps=1e-5)
    obs, targets, starts = ad.tensor(data["obs"]), ad.tensor(data["targets"]), data["starts"]
    h0 = ad.zeros(obs.shape[1], HIDDEN)

    def update():
        out, _ = gru(encoder(obs), h0, starts=starts)
        loss = ((head(out).squeeze(-1) - targets) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        ad.optim.clip_grad_norm_(params, 0.5)
        opt.step()
        return loss

    return update


def torch_update_fn(data, fused):
    import torch

    torch.manual_seed(0)
    encoder = torch.nn.Sequential(torch.nn.Linear(OBS, HIDDEN), torch.nn.Tanh())
    gru = torch.nn.GRU(HIDDEN, HIDDEN)
    head = torch.nn.Linear(HIDDEN, 1)
    params = list(encoder.parameters()) + list(gru.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-5)
    obs, targets = torch.from_numpy(data["obs"]), torch.from_numpy(data["targets"])
    keep = torch.from_numpy((~data["starts"]).astype(np.float32))[..., None]
    h0 = torch.zeros(1, obs.shape[1], HIDDEN)

    def update():
        x = encoder(obs)
        if fused:
            out, _ = gru(x, h0)
        else:
            h, outs = h0, []
            for t in range(x.shape[0]):
                o, h = gru(x[t:t + 1], h * keep[t])
                outs.append(o)
            out = torch.cat(outs)
        loss = ((head(out).squeeze(-1) - targets) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        return loss

    return update


def median_us(fn, repeats):
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", default=["32x8", "128x16"], help="T x B of the minibatch")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, numpy {np.__version__}; median microseconds per update")
    print(f"{'T x B':>8} {'numbarl':>9} {'torch steps':>12} {'ratio':>7} {'torch fused':>12} {'ratio':>7}")
    for shape in args.shapes:
        T, B = map(int, shape.split("x"))
        data = make_data(T, B)
        ours = median_us(numbarl_update_fn(data), args.repeats)
        stepwise = median_us(torch_update_fn(data, fused=False), args.repeats)
        fused = median_us(torch_update_fn(data, fused=True), args.repeats)
        print(f"{shape:>8} {ours:>9.0f} {stepwise:>12.0f} {ours / stepwise:>6.2f}x {fused:>12.0f} {ours / fused:>6.2f}x")


if __name__ == "__main__":
    main()
