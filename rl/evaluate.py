"""Deterministic evaluation of a trained policy, batched: `python -m rl.evaluate RUN_DIR`.

    python -m rl.evaluate runs/CartPole__ppo__1__20261122-120000 --episodes 100 [--render]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

import autodiff as ad
from algos import env_actions, to_host

from .config import ConfigError

ALGOS = {"ppo": "algos.ppo", "rppo": "algos.rppo", "dqn": "algos.dqn"}
CHECKPOINT = "checkpoint.npz"


def evaluate(act, env_id, episodes=100, seed=0, device="cpu", max_envs=256):
    """Returns and lengths of `episodes` episodes of the policy `act(obs) -> actions`, run as
    batches of sub-envs that each count their first episode only (so every episode starts from
    a fresh reset and none is cut short by the batch)."""
    import envs

    returns, lengths = [], []
    batch_seed = seed
    while len(returns) < episodes:
        n = min(max_envs, episodes - len(returns))
        env = envs.make(env_id, num_envs=n, device=device, seed=batch_seed)
        obs, _ = env.reset(seed=batch_seed)
        if hasattr(act, "reset"):  # a recurrent policy: fresh memory for a fresh batch
            act.reset(n)
        total = ad.zeros(n, dtype="float64")
        steps = ad.zeros(n, dtype="int64")
        finished = ad.zeros(n, dtype="bool")
        result_r, result_l = [None] * n, [None] * n
        while not finished.all():
            action = act(ad.tensor(obs, device=device))
            obs, reward, terminated, truncated, _ = env.step(env_actions(env, action))
            reward, terminated, truncated = to_host(reward), to_host(terminated), to_host(truncated)
            alive = ~finished
            total = total + ad.tensor(reward).double() * alive.double()
            steps = steps + alive.long()
            ended = (ad.tensor(terminated) | ad.tensor(truncated)) & alive
            for i in ad.arange(n)[ended].tolist():
                result_r[i], result_l[i] = float(total[i].item()), int(steps[i].item())
            finished = finished | ended
        env.close()
        returns += result_r
        lengths += result_l
        batch_seed += n
    return returns, lengths


def load_run(run_dir):
    """The Args, the rebuilt networks and the policy of a run directory's checkpoint."""
    config_path = os.path.join(run_dir, "config.json")
    checkpoint_path = os.path.join(run_dir, CHECKPOINT)
    if not os.path.isfile(config_path) or not os.path.isfile(checkpoint_path):
        raise ConfigError(f"{run_dir} is not a numbarl run directory (it needs config.json and {CHECKPOINT})")
    with open(config_path) as f:
        config = json.load(f)
    algo = config["algo"]
    module = importlib.import_module(ALGOS[algo])
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in config["args"].items()}
    args = module.Args(**fields)
    state = ad.load(checkpoint_path)
    import envs

    probe = envs.make(args.env_id, num_envs=1, device=args.device, seed=args.seed)
    model, obs_norm = module.build(args, probe)
    model.load_state_dict(state[module.MODEL])
    if obs_norm is not None and state.get("obs_norm") is not None:
        obs_norm.load_state_dict(state["obs_norm"])
    return args, module.policy(model, obs_norm), state


def _renderable(env_id) -> str:
    """The Gymnasium id that renders `env_id`, or a ConfigError saying it has none."""
    import gymnasium as gym

    import envs

    gym_id = envs.gymnasium_id(env_id)
    if gym_id not in gym.registry:
        raise ConfigError(f"--render draws episodes with Gymnasium's own renderer, and {env_id} has no "
                          "Gymnasium counterpart; envs that can render: CartPole, Pendulum, MountainCar, "
                          "MountainCarContinuous, Acrobot and other Gymnasium ids")
    return gym_id


def render_episode(act, env_id, path, seed=0):
    """Write one episode of the policy as an animated GIF, rendered by Gymnasium's own env
    (same dynamics) and encoded by Pillow: `pip install -e '.[render]'`."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # off-screen: no display, no warnings about one
    try:
        import gymnasium as gym
        from PIL import Image

        import envs

        env = gym.make(_renderable(env_id), render_mode="rgb_array")
        obs, _ = env.reset(seed=seed)
        frames = [env.render()]
    except (ImportError, gym.error.DependencyNotInstalled) as e:
        raise ConfigError(f"--render needs the render extra (pip install -e '.[render]'): {e}") from None
    if hasattr(act, "reset"):  # a recurrent policy: fresh memory for the episode
        act.reset(1)
    done = False
    while not done:
        action = act(ad.tensor(obs[None])).numpy()[0]
        obs, _, terminated, truncated, _ = env.step(action)
        frames.append(env.render())
        done = terminated or truncated
    env.close()
    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=20, loop=0)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rl.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", help="a run directory written by python -m rl.train")
    parser.add_argument("--episodes", type=int, default=100, help="episodes to evaluate (default: 100)")
    parser.add_argument("--seed", type=int, default=10_000, help="seed of the evaluation episodes")
    parser.add_argument("--render", action="store_true", help="also write one episode as a GIF in the run directory")
    ns = parser.parse_args(argv)
    try:
        if ns.episodes <= 0:
            raise ConfigError(f"--episodes must be positive, got {ns.episodes}")
        args, act, _ = load_run(ns.run_dir)
        if ns.render:
            _renderable(args.env_id)  # before the evaluation, not after it
        returns, _ = evaluate(act, args.env_id, ns.episodes, ns.seed, args.device)
        mean = sum(returns) / len(returns)
        std = (sum((r - mean) ** 2 for r in returns) / len(returns)) ** 0.5
        print(f"eval: {mean:.2f} ± {std:.2f} over {len(returns)} episodes")
        if ns.render:
            path = render_episode(act, args.env_id, os.path.join(ns.run_dir, "episode.gif"), ns.seed)
            print(f"episode written to {path}")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
