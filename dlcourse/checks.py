"""The checks the exercises' test cells call, and the records the grader judges.

A test cell computes the expected value with an independent oracle
(TensorFlow, Keras, a closed form) and compares the student's value with
``assert_close``, ``assert_equal``, ``assert_shape``, ``assert_between`` or
``assert_accuracy``. In the student's kernel a failed check raises at once
(``name: expected ..., got ...``): that is what Validate shows. It is only an
early warning: every check also *publishes a record* (a display output of
type ``MIME``) holding the student's value as plain data, and the grader
(``grader.preprocessors.judge``) compares those values, in its own process,
with the values the same cell computed when the solution notebook ran in a
kernel no student touched. Whatever student code changes in its kernel, the
grade depends only on the values the student's code produced.

Values are recorded as plain data only: Python ``bool``/``int``/``float``/
``str``/``None``, tuples and lists of them, NumPy arrays and scalars and
TensorFlow tensors (as ``np.save`` bytes, never pickled). ``decode`` turns a
record back into values; ``mismatch`` is the one comparison both sides use.

Expected values are written inside ``oracle(...)``:
``assert_close(softmax(z), oracle(tf.nn.softmax(z).numpy()))``. Here ``oracle``
returns its argument, so Validate and the lessons compare in the kernel. When
the grader runs a test cell in a student's kernel it first replaces every
``oracle(...)`` by ``oracle.sealed`` (``grader.preprocessors.seal``): the
expression is never evaluated there, the checks only record the student's
values, and the expected ones come from the reference run. No expected value
exists in a kernel that student code runs in, so none can be copied.

Contract guards for the graded call: ``by_hand(*names)`` makes the named
routines raise while it is active, ``unchanged(fn, *args)`` fails when
``fn`` modified an array argument. Neither holds any answer.
"""

import base64
import copy
import io
import math
import os
import sys
import tempfile

import numpy as _np

from dlcourse import kernels

MIME = "application/vnd.dlcourse.check+json"
VERSION = 1

_asarray = _np.asarray
_abs = _np.abs
_maximum = _np.maximum
_max_reduce = _np.maximum.reduce
_and_reduce = _np.logical_and.reduce
_equal = _np.equal
_isfinite = _np.isfinite
_save, _load = _np.save, _np.load
_array2string = _np.array2string
_ndarray, _generic = _np.ndarray, _np.generic
_b64encode, _b64decode = base64.b64encode, base64.b64decode

_sinks = []  # lists that ``capture()`` collects records into (tests, the grader's own use)


class Sealed:
    """What ``oracle(...)`` becomes in a test cell the grader runs in a student's kernel:
    a stand-in for the expected value, which only the grader's reference run computes.
    Indexing it gives itself, so ``expected[i]`` in a test helper stays sealed."""

    __slots__ = ()
    __iter__ = None  # not a sequence: iterating over it raises TypeError

    def __getitem__(self, key):
        return self

    def __repr__(self):
        return "<the expected value: computed by the grader>"


SEALED = Sealed()


def oracle(value):
    """Mark ``value`` as a check's expected value (computed by a trusted oracle).

    Returns ``value``. The grader removes the whole expression before a test
    cell runs in a student's kernel (see the module's docstring): compute the
    expected value *inside* the parentheses, never into a variable first.
    """
    return value


oracle.sealed = SEALED


def _sealed(*values):
    return any(type(v) is Sealed for v in values)


class NotPlainData(AssertionError):
    """A checked value is something the grader cannot read as plain data."""


# --- plain data ------------------------------------------------------------------------------
def _npy(array):
    buf = io.BytesIO()
    try:
        _save(buf, array, allow_pickle=False)
    except ValueError as exc:
        raise NotPlainData(f"an array of dtype {array.dtype} cannot be recorded ({exc})") from None
    return _b64encode(buf.getvalue()).decode("ascii")


_tensor_types = {}  # exact TensorFlow types -> their own ``numpy`` method, taken once


