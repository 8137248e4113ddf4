"""The convolution explorer: a real MNIST digit, a 3×3 kernel, a stride, a padding and a
dilation; the input, the kernel and the output map side by side, with the output shape
and the formula that gives it.

The convolution itself is TensorFlow's ``tf.nn.conv2d``.
"""

import numpy as np

from dlcourse.utils import quiet_tensorflow
from dlcourse.widgets.common import BORDER, MUTED_TEXT, WINDOW, mime_bundle, new_figure, to_png

#: The kernels the explorer offers, by the name shown in its menu.
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "Sobel x (vertical edges)": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "Sobel y (horizontal edges)": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "Laplacian (all edges)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "blur (Gaussian)": (np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16).tolist(),
}
CUSTOM = "your own (edit the 3×3)"


def dilate(kernel, dilation):
    """The kernel spread out with ``dilation - 1`` zeros between its taps.

    A 3×3 kernel at dilation 2 becomes 5×5: k + (k − 1)(d − 1) on each side.
    Sliding it is the same as a dilated ("atrous") convolution.
    """
    k = np.asarray(kernel, dtype=np.float32)
    if dilation == 1:
        return k
    out = np.zeros(((k.shape[0] - 1) * dilation + 1, (k.shape[1] - 1) * dilation + 1),
                   dtype=np.float32)
    out[::dilation, ::dilation] = k
    return out


def convolve(image, kernel, stride=1, padding=0, dilation=1):
    """Cross-correlate one grey image with one 2-D kernel, as a conv layer does.

    ``image`` (H, W) and ``kernel`` (KH, KW) are floats; ``padding`` zeros are
    added on every side, the kernel's taps are ``dilation`` pixels apart, and
    it moves ``stride`` pixels at a time. TensorFlow's ``tf.nn.conv2d`` does
    the work (it does not flip the kernel). Returns the output map as a float32
    array (OH, OW).
    """
    tf = quiet_tensorflow()
    x = np.asarray(image, dtype=np.float32)[None, :, :, None]
    k = dilate(kernel, dilation)[:, :, None, None]
    pads = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    out = tf.nn.conv2d(x, k, strides=stride, padding=pads)
    return out.numpy()[0, :, :, 0]


def shape_formula(width, ksize, padding, stride, out_width, dilation=1):
    """The text that explains ``out_width`` with O = (W − K + 2P)/S + 1.

    ``out_width`` is what TensorFlow computed; with a dilation, K is the size of
    the dilated kernel.
    """
    span = (ksize - 1) * dilation + 1
    dropped = (width - span + 2 * padding) % stride
    note = (
        f" (rounded down: after the last step {dropped} column(s) are left over, "
        "too few for another step)"
        if dropped
        else ""
    )
    dilated = (
        f"K = {ksize} + ({ksize} − 1)·({dilation} − 1) = {span} (dilated); "
        if dilation > 1
        else ""
    )
    return (
        f"{dilated}O = (W − K + 2P) / S + 1 = ({width} − {span} + 2·{padding}) / {stride} + 1 "
        f"= {out_width}{note}"
    )


