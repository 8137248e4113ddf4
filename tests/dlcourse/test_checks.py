"""dlcourse.checks in-process: messages, records as plain data, dtype=, the contract guards."""

import json

import numpy as np
import pytest

from dlcourse import checks


def recorded(fn, *args, **kwargs):
    """The records ``fn(*args, **kwargs)`` publishes, and its error message (or None)."""
    with checks.capture() as records:
        try:
            fn(*args, **kwargs)
            error = None
        except AssertionError as exc:
            error = str(exc)
    return records, error


def test_messages_say_expected_and_got_first():
    _, error = recorded(checks.assert_close, np.array([1.0, 2.0]), np.array([1.0, 3.0]),
                        name="f(x)")
    assert error.startswith("f(x): expected [1. 3.] (shape (2,), float64), got [1. 2.]")
    assert "relative error 0.2 exceeds 1e-05" in error
    _, error = recorded(checks.assert_equal, 3, 2, name="n")
    assert error == "n: expected 2, got 3"
    _, error = recorded(checks.assert_close, np.zeros((3, 4)), np.zeros((4, 3)), name="g")
    assert error == "g: expected shape (4, 3), got (3, 4)"


def test_big_arrays_are_cut_to_a_few_lines():
    _, error = recorded(checks.assert_close, np.zeros((50, 50)), np.ones((50, 50)), name="big")
    assert len(error.splitlines()) <= 12 and "shape (50, 50)" in error


def test_records_hold_plain_data_that_decodes_to_the_values():
    values = [np.arange(6.0).reshape(2, 3), np.float32(1.5), 3, 2.5, "a", None, True,
              (1, [2.0, "x"]), np.array([True, False])]
    for value in values:
        records, error = recorded(checks.assert_equal, value, value, name="v")
        assert error is None
        (record,) = json.loads(json.dumps(records))
        assert record["kind"] == "equal" and record["name"] == "v"
        back = checks.decode(record["actual"])
        assert checks.type_name(back) == checks.type_name(value)
        assert checks.mismatch("equal", back, value) is None


def test_tensors_are_recorded_as_arrays():
    tf = pytest.importorskip("tensorflow")
    records, error = recorded(checks.assert_close, tf.constant([1.0, 2.0]), [1.0, 2.0])
    assert error is None
    back = checks.decode(records[0]["actual"])
    assert isinstance(back, np.ndarray) and back.dtype == np.float32


class FakeInt(int):
    __module__ = "builtins"

    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_values_that_are_not_plain_data_are_refused_with_a_message():
    for fake in (FakeInt(5), object(), {"a": 1}, np.array([object()], dtype=object)):
        records, error = recorded(checks.assert_equal, fake, 2, name="n")
        assert error is not None and "n" in error
        assert records[0]["actual"] == {"type": "refused"}


def test_dtype_is_checked_as_stated():
    assert recorded(checks.assert_close, np.ones(2, np.float32), np.ones(2), dtype="float64")[1] \
        == "result: expected dtype float64, got float32"
    assert recorded(checks.assert_equal, 2.0, 2, name="n", dtype="int")[1] == \
        "n: expected dtype int, got float"
    assert recorded(checks.assert_equal, 2, 2, dtype="int")[1] is None
    assert recorded(checks.assert_equal, np.int64(2), 2, dtype=("int", "int64"))[1] is None
    record = recorded(checks.assert_equal, 2, 2, dtype="int")[0][0]
    assert record["dtype"] == "int"


def test_mismatch_is_the_grader_side_comparison():
    assert checks.mismatch("close", np.ones(3), np.ones(3), 1e-6) is None
    assert "NaN" in checks.mismatch("close", np.array([np.nan]), np.ones(1), 1e-6)
    assert checks.mismatch("close", None, np.ones(1), 1e-6).startswith("got None")
    assert checks.mismatch("shape", (2, 3), (2, 3)) is None
    assert checks.mismatch("between", 0.5, (0.9, None)).startswith("expected a value in")
    assert checks.mismatch("equal", 1, True) is not None
    assert checks.mismatch("equal", (1, 2), [1, 2]) is None