def _tensor_kinds():
    tf = sys.modules.get("tensorflow")
    if not _tensor_types and tf is not None:
        for make in (lambda: tf.constant(0.0), lambda: tf.Variable(0.0)):
            try:
                kind = type(make())
            except Exception:  # TensorFlow half imported
                continue
            _tensor_types[kind] = kind.numpy
    return _tensor_types


def _is_tensor(value):
    """True only for TensorFlow's own eager tensors and variables (exact types)."""
    return type(value) in _tensor_kinds()


def _tensor_numpy(value):
    """A tensor's values through TensorFlow's own method (no method of ``value`` is used)."""
    return _tensor_kinds()[type(value)](value)


def encode(value, what="result"):
    """``value`` as JSON-ready plain data; raise ``NotPlainData`` for anything else.

    Types are taken exactly (a subclass of ``int`` is not an ``int``); a tensor
    becomes its NumPy array, a ``TensorShape`` the tuple of its dimensions.
    """
    kind = type(value)
    if value is None:
        return {"type": "None"}
    if kind is Sealed:
        return {"type": "sealed"}
    if kind in (bool, int, str):
        return {"type": kind.__name__, "value": value if kind is not int else str(value)}
    if kind is float:
        return {"type": "float", "value": repr(value)}
    if kind in (tuple, list):
        return {"type": kind.__name__, "items": [encode(v, what) for v in value]}
    if (kind.__name__, kind.__module__) == ("TensorShape",
                                            "tensorflow.python.framework.tensor_shape"):
        return {"type": "tuple", "items": [encode(d, what) for d in value.as_list()]}
    if _is_tensor(value):
        value = _tensor_numpy(value)
        kind = type(value)
    if kind is _ndarray or (isinstance(value, _generic) and kind.__module__ == "numpy"):
        array = _asarray(value)
        return {"type": "ndarray" if kind is _ndarray else "numpy", "npy": _npy(array)}
    raise NotPlainData(
        f"{what}: got a {kind.__module__}.{kind.__qualname__}; return plain values "
        "(a NumPy array, a tensor, a Python int, float, bool or str, or a tuple or list of them)")


