"""Comparison helpers for the exercises' test cells.

They say what was expected when a check fails (CS231n style: a relative
error against a trusted reference). They hold no answers: the reference
values are computed in the test cells, with TensorFlow or a closed form.

The functions keep their own references to the NumPy routines they use, taken
when this module is imported (before any student code runs), and use only
ufuncs and C-level routines that do not look anything up in ``numpy`` when
they run, so a notebook that later replaces ``np.allclose``, ``np.abs`` or
``np.maximum`` cannot change their verdict. Results are compared as numbers:
an object that claims to equal everything (a custom ``__eq__``) is refused.
"""

import math
import numbers

import numpy as _np

_asarray = _np.asarray
_abs = _np.abs
_maximum = _np.maximum
_max_reduce = _np.maximum.reduce
_and_reduce = _np.logical_and.reduce
_equal = _np.equal
_isfinite = _np.isfinite
_generic = _np.generic
_object = _np.dtype(object)
_PLAIN = (numbers.Number, str, bytes, _generic)


def _max(a):
    return _max_reduce(a, axis=None)


def _all(a):
    return _and_reduce(a, axis=None)


def _plain(x):
    """True for values whose ``==`` cannot be faked: numbers, strings, NumPy scalars."""
    return type(x).__module__ in ("builtins", "numpy") and isinstance(x, _PLAIN)


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
    if not _equal_values(actual, expected):
        raise AssertionError(f"{name}: expected {expected!r}, got {actual!r}")


def _equal_values(actual, expected):
    if hasattr(expected, "shape") or hasattr(actual, "shape"):
        a, e = _to_numpy(actual), _to_numpy(expected)
        if a.dtype == _object and e.dtype != _object:
            return False
        return a.shape == e.shape and (a.size == 0 or bool(_all(_equal(a, e))))
    if isinstance(expected, (list, tuple)):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(_equal_values(x, y) for x, y in zip(actual, expected, strict=True)))
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if _plain(expected) and not _plain(actual):
        return False
    return bool(expected == actual)
