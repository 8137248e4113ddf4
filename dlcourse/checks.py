"""Comparison helpers for the exercises' test cells.

They say what was expected when a check fails (CS231n style: a relative
error against a trusted reference). They hold no answers: the reference
values are computed in the test cells, with TensorFlow or a closed form.

The functions keep their own references to the NumPy routines they use, taken
when this module is imported (before any student code runs), so a notebook
that later replaces ``np.allclose`` or ``np.abs`` cannot change their verdict.
"""

import math

import numpy as _np

_asarray = _np.asarray
_abs = _np.abs
_max = _np.max
_maximum = _np.maximum
_isfinite = _np.isfinite
_all = _np.all
_array_equal = _np.array_equal


def _to_numpy(x):
    if hasattr(x, "numpy") and callable(x.numpy):  # tf.Tensor, tf.Variable
        x = x.numpy()
    return _asarray(x)


def rel_error(actual, expected):
    """Largest relative error max |a - e| / max(1e-8, |a| + |e|) over all elements."""
    a = _to_numpy(actual).astype(float)
    e = _to_numpy(expected).astype(float)
    if a.size == 0:
        return 0.0
    return float(_max(_abs(a - e) / _maximum(1e-8, _abs(a) + _abs(e))))


def assert_shape(actual, shape, name="result"):
    """Fail unless ``actual`` has exactly ``shape``."""
    got = tuple(_to_numpy(actual).shape)
    if got != tuple(shape):
        raise AssertionError(f"{name}: expected shape {tuple(shape)}, got {got}")


def assert_close(actual, expected, tol=1e-5, name="result"):
    """Fail unless shapes match and the relative error is at most ``tol``."""
    if actual is None:
        raise AssertionError(f"{name}: got None; did the function forget to return?")
    a = _to_numpy(actual)
    e = _to_numpy(expected)
    assert_shape(a, e.shape, name)
    if not bool(_all(_isfinite(a.astype(float)))):
        raise AssertionError(f"{name}: contains NaN or infinity")
    err = rel_error(a, e)
    if not err <= tol or math.isnan(err):
        raise AssertionError(
            f"{name}: relative error {err:.3g} exceeds {tol:g}\nexpected:\n{e}\ngot:\n{a}"
        )


def assert_equal(actual, expected, name="result"):
    """Fail unless ``actual`` equals ``expected``.

    Arrays and tensors must have the same shape and elements; lists and tuples
    compare element by element (a tuple equals a list with the same items);
    anything else compares with ``==``.
    """
    if hasattr(expected, "shape") or hasattr(actual, "shape"):
        a, e = _to_numpy(actual), _to_numpy(expected)
        ok = a.shape == e.shape and bool(_array_equal(a, e))
    elif isinstance(expected, (list, tuple)):
        ok = isinstance(actual, (list, tuple)) and list(actual) == list(expected)
    else:
        ok = type(actual) is not bool and actual == expected if expected is not None else (
            actual is None
        )
    if not ok:
        raise AssertionError(f"{name}: expected {expected!r}, got {actual!r}")
