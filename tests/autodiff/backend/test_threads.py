"""A stack of models' operations split over threads: every model's bits are those of one thread
(and of the model alone), whatever the number of threads and wherever the split falls."""

import threading

import numpy as np
import pytest

import autodiff as ad
from algos import dqn, ppo
from autodiff.backend import get_backend, threads


@pytest.fixture
def split_everything(monkeypatch):
    """Every stacked operation split, however small, over `n` threads (restored after)."""
    before = threads.get_num_threads()
    monkeypatch.setattr(threads, "MIN_WORK", 1)

    def use(n):
        threads.set_num_threads(n)

    yield use
    threads.set_num_threads(before)


@pytest.mark.parametrize("activation", [None, "tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_a_stack_of_linear_layers_is_each_layer_alone(split_everything, activation, bias):
    rng = np.random.default_rng(7)
    k, rows, n_in, n_out = 5, 37, 9, 6
    x = rng.standard_normal((k, 3, rows, n_in)).astype(np.float32)  # extra dims fold into rows
    w = rng.standard_normal((k, n_out, n_in)).astype(np.float32)
    b = rng.standard_normal((k, n_out)).astype(np.float32) if bias else None
    bk = get_backend("cpu")
    got = {}
    for n in (1, 2, 3, 8):
        split_everything(n)
        got[n] = bk.linear(x, w, b, activation)
    for n in (2, 3, 8):
        np.testing.assert_array_equal(got[n], got[1], err_msg=f"{n} threads")
    for m in range(k):
        alone = bk.linear(x[m], w[m], None if b is None else b[m], activation)
        np.testing.assert_array_equal(got[1][m], alone, err_msg=f"model {m}")


@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
def test_a_stack_of_products_with_transposed_operands_is_each_product_alone(split_everything, ta, tb):
    rng = np.random.default_rng(8)
    k, n, inner, m = 4, 33, 17, 5
    a = rng.standard_normal((k, inner, n) if ta else (k, n, inner))
    b = rng.standard_normal((k, m, inner) if tb else (k, inner, m))
    a_op = a.transpose(0, 2, 1) if ta else a  # the strided views MatMul hands the backend
    b_op = b.transpose(0, 2, 1) if tb else b
    split_everything(3)
    got = get_backend("cpu").matmul(a_op, b_op)
    for j in range(k):
        np.testing.assert_array_equal(got[j], np.matmul(a_op[j], b_op[j]))


def test_elementwise_rules_split_over_threads_are_numpys(split_everything):
    rng = np.random.default_rng(9)
    g = rng.standard_normal((3, 41, 7)).astype(np.float32)
    y = np.tanh(rng.standard_normal((3, 41, 7))).astype(np.float32)
    split_everything(4)
    bk = get_backend("cpu")
    np.testing.assert_array_equal(bk.tanh_backward(g, y), (1 - y * y) * g)
    np.testing.assert_array_equal(bk.relu_backward(g, y), g * (y > 0).astype(np.float32))


def test_gradients_through_a_stacked_network_do_not_depend_on_threads(split_everything):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 50, 3)).astype(np.float32)
    grads = []
    for n in (1, 2):
        split_everything(n)
        net = ad.nn.stacked(lambda: ad.nn.MLP([3, 16, 16, 2], activation="tanh"), seeds=range(4))
        loss = (net(ad.tensor(x)) ** 2).sum()
        loss.backward()
        grads.append([p.grad.numpy() for p in net.parameters()])
    for one, two in zip(*grads):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("algo, settings", [
    (ppo, dict(total_timesteps=1024, num_envs=4, num_steps=64, num_minibatches=2, update_epochs=2,
               hidden_sizes=(16, 16))),
    (dqn, dict(total_timesteps=600, num_envs=2, learning_starts=200, train_frequency=32, gradient_steps=4,
               batch_size=16, buffer_size=600, hidden_sizes=(16, 16), target_network_frequency=64)),
], ids=["ppo", "dqn"])
def test_a_population_trains_to_the_same_bits_on_any_number_of_threads(split_everything, algo, settings):
    trained = []
    for n in (1, 2):
        split_everything(n)
        agents = algo.train(algo.Args(seed=3, num_seeds=3, **settings), log=lambda *a, **k: None)
        agents = agents[0] if isinstance(agents, tuple) else agents
        trained.append({name: p.numpy() for name, p in agents.state_dict().items()})
    for name, value in trained[0].items():
        np.testing.assert_array_equal(trained[1][name], value, err_msg=name)


def test_parts_cover_the_models_in_as_many_ranges_as_the_work_repays(monkeypatch):
    monkeypatch.setattr(threads, "_threads", 4)  # restored after, as the pool's size is
    monkeypatch.setattr(threads, "MIN_WORK", 100)
    assert threads.parts(16, 99) == [(0, 16)]
    assert threads.parts(16, 250) == [(0, 8), (8, 16)]
    assert threads.parts(10, 10**6) == [(0, 2), (2, 5), (5, 7), (7, 10)]
    assert threads.parts(3, 10**6) == [(0, 1), (1, 2), (2, 3)]  # never more ranges than models
    assert threads.pays(16, 200) and not threads.pays(16, 199) and not threads.pays(1, 10**6)


def test_a_split_inside_a_part_runs_on_that_parts_thread(split_everything):
    # A part that calls a split op (a stacked layer's tanh) must not wait on the pool it occupies.
    split_everything(2)
    seen = []

    def inner(lo, hi):
        seen.append((threading.get_ident(), lo, hi))

    def outer(lo, hi):
        threads.over_models(inner, 6, 10**9)

    runner = threading.Thread(target=threads.over_models, args=(outer, 4, 10**9), daemon=True)
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive(), "a split inside a part deadlocked"
    assert sorted(s[1:] for s in seen) == [(0, 6), (0, 6)] and len({s[0] for s in seen}) == 2


def test_an_exception_in_a_thread_reaches_the_caller(split_everything):
    split_everything(2)

    def fail_on_the_second_half(lo, hi):
        if lo > 0:
            raise RuntimeError(f"models {lo}-{hi}")

    with pytest.raises(RuntimeError, match="models 2-4"):
        threads.over_models(fail_on_the_second_half, 4, 10)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_number_of_threads_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="positive integer"):
        ad.set_num_threads(bad)


def test_the_environment_sets_the_default(monkeypatch):
    monkeypatch.setattr(threads, "_threads", None)
    monkeypatch.setenv("NUMBARL_NUM_THREADS", "3")
    assert ad.get_num_threads() == 3
    monkeypatch.setattr(threads, "_threads", None)
    monkeypatch.setenv("NUMBARL_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="NUMBARL_NUM_THREADS must be a positive integer, got 'many'"):
        ad.get_num_threads()
    monkeypatch.setattr(threads, "_threads", None)
    monkeypatch.delenv("NUMBARL_NUM_THREADS")
    assert ad.get_num_threads() >= 1
