"""rl/train.py through its command line: bad input gets one sentence and exit status 2."""

import subprocess
import sys

import pytest


def cli(*argv, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "rl.train", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("argv, message", [
    (["a2c", "CartPole"], "unknown algorithm 'a2c'; valid: dqn, ppo"),
    (["ppo"], "no environment given"),
    (["ppo", "CartPole", "--learning-rat", "0.1"], "unrecognized arguments: --learning-rat 0.1"),
    (["ppo", "CartPole", "--num-envs", "0"], "num_envs must be positive, got 0"),
    (["ppo", "CartPole", "--num-envs", "3", "--num-steps", "5", "--num-minibatches", "4"],
     "does not split into 4 equal minibatches"),
    (["ppo", "CartPole", "--num-envs", "eight"], "--num-envs expects an integer, got 'eight'"),
    (["ppo", "CartPole", "--config", "missing.toml"], "config file missing.toml does not exist"),
    (["ppo", "CartPole", "--resume", "nowhere"], "not a run directory"),
    (["dqn", "Pendulum"], "DQN needs a discrete action space; Pendulum has Box"),
    (["ppo", "Cartpole"], "unknown env 'Cartpole'; did you mean 'CartPole'?"),
    (["dqn", "CartPole", "--loss", "l1"], "unknown loss 'l1'; valid: huber, mse"),
    (["ppo", "CartPole", "--num-seeds", "0"], "num_seeds must be positive, got 0"),
    (["dqn", "CartPole", "--num-seeds", "-3"], "num_seeds must be positive, got -3"),
    (["dqn", "CartPole", "--num-seeds", "100000"], "100000 agents of 4 sub-envs need about"),
    (["ppo", "CartPole", "--num-seeds", "4000", "--num-steps", "100000"], "free on the cpu; train fewer seeds"),
])
def test_bad_input_is_one_sentence_and_status_2(argv, message, tmp_path):
    result = cli(*argv, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_flags_with_their_docstrings(tmp_path):
    result = cli("ppo", "CartPole", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--learning-rate" in result.stdout and "Adam's learning rate" in result.stdout
    assert "--save-every" in result.stdout and "--resume" in result.stdout


def test_a_new_run_never_writes_into_another_runs_directory(tmp_path):
    from rl.config import ConfigError
    from rl.train import new_run_dir

    first = new_run_dir(str(tmp_path), "CartPole__ppo__1__20261201-120000", numbered=True)
    (tmp_path / "CartPole__ppo__1__20261201-120000" / "config.json").write_text("{}")
    # A second run started in the same second, with the same seed, gets a directory of its own.
    second = new_run_dir(str(tmp_path), "CartPole__ppo__1__20261201-120000", numbered=True)
    assert first != second and second.endswith("-2")
    with pytest.raises(ConfigError, match="already holds a run; choose another --run-name, or continue"):
        new_run_dir(str(tmp_path), "CartPole__ppo__1__20261201-120000", numbered=False)
    assert new_run_dir(str(tmp_path), "fresh", numbered=False).endswith("fresh")
