"""envs/registry.py: names, aliases, validation, plugins through a real entry point, strings,
the Gymnasium fallback, and the errors a user sees."""

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import envs
from envs import registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gridwalk"


def test_builtins_answer_to_short_names_and_gymnasium_ids():
    assert {"CartPole", "Pendulum", "MountainCar", "MountainCarContinuous", "Acrobot"} <= set(envs.list())
    for short, gym_id in [("CartPole", "CartPole-v1"), ("Acrobot", "Acrobot-v1"), ("Pendulum", "Pendulum-v1")]:
        a, b = envs.make(short, num_envs=2, seed=3), envs.make(gym_id, num_envs=2, seed=3)
        assert type(a) is type(b) and type(a).__name__ == short
        np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
        assert envs.canonical(gym_id) == short and envs.gymnasium_id(short) == gym_id


def test_unknown_name_lists_the_known_ones_and_the_closest():
    with pytest.raises(ValueError, match=r"unknown env 'Cartpole'; did you mean 'CartPole'\? known envs: Acrobot, CartPole"):
        envs.make("Cartpole")


@pytest.fixture
def clean_registry():
    saved = dict(registry._REGISTRY), dict(registry._ALIASES), registry._discovered
    yield
    registry._REGISTRY.clear(), registry._REGISTRY.update(saved[0])
    registry._ALIASES.clear(), registry._ALIASES.update(saved[1])
    registry._discovered = saved[2]


def test_register_validates_its_input(clean_registry):
    from envs.cartpole import CartPole

    with pytest.raises(ValueError, match="non-empty"):
        envs.register("", CartPole)
    with pytest.raises(ValueError, match="non-empty"):
        envs.register(" Padded", CartPole)
    with pytest.raises(ValueError, match="'CartPole' is already registered"):
        envs.register("CartPole", CartPole)
    with pytest.raises(ValueError, match="'CartPole-v1' is already registered"):
        envs.register("Mine", CartPole, aliases=("CartPole-v1",))
    with pytest.raises(TypeError, match="must be a class, a callable or a 'package.module:ClassName' string, got a int"):
        envs.register("Numeric", 42)
    with pytest.raises(ValueError, match="must look like 'package.module:ClassName'"):
        envs.register("NoColon", "envs.cartpole.CartPole")


def test_register_with_defaults_and_lazy_strings(clean_registry):
    envs.register("MoonPole", "envs.cartpole:CartPole", gravity=1.62)
    env = envs.make("MoonPole", num_envs=2)
    assert env.params.gravity == 1.62
    assert envs.make("MoonPole", gravity=3.7).params.gravity == 3.7  # make's params win
    envs.register("Broken", "envs.no_such_module:Env")
    with pytest.raises(ImportError, match="env 'Broken': cannot import 'envs.no_such_module:Env'"):
        envs.make("Broken")


def test_module_class_strings_make_directly():
    env = envs.make("envs.pendulum:Pendulum", num_envs=3)
    assert type(env).__name__ == "Pendulum" and env.num_envs == 3


def test_plugin_discovered_through_a_real_entry_point(tmp_path, monkeypatch, clean_registry):
    """The documented example, advertised by an installed distribution's entry_points.txt, which
    importlib.metadata reads from sys.path exactly as it would after `pip install`."""
    dist = tmp_path / "numbarl_gridwalk-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: numbarl-gridwalk\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [numbarl.envs]
        GridWalk = numbarl_gridwalk:GridWalk
        """))
    (tmp_path / "numbarl_gridwalk.py").write_text((EXAMPLE / "numbarl_gridwalk.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "numbarl_gridwalk", raising=False)
    registry._discovered = False
    assert "GridWalk" in envs.list()
    env = envs.make("GridWalk", num_envs=16, seed=0, episode_statistics=True)
    envs.check_env(env, steps=300)
    env.reset(seed=0)
    finished = np.zeros(16, bool)
    for _ in range(9):  # always right: every walker starts within 9 cells of the goal
        _, _, terminated, truncated, info = env.step(np.ones(16, np.int64))
        assert not truncated.any()
        if terminated.any():
            assert (info["episode"]["r"][terminated] > 0.9).all()  # +1 at the goal, small step costs
        finished |= terminated
    assert finished.all()


def test_example_declares_the_entry_point():
    text = (EXAMPLE / "pyproject.toml").read_text()
    assert '[project.entry-points."numbarl.envs"]' in text and 'GridWalk = "numbarl_gridwalk:GridWalk"' in text
