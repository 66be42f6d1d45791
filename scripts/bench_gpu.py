"""GPU benchmarks, in one call on a machine with an NVIDIA GPU (refuses to run without one).

    python scripts/bench_gpu.py [--sizes 12 14 16 18 20 22] [--steps 200] [--no-training]
    NUMBA_ENABLE_CUDASIM=1 python scripts/bench_gpu.py --tiny   # checks the script, not speed

Env stepping: numbarl's CartPole and Pendulum CUDA kernels (envs.make(..., device="cuda")) with
actions already on the device, steps per second at N = 2^12 ... 2^22 sub-envs, against the
bytes-moved limit of the card: the bytes one step reads and writes (state read and written,
action, observation, reward, flags, step counter, episode statistics) over the device-to-device
copy bandwidth measured here. Where jax and gymnax import, gymnax's CartPole (jit + vmap) runs in
the same process at the same sizes.

PPO update: scripts/bench_autodiff.py's CleanRL update (actor and critic 4-64-64, Categorical,
clipped losses, backward, clip, Adam) on numbarl's CUDA backend and on PyTorch CUDA in the same
process, at batch 4,096 and 65,536, synchronised after every update.

Training: `python -m rl.train ppo CartPole --device cuda --num-envs 4096` as a fresh process, its
wall time, final evaluation and the last SPS it logged.

--tiny runs every part at a few sub-envs (the PPO networks 4-2-2) and leaves the training out, so
that numba's simulator can check the script; peers that do not import are left out.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def copy_bandwidth(cuda, nbytes=1 << 30, repeats=20):
    """Device-to-device copy bandwidth in bytes/s (read + write counted, as a step's are)."""
    src = cuda.device_array(nbytes // 4, np.float32)
    dst = cuda.device_array(nbytes // 4, np.float32)
    dst.copy_to_device(src)
    cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        dst.copy_to_device(src)
    cuda.synchronize()
    return 2 * nbytes * repeats / (time.perf_counter() - start)


def bytes_per_step(env):
    """What one sub-env's step moves when no episode ends (same-step auto-reset; envs/driver.py's
    _SAME_STEP as the CUDA kernel runs it), at the env's own dtypes: the action read; the state,
    step counter and running return read and written; the observation and final observation (the
    kernel writes both every step), reward, terminated, truncated and done flags, and the finished
    episode's return and length (written as 0). The RNG is touched only by a reset, and the
    parameters are read once per thread."""
    per_env = lambda a: np.dtype(a.dtype).itemsize * int(np.prod(a.shape)) // env.num_envs
    action = np.dtype(env._action_dtype).itemsize * int(np.prod(env._action_shape)) // env.num_envs
    read_written = per_env(env.state) + per_env(env.t) + per_env(env.ep_return)
    written = sum(per_env(getattr(env, name)) for name in ("_obs", "_final_obs", "_reward", "_terminated",
                                                            "_truncated", "_done", "_done_return", "_done_length"))
    return action + 2 * read_written + written


def bench_numbarl(cuda, name, n, steps):
    import envs

    env = envs.make(name, num_envs=n, device="cuda", seed=0)
    env.reset(seed=0)
    space = env.single_action_space
    if hasattr(space, "n"):
        actions = cuda.to_device(np.random.default_rng(0).integers(0, space.n, n))
    else:
        actions = cuda.to_device(np.random.default_rng(0).uniform(-1, 1, (n, *space.shape)).astype(np.float32))
    for _ in range(10):
        env.step(actions)
    cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        env.step(actions)
    cuda.synchronize()
    return n * steps / (time.perf_counter() - start), bytes_per_step(env)


def bench_gymnax(n, steps):
    try:
        import gymnax
        import jax
    except ImportError:
        return None
    env, params = gymnax.make("CartPole-v1")
    keys = jax.random.split(jax.random.PRNGKey(0), n)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    actions = jax.numpy.zeros(n, dtype=jax.numpy.int32)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    out = step(keys, state, actions, params)
    jax.block_until_ready(out)
    start = time.perf_counter()
    for _ in range(steps):
        obs, state, reward, done, _ = step(keys, state, actions, params)
    jax.block_until_ready(state)
    return n * steps / (time.perf_counter() - start)


def bench_update(cuda, batches, repeats, hidden=64):
    try:
        import torch
    except ImportError:
        torch = None
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from bench_autodiff import make_batch, median_us, numbarl_update_fn, torch_update_fn

    print(f"{'PPO update':<10} {'batch':>9} {'numbarl us':>12} {'torch us':>12} {'ratio':>7}")
    for batch in batches:
        data = make_batch(batch)
        ours = numbarl_update_fn(data, "cuda", hidden)

        def ours_synced():
            ours()
            cuda.synchronize()

        fns = [ours_synced]
        if torch is not None and torch.cuda.is_available() and hidden == 64:
            theirs = torch_update_fn(data, "cuda")

            def theirs_synced():
                theirs()
                torch.cuda.synchronize()

            fns.append(theirs_synced)
        times = median_us(fns, repeats, warmup=min(20, repeats), block=min(25, repeats))
        peer = f"{times[1]:>12.0f} {times[0] / times[1]:>6.2f}x" if len(times) > 1 else f"{'-':>12} {'-':>7}"
        print(f"{'':<10} {batch:>9} {times[0]:>12.0f} {peer}", flush=True)


def bench_training(num_envs):
    import re
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as logdir:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "rl.train", "ppo", "CartPole", "--device", "cuda",
                                 "--num-envs", str(num_envs), "--logdir", logdir], capture_output=True, text=True)
        seconds = time.perf_counter() - start
    evaluation = re.search(r"eval: .*", result.stdout)
    sps = re.findall(r"([\d,]+) SPS", result.stdout + result.stderr)
    print(f"training: {seconds:.1f} s whole process, {evaluation.group(0) if evaluation else result.stderr[-300:]}, "
          f"last SPS {sps[-1] if sps else '-'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 14, 16, 18, 20, 22], help="log2 of N")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batches", type=int, nargs="+", default=[4096, 65536])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--num-envs", type=int, default=4096, help="sub-envs of the training run")
    parser.add_argument("--no-training", action="store_true", help="leave the training run out")
    parser.add_argument("--tiny", action="store_true", help="simulator sizes, no training: checks the script")
    args = parser.parse_args()
    from numba import config, cuda

    if args.tiny:
        args.sizes, args.steps, args.batches, args.repeats, args.no_training = [3], 3, [4], 2, True
    if not cuda.is_available() or (config.ENABLE_CUDASIM and not args.tiny):
        sys.exit("error: bench_gpu.py measures a real GPU and this machine has none (or the simulator is on); "
                 "run it where numba.cuda.is_available() is true, or under the simulator with --tiny")
    name = getattr(cuda.get_current_device(), "name", "numba's CUDA simulator")
    bandwidth = copy_bandwidth(cuda, nbytes=1 << 12 if args.tiny else 1 << 30, repeats=2 if args.tiny else 20)
    print(f"{name.decode() if isinstance(name, bytes) else name}; "
          f"device copy bandwidth {bandwidth / 1e9:.0f} GB/s")
    print(f"{'env':<10} {'N':>9} {'steps/s':>12} {'limit':>12} {'of limit':>9} {'gymnax':>12} {'ratio':>7}")
    for name in ("CartPole", "Pendulum"):
        for k in args.sizes:
            n = 1 << k
            sps, nbytes = bench_numbarl(cuda, name, n, args.steps)
            limit = bandwidth / nbytes
            peer = bench_gymnax(n, args.steps) if name == "CartPole" and not args.tiny else None
            peer_text = f"{peer:>12.3g} {sps / peer:>6.1f}x" if peer else f"{'-':>12} {'-':>7}"
            print(f"{name:<10} {n:>9} {sps:>12.3g} {limit:>12.3g} {sps / limit:>8.0%} {peer_text}", flush=True)
    bench_update(cuda, args.batches, args.repeats, hidden=2 if args.tiny else 64)
    if not args.no_training:
        bench_training(args.num_envs)


if __name__ == "__main__":
    main()
