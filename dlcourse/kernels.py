"""Which TensorFlow kernels a "by hand" task forbids, and a guard that watches them run.

``by_hand("tf.nn.conv2d")`` replaces the Python entry points it names, but
``tf.raw_ops.Conv2D``, ``tensorflow.python.ops.gen_nn_ops.conv2d``,
``keras.ops.conv`` or a Keras layer reach the same kernel another way. So
``by_hand`` also watches what runs: ``KernelGuard`` registers a TensorFlow op
callback (``op_callbacks.add_op_callback``), which sees every op executed
eagerly in this thread, every op created while a ``tf.function`` or a graph is
built, and every already traced function that runs (whose graph it reads,
nested functions too), and refuses the kernels that ``KERNELS`` maps the
forbidden names to, whatever called them.
"""

import sys
import threading

CONVOLUTION = frozenset({
    "Conv", "Conv2D", "Conv2DBackpropInput", "Conv2DBackpropInputV2", "Conv2DBackpropFilter",
    "Conv2DBackpropFilterV2", "Conv3D", "Conv3DBackpropInput", "Conv3DBackpropInputV2",
    "Conv3DBackpropFilter", "Conv3DBackpropFilterV2", "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
    "FusedPadConv2D", "FusedResizeAndPadConv2D", "QuantizedConv2D", "QuantizedDepthwiseConv2D",
    "UniformQuantizedConvolution", "XlaConv", "XlaConvV2"})
PATCHES = frozenset({"ExtractImagePatches", "ExtractVolumePatches"})
MAX_POOL = frozenset({
    "MaxPool", "MaxPoolV2", "MaxPool3D", "MaxPoolWithArgmax", "MaxPoolGrad", "MaxPoolGradV2",
    "MaxPoolGradWithArgmax", "MaxPool3DGrad", "MaxPoolGradGrad", "MaxPoolGradGradV2",
    "FractionalMaxPool", "FractionalMaxPoolGrad", "QuantizedMaxPool", "Dilation2D",
    "XlaReduceWindow"})
AVG_POOL = frozenset({"AvgPool", "AvgPool3D", "AvgPoolGrad", "AvgPool3DGrad", "FractionalAvgPool",
                      "FractionalAvgPoolGrad", "QuantizedAvgPool", "XlaReduceWindow"})
SOFTMAX = frozenset({"Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits",
                     "SparseSoftmaxCrossEntropyWithLogits", "SparseSoftmax"})
SIGMOID = frozenset({"Sigmoid", "SigmoidGrad"})
SOFTPLUS = frozenset({"Softplus", "SoftplusGrad"})  # log sigmoid(z) = -softplus(-z)
MATMUL = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "SparseMatMul",
                    "Einsum", "XlaDot", "XlaDotV2", "XlaEinsum"})
PAD = frozenset({"Pad", "PadV2", "MirrorPad"})
CROP = frozenset({"CropAndResize", "ExtractGlimpse", "ExtractGlimpseV2"})  # a window by TF

# The one table: a name ``by_hand`` accepts -> the kernels it forbids. Names whose work has
# no kernel of its own (a Keras Dense layer is a MatMul that other tasks may use, Flatten a
# reshape) are guarded by name only; TensorFlow's crops are slicing, so a crop name forbids
# the kernels that cut windows out of images another way.
KERNELS = {
    **dict.fromkeys(("tf.nn.conv2d", "tf.nn.convolution", "tf.nn.conv1d", "tf.nn.conv2d_transpose",
                     "tf.nn.depthwise_conv2d", "tf.nn.separable_conv2d", "tf.nn.atrous_conv2d",
                     "keras.layers.Conv2D", "keras.ops.conv"), CONVOLUTION),
    "tf.image.extract_patches": PATCHES,
    **dict.fromkeys(("tf.nn.max_pool2d", "tf.nn.max_pool", "keras.layers.MaxPooling2D",
                     "keras.ops.max_pool"), MAX_POOL),
    **dict.fromkeys(("tf.nn.avg_pool2d", "tf.nn.avg_pool", "keras.layers.AveragePooling2D",
                     "keras.ops.average_pool"), AVG_POOL),
    "tf.nn.pool": MAX_POOL | AVG_POOL,
    **dict.fromkeys(("tf.nn.softmax", "tf.math.softmax", "tf.nn.log_softmax",
                     "keras.activations.softmax", "keras.ops.softmax",
                     "tf.nn.softmax_cross_entropy_with_logits",
                     "tf.nn.sparse_softmax_cross_entropy_with_logits"), SOFTMAX),
    **dict.fromkeys(("tf.sigmoid", "tf.math.sigmoid", "tf.nn.sigmoid",
                     "keras.activations.sigmoid", "keras.ops.sigmoid"), SIGMOID),
    **dict.fromkeys(("tf.math.log_sigmoid", "tf.nn.softplus", "tf.math.softplus",
                     "keras.activations.softplus", "keras.ops.softplus",
                     "keras.ops.log_sigmoid"), SOFTPLUS),
    **dict.fromkeys(("tf.matmul", "tf.linalg.matmul", "tf.linalg.matvec"), MATMUL),
    "tf.pad": PAD,
    **dict.fromkeys(("tf.image.resize_with_crop_or_pad", "tf.image.central_crop",
                     "tf.image.crop_to_bounding_box", "tf.image.crop_and_resize"), CROP),
}


