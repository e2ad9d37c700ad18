"""How calls run: off the GIL (threads in parallel), deterministic, and
interruptible."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import gradrd


def values(seed: int, n: int = 200_000) -> np.ndarray:
    return np.random.default_rng(seed).laplace(0.0, 1e-3, n)


def test_two_threads_fit_two_tensors_with_the_sequential_results():
    a, b = values(1), values(2)
    sequential = [gradrd.fit(a), gradrd.fit(b)]
    results = [None, None]

    def work(i, x):
        results[i] = gradrd.fit(x)

    threads = [threading.Thread(target=work, args=(i, x)) for i, x in enumerate((a, b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == sequential


def test_the_gil_is_released_while_fitting():
    x = values(3, 1_000_000)
    done = threading.Event()
    ticks = 0

    def fit():
        gradrd.fit(x)
        done.set()

    worker = threading.Thread(target=fit)
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    # a fit holding the GIL would let this loop run once or twice at most
    assert ticks > 5


def test_same_input_and_seed_give_the_same_study():
    steps = {s: {"w": values(10 + s, 5000)} for s in range(4)}
    assert gradrd.iid(steps, seed=3, trials=10) == gradrd.iid(steps, seed=3, trials=10)
    assert gradrd.iid(steps, seed=3, trials=10) != gradrd.iid(steps, seed=4, trials=10)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_ctrl_c_interrupts_a_long_analysis():
    steps = {s: {f"layer{i}": values(100 * s + i, 100_000) for i in range(8)} for s in range(6)}
    start = time.monotonic()
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            gradrd.evolve(steps)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    full_start = time.monotonic()
    gradrd.evolve({0: steps[0]})
    one_step = time.monotonic() - full_start
    # stopped at the next tensor: far sooner than the 6 steps would take
    assert elapsed < 0.3 + 3 * one_step
