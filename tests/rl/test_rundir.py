"""rl/rundir.py: damaged copies of a real run directory are refused by rl.evaluate and by
rl.train --resume in one sentence naming the file, with exit status 2, and never loaded."""

import json
import shutil

import pytest

from rl import evaluate, train
from rl.rundir import new_run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real runs: the one to damage, and one whose networks have other shapes."""
    root = tmp_path_factory.mktemp("runs")
    for name, hidden in (("real", "16"), ("wider", "32")):
        code = train.main(["ppo", "CartPole", "--total-timesteps", "2048", "--eval-episodes", "0",
                           "--hidden-sizes", hidden, "--logdir", str(root), "--run-name", name])
        assert code == 0
    return root


def _args(**changes):
    return lambda config: config["args"].update(changes)


# What is done to a copy of config.json, and the sentence that refuses it.
CONFIG_EDITS = {
    "config field of the wrong type": (_args(env_id=5), "config.json: env_id must be a string, got 5"),
    "config of other layer sizes": (_args(hidden_sizes=[32, 32]), "checkpoint.npz: agent.critic.0.weight has "
                                    "shape (1, 16, 4), but config.json builds (1, 32, 4)"),
    "config with an invalid setting": (_args(num_envs=0), "config.json: num_envs must be positive, got 0"),
    "config with an unknown algorithm": (lambda config: config.update(algo="a2c"),
                                         "config.json names the algorithm 'a2c'; valid: dqn, ppo, rppo"),
    "config without args": (lambda config: config.pop("args"), "config.json does not describe a run"),
    "config with an unknown setting": (_args(learning_rat=0.1), "config.json sets 'learning_rat', which ppo does "
                                       "not have"),
}


def _damage(what, run, other):
    if what in CONFIG_EDITS:
        edit, message = CONFIG_EDITS[what]
        config = json.loads((run / "config.json").read_text())
        edit(config)
        (run / "config.json").write_text(json.dumps(config))
        return message
    if what == "truncated checkpoint":
        data = (run / "checkpoint.npz").read_bytes()
        (run / "checkpoint.npz").write_bytes(data[:len(data) // 2])
        return "checkpoint.npz cannot be read"
    if what == "empty checkpoint":
        (run / "checkpoint.npz").write_bytes(b"")
        return "checkpoint.npz cannot be read"
    if what == "checkpoint of other shapes":
        shutil.copy(other / "checkpoint.npz", run / "checkpoint.npz")
        return "checkpoint.npz: agent.critic.0.weight has shape (1, 32, 4), but config.json builds (1, 16, 4)"
    if what == "config cut short":
        (run / "config.json").write_text((run / "config.json").read_text()[:40])
        return "config.json cannot be read as JSON"
    raise AssertionError(what)


DAMAGE = ["truncated checkpoint", "empty checkpoint", "checkpoint of other shapes", "config cut short", *CONFIG_EDITS]


@pytest.mark.parametrize("command", ["evaluate", "resume"])
@pytest.mark.parametrize("what", DAMAGE)
def test_a_damaged_run_directory_is_one_sentence_and_status_2(what, command, runs, tmp_path, capsys):
    run = tmp_path / "copy"
    shutil.copytree(runs / "real", run)
    before = (run / "checkpoint.npz").read_bytes()
    message = _damage(what, run, runs / "wider")
    damaged = (run / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    if command == "evaluate":
        code = evaluate.main([str(run), "--episodes", "2"])
    else:
        code = train.main(["ppo", "CartPole", "--resume", str(run), "--eval-episodes", "0"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and str(run) in err
    assert len(err.strip().splitlines()) == 1
    assert (run / "checkpoint.npz").read_bytes() == damaged  # nothing written over what was there
    assert before  # the real run had a checkpoint to damage


def test_the_undamaged_copy_evaluates_and_resumes(runs, tmp_path, capsys):
    run = tmp_path / "copy"
    shutil.copytree(runs / "real", run)
    assert evaluate.main([str(run), "--episodes", "2"]) == 0
    assert "eval: " in capsys.readouterr().out
    assert train.main(["ppo", "CartPole", "--resume", str(run), "--total-timesteps", "4096",
                       "--eval-episodes", "0"]) == 0
    out = capsys.readouterr().out
    assert f"resuming {run} from step 2,048 of 4,096" in out


def test_a_new_run_never_writes_into_another_runs_directory(tmp_path):
    from rl.config import ConfigError

    first = new_run_dir(str(tmp_path), "CartPole__ppo__1__20261201-120000", numbered=True)
    (tmp_path / "CartPole__ppo__1__20261201-120000" / "config.json").write_text("{}")
    # A second run started in the same second, with the same seed, gets a directory of its own.
    second = new_run_dir(str(tmp_path), "CartPole__ppo__1__20261201-120000", numbered=True)
    assert first != second and second.endswith("-2")
    with pytest.raises(ConfigError, match="already holds a run; choose another --run-name, or continue"):
        new_run_dir(str(tmp_path), "CartPole__ppo__1__20261201-120000", numbered=False)
    assert new_run_dir(str(tmp_path), "fresh", numbered=False).endswith("fresh")


def test_a_run_directory_that_cannot_be_made_is_one_sentence(tmp_path):
    from rl.config import ConfigError

    # A --run-name with slashes nests the run in directories made for it.
    nested = new_run_dir(str(tmp_path / "runs"), "exp1/seed_3", numbered=False)
    assert nested == str(tmp_path / "runs" / "exp1" / "seed_3") and (tmp_path / "runs" / "exp1" / "seed_3").is_dir()
    (tmp_path / "a_file").write_text("")
    cases = [(str(tmp_path / "a_file"), "run", "a_file is a file"),  # --logdir names a file
             (str(tmp_path / "a_file" / "below"), "run", r"cannot be made \(Not a directory"),
             (str(tmp_path), "a_file", "a_file is a file")]  # --run-name names a file
    for logdir, name, message in cases:
        for numbered in (True, False):
            with pytest.raises(ConfigError, match=message) as error:
                new_run_dir(logdir, name, numbered=numbered)
            assert "choose another --logdir or --run-name" in str(error.value)
    assert (tmp_path / "a_file").read_text() == ""  # nothing written over it
