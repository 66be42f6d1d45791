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
