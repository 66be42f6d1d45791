"""Ray Tune's overhead in rl.sweep: a sweep of N trials, one at a time on all the machine's cores,
against the same N runs made one after another through rl.train on the same cores. Every trial
trains PPO CartPole for the same steps (the searched setting is the seed), so the difference is
Ray's start-up, scheduling, reporting and checkpointing.

    python scripts/bench_sweep.py --trials 8 --total-timesteps 600000   # ~30 s trials on 2 cores
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--total-timesteps", type=int, default=600_000)
    ns = parser.parse_args()
    cores = os.cpu_count()
    fixed = ["--total-timesteps", str(ns.total_timesteps), "--eval-episodes", "100"]
    seeds = ",".join(str(s) for s in range(1, ns.trials + 1))
    with tempfile.TemporaryDirectory() as cwd:
        runs = [timed([sys.executable, "-m", "rl.train", "ppo", "CartPole", "--seed", str(s), *fixed], cwd)
                for s in range(1, ns.trials + 1)]
        sweep = timed([sys.executable, "-m", "rl.sweep", "ppo", "CartPole", "--trials", str(ns.trials),
                       "--search", f"seed=choice({seeds})", "--cpus-per-trial", str(cores), "--name", "bench",
                       *fixed], cwd)
    total = sum(runs)
    print(f"{ns.trials} rl.train runs one after another: {total:.1f} s ({total / ns.trials:.1f} s each)")
    print(f"rl.sweep of {ns.trials} trials, one at a time on {cores} cores: {sweep:.1f} s")
    print(f"overhead: {100 * (sweep / total - 1):+.1f} %")


if __name__ == "__main__":
    main()
