"""envs/driver.py: the generated per-env driver module and where it is cached."""

import importlib
import os
import subprocess
import sys

from envs import driver


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBARL_CACHE_DIR", str(tmp_path / "mine"))
    assert driver.cache_dir() == str(tmp_path / "mine")
    monkeypatch.delenv("NUMBARL_CACHE_DIR")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert driver.cache_dir() == str(tmp_path / "numba" / "numbarl")


def test_generated_module_imports_the_env_functions_and_is_written_once(tmp_path):
    env = {**os.environ, "NUMBARL_CACHE_DIR": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    code = "import envs, numpy as np; e = envs.make('MountainCar', num_envs=2, seed=0); e.reset(); e.step(np.ones(2, int))"
    for _ in range(2):  # the second process finds the file and numba's cache for it
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    generated = [f for f in os.listdir(tmp_path) if f.startswith("numbarl_driver_envs_mountain_car")]
    assert len(generated) == 1
    text = (tmp_path / generated[0]).read_text()
    assert "from envs.mountain_car import observe as _observe, reset as _reset, step as _step" in text
    assert "def step_serial" in text and "def step_parallel" in text
    assert os.listdir(tmp_path / "numba")  # numba cached the compiled driver


def test_load_driver_is_memoised():
    importlib.import_module("envs.cartpole")
    assert driver.load_driver("envs.cartpole") is driver.load_driver("envs.cartpole")
