"""rl/config.py: flags from Args docstrings, precedence of defaults, config files and flags."""

import re

import pytest

from algos.ppo import Args
from rl.config import (ConfigError, build_parser, checked_values, closest_flag, defaults_for, field_docs, load_toml,
                       misplaced_positionals, resolve)
from rl.defaults import TUNED


def parse(*argv):
    parser = build_parser("python -m rl.train", Args, defaults_for(Args, "ppo", "CartPole"))
    return vars(parser.parse_args(["ppo", "CartPole", *argv]))


def test_every_field_has_a_docstring_and_a_kebab_case_flag():
    docs = field_docs(Args)
    help_text = build_parser("prog", Args, defaults_for(Args, "ppo", "CartPole")).format_help()
    for name, doc in docs.items():
        assert doc, name
        if name != "env_id":
            assert "--" + name.replace("_", "-") in help_text
    assert "--learning-rate" in help_text and "Adam's learning rate" in help_text


def test_only_given_flags_are_parsed():
    ns = parse("--learning-rate", "1e-3", "--no-anneal-lr", "--hidden-sizes", "32", "16", "--target-kl", "none")
    assert ns == {"algo": "ppo", "env": "CartPole", "learning_rate": 1e-3, "anneal_lr": False,
                  "hidden_sizes": [32, 16], "target_kl": None}