def forbidden_kernels(names):
    """{op type: the first of ``names`` that forbids it}."""
    found = {}
    for name in names:
        for op in sorted(KERNELS.get(name, ())):
            found.setdefault(op, name)
    return found


_SESSION_RUNS = ("_call_tf_sessionrun", "_call_tf_sessionprun")  # run, partial_run, callables


def _graph_ops(graph_def):
    """Op types of a ``GraphDef``: its nodes and the nodes of its function library."""
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops |= {node.op for node in function.node_def}
    return ops


class KernelGuard:
    """``with KernelGuard({"Conv2D": "tf.nn.conv2d"}):`` fail when a forbidden kernel runs.

    Watched: ops run eagerly or built into a graph in this thread and in threads started
    inside the block (``threading.setprofile`` registers the callback there), traced
    functions that run (their graphs are read), and TF1 sessions that run a graph holding a
    forbidden op (session runs reach no op callback). The op callback raises at once, and
    ``__exit__`` raises again if a forbidden op ran (an error caught inside student code does
    not hide it) or if the callback was removed.
    """

    def __init__(self, forbidden):
        self.forbidden = dict(forbidden)
        self.ran = []
        self.active = False
        self._functions = {}
        self._patched = []

    def _message(self, op):
        return (f"solve this by hand: do not call {self.forbidden[op]} nor another route to "
                f"the same work (TensorFlow ran its {op} kernel)")

    def _ops_of_function(self, name, seen):
        """Op types in the traced function ``name`` and the functions it calls."""
        if name in self._functions:
            return self._functions[name]
        if name in seen or not self._context.has_function(name):
            return set()
        seen.add(name)
        ops = set()
        for node in self._context.get_function_def(name).node_def:
            ops.add(node.op)
            called = [node.op] + [v.func.name for v in node.attr.values() if v.HasField("func")]
            called += [f.name for v in node.attr.values() for f in v.list.func]
            for inner in called:
                ops |= self._ops_of_function(inner, seen)
        self._functions[name] = ops
        return ops

    def _refuse(self, ops):
        bad = sorted(set(ops) & self.forbidden.keys())
        if bad and self.active:
            self.ran.append(bad[0])
            raise AssertionError(self._message(bad[0]))

    def _callback(self, op_type, inputs, attrs, outputs, op_name=None, graph=None):
        if not self.active:  # left behind in a thread that outlived the block
            return None
        if isinstance(op_type, bytes):  # ``execute.execute_with_callbacks`` passes bytes
            op_type = op_type.decode()
        ops = {op_type}
        if op_type not in self.forbidden and graph is None and op_type.startswith("__"):
            ops |= self._ops_of_function(op_type, set())  # a traced function ran
        self._refuse(ops)
        return None

    def _thread_started(self, frame, event, arg):
        sys.setprofile(self._previous_profile)  # called once, first thing in a new thread
        if self.active:
            self._op_callbacks.add_op_callback(self._callback)

    def _guard_sessions(self):
        from tensorflow.python.client import session

        guard = self
        for name in _SESSION_RUNS:
            original = getattr(session.BaseSession, name)

            def run(self, *args, _original=original, **kwargs):
                guard._refuse(_graph_ops(self.graph.as_graph_def()))
                return _original(self, *args, **kwargs)

            setattr(session.BaseSession, name, run)
            self._patched.append((session.BaseSession, name, original))
        original_call = session.BaseSession._Callable.__call__

        def call(self, *args, **kwargs):
            guard._refuse(_graph_ops(self._session.graph.as_graph_def()))
            return original_call(self, *args, **kwargs)

        session.BaseSession._Callable.__call__ = call
        self._patched.append((session.BaseSession._Callable, "__call__", original_call))

    def __enter__(self):
        from tensorflow.python.eager import context
        from tensorflow.python.framework import op_callbacks

        self._context, self._op_callbacks = context.context(), op_callbacks
        self.active = True
        op_callbacks.add_op_callback(self._callback)
        self._previous_profile = threading.getprofile()
        threading.setprofile(self._thread_started)
        self._guard_sessions()
        return self

    def __exit__(self, kind, value, traceback):
        self.active = False
        threading.setprofile(self._previous_profile)
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()
        try:
            self._op_callbacks.remove_op_callback(self._callback)
        except (KeyError, ValueError):
            raise AssertionError(
                "the by-hand guard was removed while the graded call ran") from None
        if self.ran and kind is None:
            raise AssertionError(self._message(self.ran[0]))
        return False
