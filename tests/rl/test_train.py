"""rl/train.py through its command line: bad input gets one sentence and exit status 2."""

import importlib.util
import subprocess
import sys

import pytest


def cli(*argv, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "rl.train", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("argv, message", [
    (["a2c", "CartPole"], "unknown algorithm 'a2c'; valid: dqn, ppo"),
    (["ppo"], "no environment given"),
    (["ppo", "CartPole", "--learning-rat", "0.1"], "unknown flag --learning-rat; did you mean --learning-rate?"),
    (["ppo", "CartPole", "--lr", "0.1"], "unknown flag --lr; did you mean --learning-rate?"),
    (["dqn", "CartPole", "--ent-coef", "0.1"], "unknown flag --ent-coef (--help lists every flag)"),
    (["ppo", "CartPole", "extra"], "unexpected argument extra; python -m rl.train takes ALGO ENV and then flags"),
    (["ppo", "CartPole", "--learning-rate", "abc"], "argument --learning-rate: expects a number, got 'abc'"),
    (["ppo", "CartPole", "--hidden-sizes", "0"], "every entry of hidden_sizes must be positive, got 0"),
    (["dqn", "CartPole", "--total-timesteps", "500"], "learning_starts (1000) must be less than total_timesteps"),
    (["ppo", "CartPole", "--gamma", "1.5"], "gamma must be in (0, 1], got 1.5"),
    (["ppo", "CartPole", "--video-every", "1000"], "--video-every sets how often --capture-video renders"),
    (["ppo", "CartPole", "--log-histograms", "-1"], "--log-histograms must not be negative, got -1"),
    (["rppo", "MemoryCue", "--capture-video"], "MemoryCue has no Gymnasium counterpart"),
    (["ppo", "needs_box2d:Env"], "needs_box2d:Env needs a package that is not installed: Box2D is not installed"),
    (["ppo", "CartPole", "--config", "typed.toml"], "the config file typed.toml: learning_rate must be a number, got 'fast'"),
    (["ppo", "CartPole", "--num-envs", "0"], "num_envs must be positive, got 0"),
    (["ppo", "CartPole", "--num-envs", "3", "--num-steps", "5", "--num-minibatches", "4"],
     "does not split into 4 equal minibatches"),
    (["ppo", "CartPole", "--num-envs", "eight"], "argument --num-envs: expects an integer, got 'eight'"),
    (["ppo", "CartPole", "--config", "missing.toml"], "config file missing.toml does not exist"),
    (["ppo", "CartPole", "--resume", "nowhere"], "nowhere is not a numbarl run directory"),
    (["dqn", "Pendulum"], "DQN needs a discrete action space; Pendulum has Box"),
    (["ppo", "Cartpole"], "unknown env 'Cartpole'; did you mean 'CartPole'?"),
    (["dqn", "CartPole", "--loss", "l1"], "unknown loss 'l1'; valid: huber, mse"),
    (["ppo", "CartPole", "--num-seeds", "0"], "num_seeds must be positive, got 0"),
    (["dqn", "CartPole", "--num-seeds", "-3"], "num_seeds must be positive, got -3"),
    (["dqn", "CartPole", "--num-seeds", "100000"], "100000 agents of 4 sub-envs need about"),
    # the sub-envs alone (409.6M) exceed the memory: checked before they are made, which the OOM
    # killer ended before the check
    (["ppo", "CartPole", "--num-seeds", "100000", "--num-envs", "4096"], "100000 agents of 4096 sub-envs need about"),
    (["ppo", "CartPole", "--num-seeds", "4000", "--num-steps", "100000", "--total-timesteps", "2000000"], "free on the cpu; train fewer seeds"),
    (["ppo", "CartPole", "--logdir", "a_file"], "a_file is a file; choose another --logdir or --run-name"),
    (["ppo", "CartPole", "--logdir", "a_file/runs"], "cannot be made (Not a directory"),
    (["ppo", "CartPole", "--config", "."], "config file . cannot be read (Is a directory)"),
    (["ppo", "CartPole", "--config", "other_env.toml"], "sets env_id = 'Pendulum', but the command line trains CartPole"),
    # past 2**64, tensorboardX's hparams failed with a TypeError after the run directory was made
    (["ppo", "CartPole", "--seed", "100000000000000000000"], "seed must be at most 4294967295 (2**32 - 1)"),
    (["dqn", "CartPole", "--seed", "4294967295", "--num-seeds", "2"], "got 4294967295 ... 4294967296"),
    (["--algo", "ppo", "--env", "CartPole-v1"], "not flags: python -m rl.train ppo CartPole-v1 [--flag value ...]"),
    (["ppo", "--env-id", "CartPole-v1"], "not flags: python -m rl.train ppo CartPole-v1 [--flag value ...]"),
])
def test_bad_input_is_one_sentence_and_status_2(argv, message, tmp_path):
    # A plugin env whose import needs a missing package, as Gymnasium's Box2D envs do without Box2D.
    (tmp_path / "needs_box2d.py").write_text(
        "from gymnasium.error import DependencyNotInstalled\n"
        "raise DependencyNotInstalled('Box2D is not installed, you can install it by run `pip install swig` '\n"
        "                             'followed by `pip install \"gymnasium[box2d]\"`')\n")
    (tmp_path / "typed.toml").write_text('learning_rate = "fast"\n')
    (tmp_path / "other_env.toml").write_text('env_id = "Pendulum"\n')
    (tmp_path / "a_file").write_text("")
    result = cli(*argv, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # refused before any run directory was made


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is not None, reason="Box2D is installed here")
def test_a_gymnasium_env_whose_extra_is_missing_says_how_to_install_it(tmp_path):
    result = cli("ppo", "LunarLander-v3", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "LunarLander-v3 needs a package that is not installed" in result.stderr and "gymnasium[box2d]" in result.stderr


def test_help_lists_flags_with_their_docstrings(tmp_path):
    result = cli("ppo", "CartPole", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--learning-rate" in result.stdout and "Adam's learning rate" in result.stdout
    assert "--save-every" in result.stdout and "--resume" in result.stdout


def test_the_settings_block_names_what_differs_from_the_defaults_and_why():
    from algos import dqn, ppo
    from rl.train import describe

    args = ppo.Args(total_timesteps=100_000, num_envs=16, num_steps=128, learning_rate=0.002, num_seeds=4)
    text = describe("ppo", ppo, args, "runs/x", {"num_envs": "tuned for CartPole", "learning_rate": "flag",
                                                 "num_steps": "tuned for CartPole"})
    lines = text.splitlines()
    # 100,000 is not whole iterations of 16 x 128: the run says what it trains, once, up front.
    assert lines[0] == ("ppo on CartPole, seeds 1-4, cpu: 98,304 steps per agent (total_timesteps 100,000 in "
                        "whole iterations of 2,048)")
    assert lines[1] == "settings other than ppo's defaults (all of them: runs/x/config.json):"
    assert [line.split() for line in lines[2:]] == [
        ["num_envs", "16", "tuned", "for", "CartPole"], ["learning_rate", "0.002", "flag"],
        ["num_seeds", "4"]]  # num_steps is tuned to the value it has anyway
    assert max(map(len, lines)) <= 110
    short = describe("ppo", ppo, ppo.Args(total_timesteps=1000), "runs/x", {})
    assert short.splitlines()[0].endswith("cpu: 1,024 steps (total_timesteps 1,000 in whole iterations of 1,024)")
    plain = describe("dqn", dqn, dqn.Args(num_envs=3, total_timesteps=50_000), "runs/y", {})
    assert plain.splitlines()[0] == ("dqn on CartPole, seed 1, cpu: 50,001 steps (total_timesteps 50,000 in whole "
                                     "steps of 3 sub-envs)")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished run of two iterations to resume."""
    from rl import train

    root = tmp_path_factory.mktemp("runs")
    assert train.main(["ppo", "CartPole", "--total-timesteps", "4096", "--eval-episodes", "0", "--seed", "3",
                       "--logdir", str(root), "--run-name", "r"]) == 0
    return root / "r"


@pytest.mark.parametrize("flags, message", [
    # Its random streams are in the checkpoint: another seed would only relabel it (config.json
    # and the evaluation took the new seed while the run went on with its own).
    (["--seed", "5"], "trained with seed 3, not 5; a resumed run goes on with its own seed"),
    (["--run-name", "fork"], "--resume continues {run} in its own directory, so --run-name cannot be given"),
    (["--logdir", "elsewhere", "--run-name", "fork"], "so --logdir and --run-name cannot be given with it"),
    # config.json would say 2,048 steps of a run that trained 4,096
    (["--total-timesteps", "2048"], "has trained 4,096 steps, more than total_timesteps 2,048 asks for"),
])
def test_a_resume_that_would_rewrite_the_run_is_refused_and_changes_nothing(flags, message, trained, capsys):
    from rl import train

    before = {p.name: p.read_bytes() for p in trained.iterdir()}
    capsys.readouterr()
    assert train.main(["ppo", "CartPole", "--resume", str(trained), "--eval-episodes", "0", *flags]) == 2
    err = capsys.readouterr().err
    assert message.format(run=trained) in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in trained.iterdir()} == before