def test_precedence_defaults_then_tuned_then_file_then_flags(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('num-envs = 4\nlearning_rate = 0.001\nhidden_sizes = [8, 8]\n')
    args = resolve(Args, "ppo", "CartPole", {"learning_rate": 0.002}, load_toml(config))
    assert args.num_envs == 4 and args.learning_rate == 0.002 and args.hidden_sizes == (8, 8)
    assert args.gamma == TUNED[("ppo", "CartPole")]["gamma"] != Args.gamma  # the tuned default
    assert args.vf_coef == Args.vf_coef  # fields nothing sets keep the dataclass default
    assert args.env_id == "CartPole"
    # A Gymnasium id finds the tuned defaults of the built-in env it names.
    assert resolve(Args, "ppo", "CartPole-v1", {}).gamma == TUNED[("ppo", "CartPole")]["gamma"]


def test_bad_values_are_one_sentence_errors(tmp_path):
    with pytest.raises(ConfigError, match="num_envs must be positive, got 0"):
        resolve(Args, "ppo", "CartPole", {"num_envs": 0})
    with pytest.raises(ConfigError, match="does not split into 3 equal minibatches"):
        resolve(Args, "ppo", "CartPole", {"num_envs": 4, "num_steps": 128, "num_minibatches": 3})
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rat = 0.1\n")
    with pytest.raises(ConfigError, match="'learning_rat', which ppo does not have; valid keys: .*learning_rate"):
        resolve(Args, "ppo", "CartPole", {}, load_toml(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        load_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("x = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(broken)


def test_wrong_type_names_the_flag():
    parser = build_parser("prog", Args, defaults_for(Args, "ppo", "CartPole"))
    parser.error = lambda message: (_ for _ in ()).throw(ConfigError(message))
    with pytest.raises(ConfigError, match="argument --num-envs: expects an integer, got 'eight'"):
        parser.parse_args(["ppo", "CartPole", "--num-envs", "eight"])


def test_every_gymnasium_env_has_tuned_defaults_for_every_algorithm_that_fits():
    # The built-ins that reproduce a Gymnasium env: PPO for all, DQN for the discrete ones.
    import gymnasium as gym

    import envs

    for name in envs.list():
        env = envs.make(name, num_envs=1)
        if getattr(env, "gymnasium_id", None) is None:
            continue  # numbarl's own envs (CartPoleNoVel, MemoryCue, ...) are rppo's
        assert ("ppo", name) in TUNED, name
        if isinstance(env.single_action_space, gym.spaces.Discrete):
            assert ("dqn", name) in TUNED, name


@pytest.mark.parametrize("key, value, message", [
    ("learning_rate", "fast", "learning_rate must be a number, got 'fast'"),
    ("num_envs", 2.5, "num_envs must be an integer, got 2.5"),
    ("num_envs", True, "num_envs must be an integer, got True"),
    ("anneal_lr", 1, "anneal_lr must be true or false, got 1"),
    ("hidden_sizes", [64, "wide"], "hidden_sizes must be a list of integers, got (64, 'wide')"),
    ("hidden_sizes", 64, "hidden_sizes must be a list of integers, got 64"),
    ("env_id", 5, "env_id must be a string, got 5"),
    ("target_kl", "none", "target_kl must be a number or none, got 'none'"),
])
def test_values_from_files_are_checked_by_type(key, value, message):
    with pytest.raises(ConfigError, match=re.escape(f"run.toml: {message}")):
        checked_values(Args, "ppo", {key: value}, "run.toml")


def test_values_from_files_of_the_right_type_pass_as_the_fields_hold_them():
    values = checked_values(Args, "ppo", {"learning_rate": 1, "hidden_sizes": [8, 8], "target_kl": None,
                                         "anneal_lr": False, "num_envs": 4}, "run.toml")
    assert values == {"learning_rate": 1.0, "hidden_sizes": (8, 8), "target_kl": None, "anneal_lr": False,
                      "num_envs": 4}
    assert isinstance(values["learning_rate"], float)


@pytest.mark.parametrize("given, meant", [
    ("--lr", "--learning-rate"), ("--learning-rat", "--learning-rate"), ("--num-env", "--num-envs"),
    ("--gae", "--gae-lambda"), ("--lr=0.1", "--learning-rate"), ("--ent", "--ent-coef"),
    ("--xyz", None), ("--n", None),
])
def test_the_closest_flag_is_suggested(given, meant):
    parser = build_parser("prog", Args, defaults_for(Args, "ppo", "CartPole"))
    assert closest_flag(given, parser._option_string_actions) == meant


def test_a_config_file_that_cannot_be_read_is_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match=f"config file {tmp_path} cannot be read"):
        load_toml(tmp_path)  # a directory
    latin = tmp_path / "latin1.toml"
    latin.write_bytes("# r\xe9glages\nlearning_rate = 0.001\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="latin1.toml is not valid TOML: 'utf-8' codec can't decode"):
        load_toml(latin)


def test_a_config_file_never_trains_another_env_than_the_command_line_names(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('env_id = "Pendulum"\nlearning_rate = 0.001\n')
    with pytest.raises(ConfigError, match="sets env_id = 'Pendulum', but the command line trains CartPole"):
        resolve(Args, "ppo", "CartPole", {}, checked_values(Args, "ppo", load_toml(config), "the config file"))
    config.write_text('env_id = "CartPole"\n')  # saying what the command line says is harmless
    assert resolve(Args, "ppo", "CartPole", {}, load_toml(config)).env_id == "CartPole"


@pytest.mark.parametrize("argv, meant", [
    (["--algo", "ppo", "--env", "CartPole-v1"], "python -m rl.train ppo CartPole-v1"),  # RL Zoo's train.py
    (["--algo=dqn", "--env=Acrobot"], "python -m rl.train dqn Acrobot"),
    (["ppo", "--env-id", "CartPole-v1", "--seed", "3"], "python -m rl.train ppo CartPole-v1"),  # CleanRL's
    (["ppo", "--seed", "3"], "python -m rl.train ppo ENV"),
    (["--seed", "3", "ppo", "CartPole"], "python -m rl.train ALGO ENV"),
])
def test_algo_and_env_given_as_flags_are_named_with_the_command_meant(argv, meant):
    assert meant in str(misplaced_positionals("python -m rl.train", argv))


def test_algo_and_env_as_words_are_not_misplaced():
    for argv in (["ppo", "CartPole"], ["ppo", "CartPole", "--seed", "3"], ["ppo"], ["ppo", "CartPole", "Acrobot"]):
        assert misplaced_positionals("python -m rl.train", argv) is None