class ConvExplorer:
    """The convolution explorer; display it (it is the last line of a cell) to use it.

    Its parts are attributes, so code (and tests) can drive it like a person:
    ``digit``, ``kernel``, ``cells`` (the 9 kernel entries), ``stride``,
    ``padding``, ``dilation`` (controls), ``shape`` (the output-shape text) and ``image``
    (the picture). ``output`` holds the latest output map.
    """

    def __init__(self, images, labels, index=0, kernel="Sobel x (vertical edges)",
                 stride=1, padding=0, dilation=1):
        import ipywidgets as w

        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels)
        if kernel not in KERNELS and kernel != CUSTOM:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {list(KERNELS)}")
        self._syncing = False
        narrow = {"description_width": "initial"}
        self.digit = w.IntSlider(
            value=index, min=0, max=len(self.images) - 1, description="test image",
            continuous_update=False, style=narrow, layout=w.Layout(width="330px"),
        )
        self.kernel = w.Dropdown(
            options=[*KERNELS, CUSTOM], value=kernel, description="kernel", style=narrow,
            layout=w.Layout(width="330px"),
        )
        self.stride = w.IntSlider(value=stride, min=1, max=4, description="stride S",
                                  continuous_update=False, style=narrow)
        self.padding = w.IntSlider(value=padding, min=0, max=4, description="padding P",
                                   continuous_update=False, style=narrow)
        self.dilation = w.IntSlider(value=dilation, min=1, max=3, description="dilation D",
                                    continuous_update=False, style=narrow)
        for control, name in ((self.digit, "digit"), (self.kernel, "kernel"),
                              (self.stride, "stride"), (self.padding, "padding"),
                              (self.dilation, "dilation")):
            control.add_class(f"dlc-{name}")
        start = KERNELS.get(kernel, KERNELS["identity"])
        self.cells = [
            w.FloatText(value=float(start[i // 3][i % 3]), step=0.1,
                        layout=w.Layout(width="70px"))
            for i in range(9)
        ]
        grid = w.GridBox(self.cells, layout=w.Layout(grid_template_columns="repeat(3, 74px)"))
        self.shape = w.HTML()
        self.shape.add_class("dlc-conv-shape")
        self.image = w.Image(format="png")
        self.image.add_class("dlc-conv-figure")

        self.kernel.observe(self._on_preset, names="value")
        for cell in self.cells:
            cell.observe(self._on_cell, names="value")
        for control in (self.digit, self.stride, self.padding, self.dilation):
            control.observe(self._update, names="value")

        controls = w.VBox([self.digit, self.kernel, self.stride, self.padding, self.dilation])
        editor = w.VBox([w.HTML("<b>kernel K (3×3), editable</b>"), grid])
        self.widget = w.VBox([w.HBox([controls, editor]), self.shape, self.image])
        self.widget.add_class("dlc-conv-explorer")
        self.output = None
        self._update()

    # the state shown
    def kernel_values(self):
        """The 3×3 kernel as the editor shows it."""
        return np.array([c.value for c in self.cells], dtype=np.float32).reshape(3, 3)

    def input_image(self):
        """The chosen digit scaled to [0, 1]."""
        return self.images[self.digit.value].astype(np.float32) / 255.0

    # reactions
    def _on_preset(self, change):
        if change["new"] == CUSTOM or self._syncing:
            return
        self._syncing = True
        try:
            for cell, value in zip(self.cells, np.ravel(KERNELS[change["new"]]), strict=True):
                cell.value = float(value)
        finally:
            self._syncing = False
        self._update()

    def _on_cell(self, change):
        if self._syncing:
            return
        preset = KERNELS.get(self.kernel.value)
        if preset is not None and not np.allclose(self.kernel_values(), preset):
            self._syncing = True
            try:
                self.kernel.value = CUSTOM
            finally:
                self._syncing = False
        self._update()

    def _update(self, change=None):
        image, kernel = self.input_image(), self.kernel_values()
        s, p, d = self.stride.value, self.padding.value, self.dilation.value
        self.output = convolve(image, kernel, s, p, d)
        w, k, o = image.shape[1], kernel.shape[1], self.output.shape[1]
        self.image.value = to_png(self.figure())  # first, so the text never runs ahead of it
        self.shape.value = (
            f"<div style='font-size:1.1em'>Output shape: <b>{self.output.shape[0]} × "
            f"{self.output.shape[1]}</b></div>"
            f"<div>{shape_formula(w, k, p, s, o, d)}</div>"
            f"<div style='color:{MUTED_TEXT}'>W input width, K kernel size, P padding, S stride, "
            "D dilation. "
            "Like every conv layer, <code>tf.nn.conv2d</code> slides the kernel without "
            "flipping it (cross-correlation).</div>"
        )

    def figure(self):
        """The input (with its padding and the first two kernel positions), the kernel
        and the output map, side by side, as a matplotlib Figure."""
        from matplotlib.patches import Rectangle
        from matplotlib.ticker import MaxNLocator

        image, out = self.input_image(), self.output
        s, p, d = self.stride.value, self.padding.value, self.dilation.value
        kernel = dilate(self.kernel_values(), d)
        span = kernel.shape[0]
        padded = np.pad(image, p)
        fig = new_figure((11, 3.9))
        ax_in, ax_k, ax_out = fig.subplots(1, 3, width_ratios=[1, 0.75, 1])

        label = "" if self.labels is None else f", label {self.labels[self.digit.value]}"
        ax_in.imshow(padded, cmap="gray", vmin=0, vmax=1)
        ax_in.add_patch(Rectangle((p - 0.5, p - 0.5), image.shape[1], image.shape[0],
                                  fill=False, ec=BORDER, lw=1, ls=":"))
        ax_in.add_patch(Rectangle((-0.5, -0.5), span, span, fill=False, ec=WINDOW, lw=2))
        if d > 1:  # the pixels the dilated kernel reads at its first position
            taps = np.arange(0, span, d)
            ax_in.scatter(*np.meshgrid(taps, taps), s=6, c=WINDOW)
        if s + span <= padded.shape[1]:
            ax_in.add_patch(Rectangle((s - 0.5, -0.5), span, span, fill=False, ec=WINDOW,
                                      lw=1.5, ls="--"))
        ax_in.set_title(f"Input #{self.digit.value}{label}\n{image.shape[0]}×{image.shape[1]}"
                        f", padded by {p} → {padded.shape[0]}×{padded.shape[1]}")
        ax_in.set_xlabel("column (orange: first two kernel positions)")
        ax_in.set_ylabel("row")

        bound = max(float(np.abs(kernel).max()), 1e-6)
        ax_k.imshow(kernel, cmap="RdBu_r", vmin=-bound, vmax=bound)
        for (r, c), v in np.ndenumerate(kernel):
            if r % d == 0 and c % d == 0:
                ax_k.text(c, r, f"{v:g}", ha="center", va="center", fontsize=11 if d == 1 else 8,
                          color="white" if abs(v) > 0.6 * bound else "black")
        size = f"3×3, dilation {d} → {span}×{span}" if d > 1 else "3×3"
        ax_k.set_title(f"Kernel K: {self.kernel.value.split(' (')[0]}\n{size}")
        ax_k.set_xticks(range(span))
        ax_k.set_yticks(range(span))
        ax_k.set_xlabel("column")
        ax_k.set_ylabel("row")

        bound = max(float(np.abs(out).max()), 1e-6)
        shown = ax_out.imshow(out, cmap="RdBu_r", vmin=-bound, vmax=bound)
        fig.colorbar(shown, ax=ax_out, shrink=0.8, label="response")
        ax_out.set_title(f"Output map\n{out.shape[0]}×{out.shape[1]} (stride {s})")
        ax_out.set_xlabel("column")
        ax_out.set_ylabel("row")
        for ax in (ax_in, ax_out):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.suptitle("Convolution explorer (colours: blue negative, red positive)")
        return fig

    def _repr_mimebundle_(self, **kwargs):
        return mime_bundle(self.widget, self.image.value,
                       f"Convolution explorer; output shape {self.output.shape}")


def conv_explorer(images=None, labels=None, index=0, kernel="Sobel x (vertical edges)",
                  stride=1, padding=0, dilation=1):
    """Explore convolution on real MNIST digits; returns a :class:`ConvExplorer` to display.

    ``images``/``labels`` default to the MNIST test set (``dlcourse.data``);
    ``kernel`` is a name from :data:`KERNELS`; ``index``, ``stride``,
    ``padding`` and ``dilation`` set the controls' starting values.
    """
    if images is None:
        from dlcourse.data import load_mnist

        _, (images, labels) = load_mnist()
    return ConvExplorer(images, labels, index=index, kernel=kernel, stride=stride,
                        padding=padding, dilation=dilation)
