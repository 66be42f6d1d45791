"""rl/evaluate.py: what rl.evaluate checks before it spends time evaluating."""

import sys

import pytest

from rl import evaluate, train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert train.main(["ppo", "CartPole", "--total-timesteps", "2048", "--eval-episodes", "0",
                       "--logdir", str(root), "--run-name", "r"]) == 0
    return root / "r"


@pytest.mark.parametrize("missing, message", [
    ("PIL", "--render needs the render extra (pip install -e '.[render]')"),
    ("pygame", "--render needs the render extra (pip install -e '.[render]')"),
])
def test_render_without_its_packages_fails_before_evaluating(missing, message, run, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed: importing it fails
    capsys.readouterr()
    assert evaluate.main([str(run), "--render", "--episodes", "3"]) == 2
    out, err = capsys.readouterr()
    assert message in err and len(err.strip().splitlines()) == 1
    assert "eval" not in out  # no evaluation ran first


def test_the_eval_line_says_what_solved_means(run, capsys):
    capsys.readouterr()
    assert evaluate.main([str(run), "--episodes", "3"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("eval: ") and line.endswith("(CartPole is solved at 475)")
    assert ": solved (" in line or ": not solved (" in line


def _copy(run, tmp_path, **changes):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    config["args"].update(changes)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize("flags, changes, message", [
    # A plugin env that is not installed where the run is evaluated (it was a ValueError's traceback).
    ([], {"env_id": "GridWalk"}, "{run}: its env GridWalk cannot be made on the cpu here (unknown env 'GridWalk'"),
    ([], {"env_id": "no_such_module:Env"}, "{run}: its env no_such_module:Env cannot be made on the cpu here"),
    (["--episode-seed", "-1"], {}, "--episode-seed must be in [0, 4294967295], got -1"),
    (["--seed", "7"], {}, "seed 7 is not in the population of {run}; its seed is 1"),
    (["--device", "gpu"], {}, "argument --device: invalid choice: 'gpu' (choose from 'cpu', 'cuda', 'auto')"),
    (["--episode", "3"], {}, "unknown flag --episode; did you mean --episodes?"),
])
def test_what_cannot_be_evaluated_is_one_sentence(flags, changes, message, run, tmp_path, capsys):
    copy = _copy(run, tmp_path, **changes)
    capsys.readouterr()
    assert evaluate.main([str(copy), "--episodes", "2", *flags]) == 2
    err = capsys.readouterr().err
    assert message.format(run=copy) in err and len(err.strip().splitlines()) == 1


def test_a_gpu_run_evaluates_on_the_cpu(run, tmp_path, capsys, monkeypatch):
    """A checkpoint holds host arrays, so a run trained with --device cuda evaluates anywhere with
    --device cpu; without it, a machine without CUDA says so and names the flag."""
    import numba.cuda

    monkeypatch.setattr(numba.cuda, "is_available", lambda: False)
    copy = _copy(run, tmp_path, device="cuda")
    capsys.readouterr()
    assert evaluate.main([str(copy), "--episodes", "2"]) == 2
    err = capsys.readouterr().err
    assert "its env CartPole cannot be made on the cuda here" in err and err.strip().endswith("with --device cpu")
    assert evaluate.main([str(copy), "--episodes", "3", "--device", "cpu"]) == 0
    on_cpu = capsys.readouterr().out.splitlines()[-1]
    assert evaluate.main([str(run), "--episodes", "3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == on_cpu  # the same episodes as the CPU run's own