def test_decode_never_unpickles():
    import base64
    import io
    import pickle

    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    forged = {"type": "ndarray", "npy": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(ValueError):
        checks.decode(forged)
    with pytest.raises((ValueError, KeyError)):
        checks.decode({"type": "pickle", "data": base64.b64encode(pickle.dumps(1)).decode()})


def conv_by_library(x):
    tf = pytest.importorskip("tensorflow")
    return tf.nn.conv2d(x, tf.ones((1, 1, 1, 1)), 1, "VALID")


def helper_task(x):
    return x


def uses_helper(x):
    return helper_task(x)


def test_by_hand_forbids_the_named_routines_and_puts_them_back():
    tf = pytest.importorskip("tensorflow")
    original = tf.nn.conv2d
    x = tf.ones((1, 2, 2, 1))
    with checks.by_hand("tf.nn.conv2d", "helper_task"):
        with pytest.raises(AssertionError, match="solve this by hand: do not call tf.nn.conv2d"):
            conv_by_library(x)
        with pytest.raises(AssertionError, match="do not call tf.nn.conv2d"):
            tf.compat.v2.nn.conv2d(x, tf.ones((1, 1, 1, 1)), 1, "VALID")
        with pytest.raises(AssertionError, match="do not call helper_task"):
            uses_helper(1)
    assert tf.nn.conv2d is original and uses_helper(1) == 1
    assert conv_by_library(x).shape == (1, 2, 2, 1)


def test_by_hand_puts_everything_back_when_a_name_does_not_resolve():
    tf = pytest.importorskip("tensorflow")
    original = tf.GradientTape
    with pytest.raises(ModuleNotFoundError):
        with checks.by_hand("tf.GradientTape", "a_task_not_defined_yet"):
            pass
    assert tf.GradientTape is original  # not left forbidden for the rest of the kernel
    with tf.GradientTape():
        pass


def test_by_hand_forbids_keras_methods_and_classes():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    with checks.by_hand("keras.Model.count_params", "keras.layers.Dense"):
        with pytest.raises(AssertionError, match="do not call keras.Model.count_params"):
            model.count_params()
        with pytest.raises(AssertionError, match="do not call keras.layers.Dense"):
            keras.layers.Dense(2)
    assert model.count_params() == 9 and "count_params" not in vars(keras.Sequential)


def test_unchanged_names_the_argument_a_function_modified():
    def scale(x, factor):
        x *= factor
        return x

    def fine(x, factor):
        return x * factor

    a = np.ones(3)
    with pytest.raises(AssertionError, match="scale changed its argument x: work on a copy"):
        checks.unchanged(scale, a, 2.0)
    b = np.array([1.0, np.nan])
    assert np.array_equal(checks.unchanged(fine, b, 2.0), [2.0, np.nan], equal_nan=True)
    with pytest.raises(AssertionError, match="changed its argument x"):
        checks.unchanged(lambda x: x.append(1), [0])


def test_unchanged_looks_inside_a_tuple_argument():
    def backward(dout, cache):
        X, W, stride = cache
        W[0] = 0.0  # modifies the cached weights
        return dout

    cache = (np.ones(2), np.ones(3), 1)
    with pytest.raises(AssertionError, match="backward changed its argument cache"):
        checks.unchanged(backward, np.ones(1), cache)
    assert checks.unchanged(lambda dout, cache: dout, np.ones(1), (np.ones(2), 1)) is not None


def test_the_checks_ignore_a_patched_numpy(monkeypatch):
    for name in ("allclose", "abs", "maximum", "all", "equal", "asarray", "array2string"):
        monkeypatch.setattr(np, name, lambda *a, **k: True)
    assert recorded(checks.assert_close, [1.0, 2.0], [1.0, 3.0])[1] is not None
    assert recorded(checks.assert_equal, np.zeros(3), np.ones(3))[1] is not None


def test_assert_accuracy_records_the_model_and_fails_below_the_minimum():
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    records, error = recorded(checks.assert_accuracy, model, 0.9, name="acc")
    assert error.startswith("acc: expected at least 90.00%, got ")
    (record,) = records
    assert record["kind"] == "accuracy" and record["inputs"] == "flat"
    assert checks.decode(record["actual"]) < 0.5
    import base64
    import io
    import zipfile

    assert zipfile.is_zipfile(io.BytesIO(base64.b64decode(record["model"])))


def test_checks_ignore_a_patched_numpy(monkeypatch):
    names = ("allclose", "abs", "absolute", "max", "amax", "maximum", "all", "logical_and",
             "isfinite", "array_equal", "equal", "asarray", "any")
    for name in names:
        monkeypatch.setattr(np, name, lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    with pytest.raises(AssertionError):
        checks.assert_close([1.0, 2.0], [1.0, 3.0])
    with pytest.raises(AssertionError):
        checks.assert_equal(np.zeros(3), np.ones(3))
    with pytest.raises(AssertionError):
        checks.assert_shape(np.zeros(3), (4,))
    checks.assert_close([1.0, 2.0], [1.0, 2.0])
    assert checks.rel_error([1.0], [1.0]) == 0.0


class EqualsAnything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def test_checks_refuse_objects_that_equal_everything():
    for expected in (2, "ok", 3.5, [1, 2], (1, "a"), np.arange(3)):
        fake = [EqualsAnything()] * 2 if isinstance(expected, list) else EqualsAnything()
        if isinstance(expected, np.ndarray):
            fake = np.array([EqualsAnything()] * 3, dtype=object)
        with pytest.raises(AssertionError):
            checks.assert_equal(fake, expected)
    checks.assert_equal(np.int64(2), 2)
    checks.assert_equal((1, 2), [1, 2])
    checks.assert_equal(True, True)
    with pytest.raises(AssertionError):
        checks.assert_equal(1, True)
    with pytest.raises(AssertionError):
        checks.assert_equal(True, 1)


def test_a_sealed_expected_value_is_recorded_as_sealed_and_not_compared():
    # oracle() is the identity where students run their notebooks
    assert checks.oracle(3) == 3
    for fn, args in ((checks.assert_close, (np.ones(2), checks.SEALED)),
                     (checks.assert_equal, (1, checks.SEALED)),
                     (checks.assert_shape, (np.ones((2, 3)), checks.SEALED)),
                     (checks.assert_between, (5.0, checks.SEALED, 1.0))):
        records, error = recorded(fn, *args)
        assert error is None  # the kernel does not judge: the grader does
        (record,) = json.loads(json.dumps(records))
        assert record["expected"] == {"type": "sealed"} or fn is checks.assert_between
    assert checks.SEALED[0][1:] is checks.SEALED
    with pytest.raises(TypeError):
        tuple(checks.SEALED)  # no endless sequence, in the kernel or in the grader


def test_the_stand_in_passed_off_as_a_value_fails_every_check():
    sealed = checks.decode({"type": "sealed"})
    for kind, expected in (("close", np.ones(2)), ("equal", 2), ("shape", (2,))):
        assert "stand-in" in checks.mismatch(kind, sealed, expected, tol=1e-5)


def _other_routes(tf, keras):
    """Ways into TensorFlow's Conv2D, MaxPool, Softmax, MatMul and CropAndResize kernels
    that no Python name of the by_hand call reaches, each as (what it forbids, the call)."""
    from tensorflow.python.ops import gen_nn_ops

    x = np.arange(32.0).reshape(1, 4, 4, 2)
    w = np.ones((3, 3, 2, 1))
    traced = tf.function(lambda a, b: tf.nn.conv2d(a, b, 1, "VALID"))
    traced(x, w)  # traced before the guard: only its graph says what it runs
    nested = tf.function(lambda a, b: traced(a, b) + 1.0)
    nested(x, w)
    return [
        ("tf.nn.conv2d", lambda: tf.raw_ops.Conv2D(input=x, filter=w, strides=[1] * 4,
                                                   padding="VALID")),
        ("tf.nn.conv2d", lambda: gen_nn_ops.conv2d(x, w, [1] * 4, "VALID")),
        ("tf.nn.conv2d", lambda: keras.ops.conv(x.astype("float32"), w.astype("float32"))),
        ("tf.nn.conv2d", lambda: keras.layers.Conv2D(1, 3)(x.astype("float32"))),
        ("tf.nn.conv2d", lambda: tf.nn.depthwise_conv2d(x, np.ones((3, 3, 2, 1)), [1] * 4,
                                                        "VALID")),
        ("tf.nn.conv2d", lambda: gen_nn_ops.conv2d_backprop_input(
            [1, 4, 4, 2], w, np.ones((1, 2, 2, 1)), [1] * 4, "VALID")),
        ("tf.nn.conv2d", lambda: traced(x, w)),
        ("tf.nn.conv2d", lambda: nested(x, w)),
        ("tf.nn.conv2d", lambda: tf.function(lambda a: tf.raw_ops.Conv2D(
            input=a, filter=w, strides=[1] * 4, padding="SAME"))(x)),
        ("tf.nn.max_pool2d", lambda: tf.raw_ops.MaxPool(input=x, ksize=[1, 2, 2, 1],
                                                        strides=[1, 2, 2, 1], padding="VALID")),
        ("tf.nn.max_pool2d", lambda: gen_nn_ops.max_pool_grad(
            x, x[:, ::2, ::2], np.ones((1, 2, 2, 2)), [1, 2, 2, 1], [1, 2, 2, 1], "VALID")),
        ("tf.nn.max_pool2d", lambda: keras.ops.max_pool(x, 2)),
        ("tf.nn.max_pool2d", lambda: tf.nn.dilation2d(x, np.zeros((2, 2, 2)), [1, 2, 2, 1],
                                                      "VALID", "NHWC", [1, 1, 1, 1])),
        ("tf.nn.softmax", lambda: tf.raw_ops.Softmax(logits=x[0, 0])),
        ("tf.nn.softmax", lambda: keras.ops.softmax(x)),
        ("tf.nn.softmax", lambda: gen_nn_ops.log_softmax(x[0, 0])),
        ("tf.matmul", lambda: tf.constant(x[0, 0]) @ tf.constant(x[0, 0].T)),
        ("tf.matmul", lambda: tf.einsum("ij,jk->ik", x[0, 0], x[0, 0].T)),
        ("tf.image.central_crop", lambda: tf.image.crop_and_resize(
            x, [[0.0, 0.0, 0.5, 0.5]], [0], (2, 2))),
    ]


def test_by_hand_refuses_the_kernel_whatever_route_reaches_it():
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    for name, call in _other_routes(tf, keras):
        call()  # allowed outside the guard
        with pytest.raises(AssertionError, match=f"do not call {name}"):
            with checks.by_hand(name):
                call()


def test_by_hand_allows_other_kernels_and_what_it_does_not_name():
    tf = pytest.importorskip("tensorflow")
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    with checks.by_hand("tf.nn.conv2d", "tf.nn.max_pool2d", "tf.nn.softmax"):
        by_numpy = (x[0, :3, :3, 0] * np.ones((3, 3))).sum()
        by_tf = tf.reduce_sum(tf.exp(x) * 2.0) + tf.matmul(x[0, :, :, 0], x[0, :, :, 0])[0, 0]
    assert by_numpy == 45.0 and np.isfinite(by_tf.numpy())
    with checks.by_hand("tf.nn.softmax"):
        tf.raw_ops.Conv2D(input=x, filter=np.ones((1, 1, 1, 1)), strides=[1] * 4, padding="VALID")


def test_by_hand_refuses_a_kernel_even_when_the_error_was_caught():
    tf = pytest.importorskip("tensorflow")
    x = np.ones((1, 3, 3, 1))

    def swallowed():
        try:
            tf.raw_ops.Conv2D(input=x, filter=np.ones((1, 1, 1, 1)), strides=[1] * 4,
                              padding="VALID")
        except AssertionError:
            pass
        return 0.0

    with pytest.raises(AssertionError, match="Conv2D kernel"):
        with checks.by_hand("tf.nn.conv2d"):
            swallowed()


def test_by_hand_notices_its_kernel_guard_removed():
    pytest.importorskip("tensorflow")
    from tensorflow.python.framework import op_callbacks

    with pytest.raises(AssertionError, match="guard was removed"):
        with checks.by_hand("tf.nn.conv2d"):
            op_callbacks.clear_op_callbacks()
    assert not op_callbacks.should_invoke_op_callbacks()


def test_every_kernel_name_is_a_name_by_hand_resolves():
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    from dlcourse import kernels

    for name in kernels.KERNELS:
        with checks.by_hand(name):
            pass


def test_numeric_checks_take_numbers_as_returned_not_after_converting_them():
    tf = pytest.importorskip("tensorflow")
    for text in ("0.5", np.array(["0.5"]), [0.5], np.array([0.5]), 0.5 + 0j, np.complex128(0.5)):
        assert checks.mismatch("between", text, (0.0, 1.0)) is not None, text
    for number in (0.5, 1, True, np.float32(0.5), np.array(0.5), tf.constant(0.5)):
        assert checks.mismatch("between", number, (0.0, 1.0)) is None, number
    assert checks.mismatch("close", "1.5", np.array(1.5), tol=1e-6) is not None
    for text in (np.array(["1.5", "2"]), np.array([1.5 + 0j, 2.0])):
        assert checks.mismatch("close", text, np.array([1.5, 2.0]), tol=1e-6) is not None, text
    assert checks.mismatch("close", [1.5, 2.0], np.array([1.5, 2.0]), tol=1e-6) is None
    _, error = recorded(checks.assert_between, "0.5", 0.0, 1.0, name="share")
    assert error == "share: expected a number, got '0.5'"


def test_by_hand_refuses_a_kernel_run_by_a_session_or_in_another_thread():
    tf = pytest.importorskip("tensorflow")
    import threading

    x, w = np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1))
    graph = tf.Graph()
    with graph.as_default():   # built before the guard: no op is created inside it
        fed = tf.compat.v1.placeholder(tf.float64, (1, 4, 4, 1))
        conv = tf.nn.conv2d(fed, w, 1, "VALID")
    session = tf.compat.v1.Session(graph=graph)
    callable_conv = session.make_callable(conv, [fed])

    def in_a_thread():
        box = []
        thread = threading.Thread(target=lambda: box.append(tf.raw_ops.Conv2D(
            input=x, filter=w, strides=[1] * 4, padding="VALID")))
        thread.start()
        thread.join()
        return box

    for call in (lambda: session.run(conv, {fed: x}), lambda: callable_conv(x), in_a_thread):
        with pytest.raises(AssertionError, match="Conv2D kernel"):
            with checks.by_hand("tf.nn.conv2d"):
                call()
    assert session.run(conv, {fed: x}).shape == (1, 2, 2, 1) and len(in_a_thread()) == 1
    session.close()


def test_assert_shape_takes_an_array_or_tensor_as_returned_not_a_list():
    tf = pytest.importorskip("tensorflow")
    for value in (np.zeros((2, 3)), tf.zeros((2, 3)), tf.Variable(np.zeros((2, 3)))):
        assert recorded(checks.assert_shape, value, (2, 3))[1] is None
    records, error = recorded(checks.assert_shape, [[0, 0, 0], [0, 0, 0]], (2, 3), name="idx")
    assert error == "idx: expected an array of shape (2, 3), got a list, not an array or tensor"
    back = checks.decode(json.loads(json.dumps(records))[0]["actual"])
    assert checks.mismatch("shape", back, (2, 3)) is not None   # the judge refuses it too
