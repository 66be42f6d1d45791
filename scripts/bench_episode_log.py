"""What logging finished episodes costs per env step on the CPU path: algos.common.EpisodeLog.add
over synthetic infos (every sub-env's return and length, and a mask of the episodes that ended),
for N sub-envs of which a fraction ended, into a log that does nothing (EpisodeLog's own work) and
into rl.monitor.Monitor (what a run pays: TensorBoard event records and the console window), for
one agent and for a population of --agents. Median over --repeats steps, after one warm-up.

    python scripts/bench_episode_log.py --sizes 256 4096 65536 --ended 0.05 1.0
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from algos.common import EpisodeLog


class _Env:  # EpisodeLog reads only where the env lives
    device = "cpu"


def _infos(n, ended, repeats, rng):
    infos = []
    for _ in range(repeats + 1):
        mask = rng.random(n) < ended
        infos.append({"episode": {"r": np.where(mask, rng.integers(8, 500, n), 0).astype(np.float64),
                                  "l": np.where(mask, rng.integers(8, 500, n), 0).astype(np.int64)},
                      "_episode": mask})
    return infos


def _time(log, n, agents, infos):
    episodes = EpisodeLog(_Env(), log, n // agents)
    times = []
    for step, info in enumerate(infos):
        t = time.perf_counter()
        episodes.add(info, (step + 1) * n)
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def main():
    from rl.monitor import Monitor

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 4096, 65536])
    parser.add_argument("--ended", type=float, nargs="+", default=[0.05, 1.0],
                        help="fraction of sub-envs whose episode ended at each step")
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    ns = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'N':>7} {'ended':>6} {'agents':>6} {'null log ms':>12} {'Monitor ms':>11}")
    for n in ns.sizes:
        for ended in ns.ended:
            infos = _infos(n, ended, ns.repeats, rng)
            for agents in (1, ns.agents):
                null = _time(lambda tag, value, step, agent=0: None, n, agents, infos)
                with tempfile.TemporaryDirectory() as d:
                    monitor = Monitor(d, 10**12, stream=open("/dev/null", "w"), seeds=range(agents))
                    full = _time(monitor, n, agents, infos)
                    monitor.close()
                print(f"{n:>7} {ended:>6.2f} {agents:>6} {1e3 * null:>12.3f} {1e3 * full:>11.3f}", flush=True)


if __name__ == "__main__":
    main()
