"""Convolution by hand (unit 5's solutions) against ``tf.nn.conv2d``.

The naive and the im2col functions are taken from the graded solution
notebook, so the benchmark measures exactly what the course teaches.
"""

import timeit

import nbformat
import numpy as np

from benchmarks.machine import table
from dlcourse import quiet_tensorflow

tf = quiet_tensorflow()

SOLUTION = "solutions/05_convolution/05_convolution.ipynb"


def solution_namespace(root):
    """Execute the solution notebook's code cells except the graded tests; return globals."""
    nb = nbformat.read(root / SOLUTION, as_version=4)
    namespace = {"__name__": "unit4_solution"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
            if cell.source.lstrip().startswith(("%", "!")):
                continue
            exec(compile(cell.source, SOLUTION, "exec"), namespace)
    return namespace


def find(namespace, *names):
    for name in names:
        if callable(namespace.get(name)):
            return namespace[name]
    raise LookupError(f"none of {names} is defined in {SOLUTION}")


def timed(fn, repeat):
    """Median seconds per call over ``repeat`` calls (after one warm-up call)."""
    fn()
    return float(np.median(timeit.repeat(fn, number=1, repeat=repeat)))


def ratio_chart(ratios):
    """Bars of time relative to tf.nn.conv2d (log scale), one group per case."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    names = list(ratios)
    for i, (label, pick) in enumerate([("im2col", 0), ("naive loops", 1)]):
        ax.bar(np.arange(len(names)) + 0.4 * i, [ratios[n][pick] for n in names], 0.4,
               label=label)
    ax.axhline(1, color="black", lw=1, label="tf.nn.conv2d")
    ax.axhline(5, color="red", ls="--", lw=1, label="target for im2col (5×)")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(names)) + 0.2, names, fontsize=8)
    ax.set_xlabel("input and filters")
    ax.set_ylabel("time / time of tf.nn.conv2d")
    ax.set_title("Convolution by hand against TensorFlow")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def run(quick, out, root):
    ns = solution_namespace(root)
    naive = find(ns, "conv2d_naive")
    im2col = find(ns, "conv2d_im2col")
    rng = np.random.default_rng(0)
    cases = [("64×28×28×1, 32 filters 5×5", (64, 28, 28, 1), (5, 5, 1, 32)),
             ("64×28×28×3, 16 filters 3×3", (64, 28, 28, 3), (3, 3, 3, 16))]
    if quick:
        cases = [("8×28×28×1, 8 filters 5×5", (8, 28, 28, 1), (5, 5, 1, 8))]
    rows, ratios = [], {}
    for name, xshape, wshape in cases:
        x = rng.standard_normal(xshape).astype(np.float32)
        w = rng.standard_normal(wshape).astype(np.float32)
        b = np.zeros(wshape[-1], np.float32)
        ref = tf.nn.conv2d(x, w, strides=1, padding="SAME").numpy()
        for fn in (naive, im2col):
            got = fn(x, w, b, stride=1, padding="SAME")
            assert np.allclose(got, ref, atol=1e-3), f"{fn.__name__} disagrees with tf.nn.conv2d"
        t_tf = timed(lambda x=x, w=w: tf.nn.conv2d(x, w, 1, "SAME").numpy(), 5 if quick else 20)
        t_im = timed(lambda x=x, w=w, b=b: im2col(x, w, b, stride=1, padding="SAME"),
                     3 if quick else 10)
        t_nv = timed(lambda x=x, w=w, b=b: naive(x, w, b, stride=1, padding="SAME"),
                     1 if quick else 3)
        ratios[name] = (t_im / t_tf, t_nv / t_tf)
        rows.append([name, f"{t_tf * 1e3:.2f}", f"{t_im * 1e3:.1f}", f"{t_im / t_tf:.1f}×",
                     f"{t_nv * 1e3:.0f}", f"{t_nv / t_tf:.0f}×"])
    fig = ratio_chart(ratios)
    fig.savefig(out / "conv_ratio.png", dpi=100)
    worst = max(r[0] for r in ratios.values())
    return "\n\n".join([
        "## 2. Convolution by hand against tf.nn.conv2d",
        "Median time per call (ms), SAME padding, stride 1, float32; the functions are the "
        "graded solutions of unit 5. Ratio = time / time of `tf.nn.conv2d`, measured in the "
        "same run.",
        table(["input, filters", "tf.nn.conv2d ms", "im2col ms", "im2col ratio", "naive ms",
               "naive ratio"], rows),
        f"Target: im2col within 5× of tf.nn.conv2d; worst case here **{worst:.1f}×** "
        f"({'met' if worst <= 5 else 'not met'}).",
        "![im2col against tf.nn.conv2d](charts/conv_ratio.png)",
    ])