def decode(data):
    """The value that ``encode`` recorded (arrays read with ``allow_pickle=False``)."""
    kind = data["type"]
    if kind == "None":
        return None
    if kind == "sealed":
        return SEALED
    if kind == "bool":
        return bool(data["value"]) if isinstance(data["value"], bool) else _bad(data)
    if kind == "int":
        return int(str(data["value"]))
    if kind == "float":
        return float(str(data["value"]))
    if kind == "str":
        return str(data["value"])
    if kind in ("tuple", "list"):
        items = [decode(v) for v in data["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind in ("ndarray", "numpy"):
        array = _load(io.BytesIO(_b64decode(data["npy"], validate=True)), allow_pickle=False)
        return array if kind == "ndarray" else array[()]
    return _bad(data)


def _bad(data):
    raise ValueError(f"not a recorded value: {str(data)[:100]}")


def type_name(value):
    """What ``dtype=`` names: a NumPy dtype (``float64``, ``int64``, ``bool``) for arrays,
    NumPy scalars and tensors; ``int``, ``float``, ``bool``, ``str``... for Python values."""
    if _is_tensor(value):
        value = _tensor_numpy(value)
    if isinstance(value, (_ndarray, _generic)):
        return value.dtype.name
    return type(value).__name__


def _dtype_ok(value, dtype):
    allowed = (dtype,) if isinstance(dtype, str) else tuple(dtype)
    return type_name(value) in allowed


# --- the comparison (in the kernel and in the grader) -----------------------------------------
def _to_numpy(x):
    if _is_tensor(x):
        return _tensor_numpy(x)
    if type(x) is _ndarray:
        return x
    if type(x).__module__.startswith(("tensorflow", "keras")) and callable(
            getattr(x, "numpy", None)):  # other tensor types (in the kernel only)
        x = x.numpy()
    return _asarray(x)


def _max(a):
    return _max_reduce(a, axis=None)


def _all(a):
    return _and_reduce(a, axis=None)


def rel_error(actual, expected):
    """Largest relative error max |a - e| / max(1e-8, |a| + |e|) over all elements."""
    a = _to_numpy(actual).astype(float)
    e = _to_numpy(expected).astype(float)
    if a.size == 0:
        return 0.0
    return float(_max(_abs(a - e) / _maximum(1e-8, _abs(a) + _abs(e))))


def show(value, lines=4):
    """A short text for a value: arrays cut to a few lines, with their shape and dtype."""
    if isinstance(value, (_ndarray, _generic)) or _is_tensor(value):
        a = _to_numpy(value)
        if a.ndim == 0:
            return f"{a[()]!r} ({a.dtype})"
        try:
            text = _array2string(a, threshold=24, edgeitems=2, precision=5, max_line_width=88)
        except Exception:  # NumPy's printing patched by student code: the raw numbers
            text = repr(a.ravel()[:8].tolist())
        rows = text.splitlines()
        if len(rows) > lines:
            text = "\n".join(rows[:lines]) + " ..."
        return f"{text} (shape {a.shape}, {a.dtype})"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + " ..."


def _pair(expected, actual):
    e, a = show(expected), show(actual)
    sep = "\n" if "\n" in e + a or len(e) + len(a) > 60 else " "
    return f"expected{sep}{e},{sep}got{sep}{a}"


_NUMBERS = "biuf"  # NumPy dtype kinds of the values a numeric check compares


def _is_number(value):
    """A single real number as it was returned: a Python int, float or bool, a NumPy scalar,
    or an array or tensor of shape () (not a string, a list or a bigger array)."""
    if type(value) in (int, float, bool):
        return True
    if isinstance(value, (_ndarray, _generic)) or _is_tensor(value):
        a = _to_numpy(value)
        return a.ndim == 0 and a.dtype.kind in _NUMBERS
    return False


def mismatch(kind, actual, expected, tol=None, dtype=None):
    """Why ``actual`` fails the check ``kind`` against ``expected`` (None if it passes).

    The same function decides in the kernel (early warning) and in the grader.
    """
    if _sealed(actual):
        return "got the grader's stand-in for the expected value, not a value of your code"
    if actual is None and kind != "equal":
        return "got None; did the function forget to return?"
    if dtype is not None and not _dtype_ok(actual, dtype):
        return f"expected dtype {dtype}, got {type_name(actual)}"
    if kind == "close":
        try:
            a, e = _to_numpy(actual), _to_numpy(expected)
            if a.dtype.kind not in _NUMBERS:  # "1.5" or 1+0j would convert to a float
                raise TypeError
            af = a.astype(float)
        except (TypeError, ValueError):
            return f"expected numbers, got {show(actual)}"
        if a.shape != e.shape:
            return f"expected shape {e.shape}, got {a.shape}"
        if not bool(_all(_isfinite(af))):
            return f"{_pair(expected, actual)}: contains NaN or infinity"
        err = rel_error(a, e)
        if not err <= tol or math.isnan(err):
            return f"{_pair(expected, actual)} (relative error {err:.3g} exceeds {tol:g})"
        return None
    if kind == "equal":
        return None if _equal_values(actual, expected) else _pair(expected, actual)
    if kind == "shape":
        if type(actual) is str:
            return f"expected an array of shape {tuple(expected)}, got {actual}"
        return None if tuple(actual) == tuple(expected) else (
            f"expected shape {tuple(expected)}, got {tuple(actual)}")
    if kind == "between":
        low, high = expected
        try:
            if not _is_number(actual):  # float() would take "0.5" or a one-element list
                raise TypeError
            v = float(_to_numpy(actual))
        except (TypeError, ValueError):
            return f"expected a number, got {show(actual)}"
        if not ((low is None or v >= low) and (high is None or v <= high)):
            return f"expected a value in [{low}, {high}], got {v:g}"
        return None
    raise ValueError(f"unknown check kind {kind!r}")


def _equal_values(actual, expected):
    if isinstance(expected, (_ndarray, _generic)) or isinstance(actual, (_ndarray, _generic)):
        a, e = _to_numpy(actual), _to_numpy(expected)
        if (a.dtype.kind == "O") != (e.dtype.kind == "O"):
            return False
        return a.shape == e.shape and (a.size == 0 or bool(_all(_equal(a, e))))
    if isinstance(expected, (list, tuple)):
        return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                and all(_equal_values(x, y) for x, y in zip(actual, expected, strict=True)))
    if expected is None or actual is None:
        return actual is None and expected is None
    if type(expected) is bool or type(actual) is bool:
        return type(actual) is type(expected) and actual == expected
    plain = (int, float, str)
    if type(expected) in plain and type(actual) in plain:
        return expected == actual
    return False


# --- recording --------------------------------------------------------------------------------
def _publish(record):
    for sink in _sinks:
        sink.append(record)
    shell_module = sys.modules.get("IPython.core.interactiveshell")
    if shell_module is None or not shell_module.InteractiveShell.initialized():
        return
    from IPython.display import publish_display_data

    publish_display_data({MIME: record, "text/plain": f"<check {record['name']}>"})


class capture:
    """``with capture() as records:`` collects the records published inside (as dicts)."""

    def __enter__(self):
        self.records = []
        _sinks.append(self.records)
        return self.records

    def __exit__(self, *exc):
        _sinks.remove(self.records)
        return False


def _record(kind, name, actual, expected, **extra):
    """Publish a record; values that are not plain data fail the check with a message."""
    record = {"v": VERSION, "kind": kind, "name": str(name), **extra}
    record["expected"] = encode(expected, f"{name} (the expected value)")
    try:
        record["actual"] = encode(actual, name)
    except NotPlainData as exc:
        record["actual"] = {"type": "refused"}
        _publish(record)
        raise AssertionError(str(exc)) from None
    _publish(record)


def _fail(name, why):
    if why is not None:
        raise AssertionError(f"{name}: {why}")


def _array_like(value):
    """An array or a tensor as returned (a list or tuple would only get a shape by conversion)."""
    return isinstance(value, (_ndarray, _generic)) or _is_tensor(value) or (
        type(value).__module__.startswith(("tensorflow", "keras"))
        and callable(getattr(value, "numpy", None)))


def assert_shape(actual, shape, name="result"):
    """Fail unless ``actual`` is an array or tensor (not a list) of exactly ``shape``."""
    if _array_like(actual):
        got = tuple(int(d) for d in _to_numpy(actual).shape)
    else:  # recorded as what it is: the judge refuses it like the kernel does
        got = f"a {type(actual).__name__}, not an array or tensor"
    if _sealed(shape):
        _record("shape", name, got, shape)
        return
    _record("shape", name, got, tuple(int(d) for d in shape))
    _fail(name, mismatch("shape", got, tuple(shape)))


def assert_close(actual, expected, tol=1e-5, name="result", dtype=None):
    """Fail unless shapes match and the relative error is at most ``tol``;
    ``dtype``: the type the task states (``"float64"``, or a tuple of accepted names)."""
    _record("close", name, actual, expected, tol=float(tol), dtype=dtype)
    if not _sealed(expected):
        _fail(name, mismatch("close", actual, expected, tol, dtype))


def assert_equal(actual, expected, name="result", dtype=None):
    """Fail unless ``actual`` equals ``expected``.

    Arrays and tensors must have the same shape and elements; lists and tuples
    compare element by element (a tuple equals a list with the same items); a
    bool equals only a bool; anything else must be a plain int, float or str.
    ``dtype``: the type the task states (``"int"`` for a Python int, ``"int64"``...).
    """
    _record("equal", name, actual, expected, dtype=dtype)
    if not _sealed(expected):
        _fail(name, mismatch("equal", actual, expected, dtype=dtype))


def assert_between(actual, low=None, high=None, name="result", dtype=None):
    """Fail unless ``low <= actual <= high`` (either bound may be None)."""
    _record("between", name, actual, (low, high), dtype=dtype)
    if not _sealed(low, high):
        _fail(name, mismatch("between", actual, (low, high), dtype=dtype))


# --- trained models ----------------------------------------------------------------------------
def _flat(x):
    return (x.astype("float32") / 255.0).reshape(-1, 784)


def _image(x):
    return (x.astype("float32") / 255.0)[..., None]


def _padded(x):
    return _np.pad(x.astype("float32") / 255.0, ((0, 0), (2, 2), (2, 2)))[..., None]


# How a model's inputs are made from MNIST's uint8 images (N, 28, 28).
INPUTS = {"flat": _flat, "image": _image, "padded": _padded,
          "plain": lambda x: x.astype("float32") / 255.0}


def accuracy(model, x, y):
    """Share of the images ``x`` whose largest model output is the label ``y``."""
    scores = _asarray(model.predict(x, batch_size=1000, verbose=0))
    if scores.shape != (len(y), 10):
        raise AssertionError(f"the model's output has shape {scores.shape}; "
                             f"expected ({len(y)}, 10)")
    return float((scores.argmax(axis=1) == _asarray(y)).mean())


def model_bytes(model):
    """The model saved as a ``.keras`` file, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def assert_accuracy(model, minimum, name="test accuracy", inputs="flat"):
    """Fail unless ``model`` classifies at least ``minimum`` of MNIST's test images right.

    ``inputs`` says how images become the model's input (a key of ``INPUTS``).
    The grader evaluates the recorded model again, in a clean sandboxed process
    (``safe_mode``: no Lambda layers), on the test set and on the validation
    split, and flags a test accuracy implausibly above the validation accuracy.
    """
    from dlcourse import data

    (_, _), (x_test, y_test) = data.load_mnist()
    record = {"v": VERSION, "kind": "accuracy", "name": str(name), "minimum": float(minimum),
              "inputs": inputs, "expected": encode(float(minimum))}
    try:
        record["model"] = _b64encode(model_bytes(model)).decode("ascii")
    except Exception as exc:  # not a Keras model, or one Keras cannot save
        record["actual"] = {"type": "refused"}
        _publish(record)
        raise AssertionError(f"{name}: the model could not be saved ({exc})") from None
    got = accuracy(model, INPUTS[inputs](x_test), y_test)
    record["actual"] = encode(got)
    _publish(record)
    if not got >= minimum:
        raise AssertionError(f"{name}: expected at least {minimum:.2%}, got {got:.2%}")
    print(f"{name}: {got:.2%} (at least {minimum:.2%} needed)")


# --- contract guards ----------------------------------------------------------------------------
_ROOTS = {"tf": "tensorflow", "np": "numpy", "keras": "keras"}


def _resolve(dotted, namespace):
    first, *rest = dotted.split(".")
    if first in namespace and not rest:
        return namespace, first, namespace[first]
    module = sys.modules.get(_ROOTS.get(first, first))
    if module is None:
        __import__(_ROOTS.get(first, first))
        module = sys.modules[_ROOTS.get(first, first)]
    owner = module
    for part in rest[:-1]:
        owner = getattr(owner, part)
    if isinstance(owner, type):  # a method: patch the class that defines it
        owner = next(k for k in owner.__mro__ if rest[-1] in vars(k))
    return owner, rest[-1], getattr(owner, rest[-1]) if rest else module


class by_hand:
    """``with by_hand("tf.nn.conv2d", "conv2d_naive"):`` forbid routines for a moment.

    While the block runs, calling any named routine raises
    ``AssertionError("solve this by hand: do not call tf.nn.conv2d")``. A name
    is a dotted path from ``tf``, ``keras`` or ``np`` (``"tf.nn.softmax"``,
    ``"keras.layers.Dense"``, ``"keras.Model.count_params"``: a method is
    replaced on the class that defines it) or a function of the notebook
    (``"conv2d_naive"``). The routine is replaced wherever a module or the
    notebook binds that same object (``tf.nn.conv2d`` is also
    ``tf.compat.v2.nn.conv2d``; ``from tensorflow.nn import conv2d``), and put
    back afterwards. The kernels behind the names (``dlcourse.kernels.KERNELS``:
    ``"tf.nn.conv2d"`` forbids Conv2D and its backprops, ``"tf.nn.softmax"`` the
    Softmax family, ``"tf.matmul"`` MatMul...) are refused too, whatever reaches
    them (``tf.raw_ops``, ``gen_nn_ops``, ``keras.ops``, a layer, a traced
    function). An early warning for careless students: compute the oracle
    outside the block.
    """

    def __init__(self, *names):
        self.names = names
        self.namespace = sys._getframe(1).f_globals
        self.patched = []
        self.kernels = None

    def __enter__(self):
        try:
            self._forbid()
        except BaseException:  # a name that does not resolve: put back what was replaced
            self.__exit__(None, None, None)
            raise
        return self

    def _forbid(self):
        targets = {}
        for dotted in self.names:
            owner, attr, original = _resolve(dotted, self.namespace)
            targets[id(original)] = (dotted, original)
            self._patch(owner, attr, original, dotted)
        for module in list(sys.modules.values()):
            space = getattr(module, "__dict__", None)
            if not isinstance(space, dict):
                continue
            for key, value in list(space.items()):
                if id(value) in targets and value is targets[id(value)][1]:
                    self._patch(module, key, value, targets[id(value)][0])
        for key, value in list(self.namespace.items()):
            if id(value) in targets and value is targets[id(value)][1]:
                self._patch(self.namespace, key, value, targets[id(value)][0])
        forbidden = kernels.forbidden_kernels(self.names)
        if forbidden:
            guard = kernels.KernelGuard(forbidden)
            guard.__enter__()
            self.kernels = guard

    def _patch(self, owner, attr, original, dotted):
        def forbidden(*args, **kwargs):
            raise AssertionError(f"solve this by hand: do not call {dotted}")

        forbidden.__name__ = getattr(original, "__name__", attr)
        if isinstance(owner, dict):
            if owner.get(attr) is original:
                owner[attr] = forbidden
                self.patched.append((owner, attr, original, True))
            return
        if getattr(owner, attr, None) is not original:
            return
        own = attr in getattr(owner, "__dict__", {})
        try:
            setattr(owner, attr, forbidden)
        except (AttributeError, TypeError):
            return
        self.patched.append((owner, attr, original, own))

    def __exit__(self, *exc):
        for owner, attr, original, own in reversed(self.patched):
            if isinstance(owner, dict):
                owner[attr] = original
            elif own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self.patched.clear()
        guard, self.kernels = self.kernels, None
        if guard is not None:
            guard.__exit__(*exc)
        return False


def _copies(value):
    if isinstance(value, _ndarray):
        return value.copy()
    if _is_tensor(value) and type(value).__name__.endswith("Variable"):
        return _tensor_numpy(value).copy()
    if isinstance(value, (list, dict)):
        return copy.deepcopy(value)
    if type(value) is tuple:  # a cache of arrays: (X, W, b, stride, padding)
        inner = tuple(_copies(v) for v in value)
        return inner if any(v is not None for v in inner) else None
    return None


def _same(before, now):
    if type(before) is tuple:
        return type(now) is tuple and len(now) == len(before) and all(
            b is None or _same(b, n) for b, n in zip(before, now, strict=True))
    if _is_tensor(now):
        now = _tensor_numpy(now)
    if isinstance(before, _ndarray):
        return (isinstance(now, _ndarray) and before.shape == now.shape
                and before.dtype == now.dtype
                and bool(_all(_equal(before, now) | (before != before) & (now != now))))
    try:
        return bool(before == now)
    except ValueError:  # lists of arrays
        return repr(before) == repr(now)


def unchanged(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)``; fail if it modified an array, list or dict argument
    (also one inside a tuple argument)."""
    saved = [(i, _copies(a)) for i, a in enumerate(args)]
    saved_kw = {k: _copies(v) for k, v in kwargs.items()}
    returned = fn(*args, **kwargs)
    label = getattr(fn, "__name__", "the function")
    try:
        import inspect

        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    for i, before in saved:
        if before is not None and not _same(before, args[i]):
            what = params[i] if i < len(params) else f"number {i + 1}"
            raise AssertionError(f"{label} changed its argument {what}: work on a copy")
    for key, before in saved_kw.items():
        if before is not None and not _same(before, kwargs[key]):
            raise AssertionError(f"{label} changed its argument {key}: work on a copy")
    return returned


_tensor_kinds()  # taken now if TensorFlow is loaded (a notebook imports it first)
