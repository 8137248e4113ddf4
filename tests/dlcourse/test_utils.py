"""quiet_tensorflow, set_seed and Timer, in a real kernel where it matters."""

import time

import numpy as np
import pytest
from support.kernel import LiveKernel

from dlcourse import Timer, set_seed


def test_tensorflow_writes_nothing_to_a_cells_stderr(tmp_path):
    kernel = LiveKernel(cwd=tmp_path)
    try:
        result = kernel.run(
            "import dlcourse\n"
            "tf = dlcourse.quiet_tensorflow()\n"
            "import keras\n"
            "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\n"
            "model.compile('adam', 'mse')\n"
            "model.fit(tf.ones((4, 3)), tf.ones((4, 2)), verbose=0)\n"
            "print(model(tf.ones((1, 3))).shape, tf.config.list_physical_devices('GPU'))"
        )
        assert result.ok, result.error
        assert result.stderr == "", "nbgrader would score such a cell zero"
        assert result.stdout.strip() == "(1, 2) []"
        assert kernel.run("import sys; print('x', file=sys.stderr)").stderr == "x\n"
    finally:
        kernel.close()


def test_set_seed_makes_numpy_and_keras_reproducible():
    import keras

    def draw():
        set_seed(7)
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        return np.random.rand(3), layer.kernel.numpy()

    (a1, k1), (a2, k2) = draw(), draw()
    assert np.array_equal(a1, a2) and np.array_equal(k1, k2)


def test_timer_records_laps():
    timer = Timer()
    with timer:
        time.sleep(0.01)
    timer.start()
    lap = timer.stop()
    assert timer.times == [pytest.approx(timer.times[0]), lap] and timer.times[0] >= 0.01
    assert timer.sum() == pytest.approx(sum(timer.times)) and timer.elapsed == lap
    with pytest.raises(RuntimeError):
        timer.stop()
