"""Small utilities every notebook uses: quiet TensorFlow, seeds, a timer."""

import contextlib
import logging
import os
import random
import sys
import time
import warnings


def quiet_tensorflow():
    """Silence TensorFlow and Keras and keep them on the CPU.

    Call it before the first ``import tensorflow`` (it sets the environment
    variables TensorFlow reads at import time) and it still helps after.
    TensorFlow logs to stderr, and nbgrader gives zero points to a test cell
    that writes anything to stderr, so every notebook calls this first.
    Returns the ``tensorflow`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    for module in ("tensorflow", "keras", "absl", "tensorboard"):
        warnings.filterwarnings("ignore", module=module)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with _stderr_to_devnull():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.constant(0.0) + 0.0  # loads the kernels, which log once more

    tf.get_logger().setLevel(logging.ERROR)
    tf.autograph.set_verbosity(0)
    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf


@contextlib.contextmanager
def _stderr_to_devnull():
    """Point file descriptor 2 at /dev/null for a moment.

    TensorFlow's C++ start-up messages ("oneDNN custom operations are on",
    written by absl before TF_CPP_MIN_LOG_LEVEL applies) bypass Python, and
    Jupyter kernels forward that descriptor into the cell's output.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def set_seed(seed=0):
    """Seed Python's ``random``, NumPy and TensorFlow/Keras with one number.

    Together with the single-threaded data pipelines the notebooks use, this
    makes their printed numbers reproducible from run to run.
    """
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    tf = quiet_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    return seed


class Timer:
    """Measure wall-clock time, as a context manager or with start/stop.

    >>> with Timer() as t:
    ...     pass
    >>> t.elapsed >= 0
    True
    """

    def __init__(self):
        self.times = []
        self._start = None

    def start(self):
        """Start (or restart) the clock."""
        self._start = time.perf_counter()

    def stop(self):
        """Stop the clock, record the lap and return its length in seconds."""
        if self._start is None:
            raise RuntimeError("Timer.stop() called before Timer.start()")
        self.times.append(time.perf_counter() - self._start)
        self._start = None
        return self.times[-1]

    @property
    def elapsed(self):
        """Seconds of the last finished lap (0.0 before any)."""
        return self.times[-1] if self.times else 0.0

    def sum(self):
        """Total seconds over all laps."""
        return sum(self.times)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
