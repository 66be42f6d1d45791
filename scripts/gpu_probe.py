"""Small timings of numbarl's CUDA path, for scripts/gpu_check.sh on a machine with a GPU.

    python scripts/gpu_probe.py compile            # first and second env step and PPO update
    python scripts/gpu_probe.py launch bandwidth   # host us per launch; sum and add against copies
    python scripts/gpu_probe.py --tiny compile launch bandwidth   # under NUMBA_ENABLE_CUDASIM=1

compile: wall time of the first, second and third CartPole step (N = 4,096) and PPO minibatch
update (scripts/bench_autodiff.py's, batch 4,096), each synchronised. The first includes compiling, or
loading from numba's cache: run it twice, in two processes, to see both.

launch: host microseconds per launch of an empty kernel with 0, 1, 2, 4, 8 and 14 array arguments
(numba-cuda's per-argument cost), through the dispatcher and past it (the compiled kernel's own
launch); an env step with device actions, unsynchronised and synchronised; and the host cost of
reshaping a device array to 1-D (what autodiff's backend does per argument of every launch).

bandwidth: a 2^24 float32 `sum` and `add` on autodiff's CUDA backend, as bytes moved per second,
against device-to-device copies of the same bytes (and PyTorch's sum and add where it imports).

--tiny shrinks every size for numba's simulator, which checks that the script runs, not speed.
Each line printed is also a JSON record in --json FILE, if given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

RECORDS: list = []


def report(section: str, what: str, value: float, unit: str, **extra):
    RECORDS.append({"section": section, "what": what, "value": value, "unit": unit, **extra})
    details = "".join(f" {k}={v}" for k, v in extra.items())
    print(f"{section:<10} {what:<46} {value:>12.4g} {unit}{details}", flush=True)


def timed(fn, sync) -> float:
    """Seconds of one call of fn, synchronised."""
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def per_call_us(fn, repeats: int, sync=None) -> float:
    """Host microseconds per call, over `repeats` calls after two warm-ups; with `sync`, it runs
    once after the loop and counts (the device's time too, when it is the slower side)."""
    fn()
    fn()
    if sync:
        sync()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if sync:
        sync()
    return 1e6 * (time.perf_counter() - start) / repeats


def probe_compile(cuda, tiny: bool):
    import envs
    from bench_autodiff import make_batch, numbarl_update_fn

    n, batch, hidden = (8, 4, 2) if tiny else (4096, 4096, 64)
    start = time.perf_counter()
    env = envs.make("CartPole", num_envs=n, device="cuda", seed=0)
    report("compile", "env made (driver generated, arena copied)", time.perf_counter() - start, "s", n=n)
    report("compile", "first reset", timed(lambda: env.reset(seed=0), cuda.synchronize), "s", n=n)
    actions = cuda.to_device(np.random.default_rng(0).integers(0, 2, n))
    for k in ("first", "second", "third"):
        report("compile", f"{k} env step", timed(lambda: env.step(actions), cuda.synchronize), "s", n=n)
    update = numbarl_update_fn(make_batch(batch), "cuda", hidden)
    for k in ("first", "second", "third"):
        report("compile", f"{k} PPO update", timed(update, cuda.synchronize), "s", batch=batch, hidden=hidden)


def _empty_kernel(cuda, arity: int):
    """A kernel doing nothing with `arity` array arguments (written out: a kernel cannot take *args)."""
    names = ", ".join(f"a{k}" for k in range(arity))
    scope = {}
    exec(f"def empty({names}):\n    pass\n", scope)
    return cuda.jit(scope["empty"])


def probe_launch(cuda, tiny: bool):
    import envs

    repeats = 20 if tiny else 2000
    arrays = [cuda.to_device(np.zeros(4, np.float32)) for _ in range(14)]
    for arity in (0, 1, 2, 4, 8, 14):
        kernel = _empty_kernel(cuda, arity)
        configured = kernel[1, 32]
        args = arrays[:arity]
        report("launch", f"empty kernel, {arity:>2} arrays, dispatcher", per_call_us(lambda: configured(*args), repeats),
               "us")
        compiled = getattr(kernel, "overloads", None)
        if compiled:  # a real GPU: the compiled kernel launched directly, past type dispatch
            direct = next(iter(compiled.values()))
            report("launch", f"empty kernel, {arity:>2} arrays, direct",
                   per_call_us(lambda: direct.launch(args, (1, 1, 1), (32, 1, 1), 0, 0), repeats), "us")
    cuda.synchronize()
    n = 8 if tiny else 4096
    env = envs.make("CartPole", num_envs=n, device="cuda", seed=0)
    env.reset(seed=0)
    actions = cuda.to_device(np.zeros(n, np.int64))
    report("launch", "env step, device actions, host side", per_call_us(lambda: env.step(actions), repeats), "us", n=n)
    report("launch", "env step, device actions, synchronised",
           per_call_us(lambda: env.step(actions), repeats, cuda.synchronize), "us", n=n)
    host_actions = np.zeros(n, np.int64)
    report("launch", "env step, numpy actions (copied over)",
           per_call_us(lambda: env.step(host_actions), repeats, cuda.synchronize), "us", n=n)
    matrix = cuda.to_device(np.zeros((64, 64), np.float32))
    report("launch", "device array reshape to 1-D (host)", per_call_us(lambda: matrix.reshape(matrix.size), repeats),
           "us")
    report("launch", "cuda.device_array(4096 float32) (host)",
           per_call_us(lambda: cuda.device_array(4096, np.float32), repeats), "us")


def probe_bandwidth(cuda, tiny: bool):
    from autodiff.backend import get_backend

    gpu = get_backend("cuda")
    n, repeats = (1 << 10, 3) if tiny else (1 << 24, 50)
    rng = np.random.default_rng(0)
    x, y = (gpu.asarray(rng.standard_normal(n).astype(np.float32)) for _ in range(2))
    dst = cuda.device_array(n, np.float32)
    nbytes = 4 * n
    cases = [("copy 2^k float32 (device to device)", lambda: dst.copy_to_device(x), 2 * nbytes),
             ("sum 2^k float32 (autodiff backend)", lambda: gpu.sum(x, None, False), nbytes),
             ("add 2^k float32 (autodiff backend)", lambda: gpu.add(x, y), 3 * nbytes)]
    cases = [(what, fn, moved, cuda.synchronize) for what, fn, moved in cases]
    try:  # a peer in the same process, where there is one
        import torch
    except ImportError:
        torch = None
    if torch is not None and not tiny and torch.cuda.is_available():
        tx, ty = (torch.as_tensor(rng.standard_normal(n).astype(np.float32), device="cuda") for _ in range(2))
        cases += [("sum 2^k float32 (PyTorch)", lambda: tx.sum(), nbytes, torch.cuda.synchronize),
                  ("add 2^k float32 (PyTorch)", lambda: tx + ty, 3 * nbytes, torch.cuda.synchronize)]
    copy_rate = None
    for what, fn, moved, sync in cases:
        us = per_call_us(fn, repeats, sync)
        rate = moved / (us * 1e-6)
        copy_rate = copy_rate or rate
        report("bandwidth", what.replace("2^k", f"2^{n.bit_length() - 1}"), us, "us",
               GBps=round(rate / 1e9, 1), of_copy=f"{rate / copy_rate:.0%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="+", choices=["compile", "launch", "bandwidth"])
    parser.add_argument("--tiny", action="store_true", help="simulator sizes: checks the script, not speed")
    parser.add_argument("--json", help="also write every record to this file (JSON lines)")
    args = parser.parse_args()
    from numba import config, cuda

    if not cuda.is_available():
        sys.exit("error: gpu_probe.py needs a CUDA GPU, or NUMBA_ENABLE_CUDASIM=1 with --tiny")
    if config.ENABLE_CUDASIM and not args.tiny:
        sys.exit("error: under NUMBA_ENABLE_CUDASIM=1 the probe runs only with --tiny (the simulator is ~1e5x slower)")
    for section in args.sections:
        {"compile": probe_compile, "launch": probe_launch, "bandwidth": probe_bandwidth}[section](cuda, args.tiny)
    if args.json:
        with open(args.json, "a") as f:
            f.writelines(json.dumps(r) + "\n" for r in RECORDS)


if __name__ == "__main__":
    main()
