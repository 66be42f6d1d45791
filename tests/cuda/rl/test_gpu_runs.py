"""Training with --device cuda, under the simulator (or a GPU): env, rollout storage, GAE,
parameters and optimizer state on the device; a short run through the CLI completes, checkpoints
and evaluates. Sizes are tiny: the simulator runs every GPU thread as a Python thread."""

import json
import subprocess
import sys
from pathlib import Path

import autodiff as ad

ROOT = Path(__file__).resolve().parents[3]


def _train_on_the_gpu(tmp_path, *argv):
    """python -m rl.train ... --device cuda in a process of its own, which must succeed."""
    result = subprocess.run([sys.executable, "-m", "rl.train", *argv, "--device", "cuda", "--logdir", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_ppo_on_the_gpu_through_the_cli(tmp_path):
    result = _train_on_the_gpu(tmp_path, "ppo", "MemoryCue", "--total-timesteps", "16", "--num-envs", "2",
                               "--num-steps", "8", "--num-minibatches", "2", "--update-epochs", "1",
                               "--hidden-sizes", "8", "8", "--eval-episodes", "1", "--run-name", "gpu")
    assert "eval: " in result.stdout and "over 1 episodes" in result.stdout
    assert json.loads((tmp_path / "gpu" / "config.json").read_text())["args"]["device"] == "cuda"
    state = ad.load(tmp_path / "gpu" / "checkpoint.npz")
    assert state["global_step"] == 16 and state["next_obs"].shape == (2, 2)


def test_dqn_on_the_gpu_through_the_cli(tmp_path):
    _train_on_the_gpu(tmp_path, "dqn", "CartPole", "--total-timesteps", "40", "--learning-starts", "8",
                      "--train-frequency", "8", "--gradient-steps", "1", "--batch-size", "4", "--hidden-sizes", "8",
                      "8", "--eval-episodes", "0", "--run-name", "dqn")
    state = ad.load(tmp_path / "dqn" / "checkpoint.npz")
    assert state["global_step"] == 40 and state["next_obs"].shape == (4, 4)  # CartPole DQN: 4 sub-envs


def test_recurrent_ppo_on_the_gpu_through_the_cli(tmp_path):
    _train_on_the_gpu(tmp_path, "rppo", "MemoryCue", "--total-timesteps", "8", "--num-envs", "2", "--num-steps", "4",
                      "--num-minibatches", "1", "--update-epochs", "1", "--hidden-sizes", "4", "--rnn-hidden-size",
                      "4", "--num-seeds", "2", "--eval-episodes", "0", "--run-name", "rppo")
    state = ad.load(tmp_path / "rppo" / "checkpoint.npz")
    assert state["global_step"] == 8 and state["rnn_state"].shape == (2, 2, 4)  # 2 agents' 2 sub-envs
