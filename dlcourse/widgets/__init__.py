"""Two interactive widgets for the convolution and LeNet lessons.

``conv_explorer()``
    Pick a real MNIST digit, a 3×3 kernel (or type your own), a stride, a
    padding and a dilation; see the input, the kernel and the output map side
    by side, with the output shape and the formula that gives it.
``draw_digit(model)``
    Draw a digit with the mouse; a trained LeNet-5 says what it sees (top-3
    probabilities) and shows the feature maps of every convolution layer.

Both are ipywidgets for JupyterLab. Where nothing can show a widget (a
notebook executed headless, or viewed as a static page), the same output
carries a static picture of the widget's current state instead.

The convolution itself is TensorFlow's ``tf.nn.conv2d``: this module holds
no exercise answers.
"""

import base64
import io
import time

import numpy as np

from dlcourse.plots import use_course_style
from dlcourse.utils import quiet_tensorflow

__all__ = [
    "KERNELS",
    "ConvExplorer",
    "DigitDrawer",
    "conv_explorer",
    "convolve",
    "dilate",
    "draw_digit",
    "preprocess_drawing",
]

#: The kernels the explorer offers, by the name shown in its menu.
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "Sobel x (vertical edges)": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "Sobel y (horizontal edges)": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "Laplacian (all edges)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "blur (Gaussian)": (np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16).tolist(),
}
CUSTOM = "your own (edit the 3×3)"
#: Colours from the course's colour-blind-safe cycle: the kernel's window on the
#: input, the border of the unpadded image, the probability bars.
WINDOW, BORDER, BAR = "#FF800E", "#A2C8EC", "#5F9ED1"
#: Secondary text in the widgets' HTML: JupyterLab's theme colour, light or dark.
MUTED_TEXT = "var(--jp-ui-font-color2, #666)"


# --- shared helpers ----------------------------------------------------------------


def _figure(figsize):
    """A matplotlib Figure that no pyplot backend knows about.

    Widgets redraw it on every change; with pyplot's inline backend a
    pyplot figure would also be printed into the cell's output each time.
    It uses the course's style, on an opaque white background that reads in
    light and dark themes alike.
    """
    from matplotlib.figure import Figure

    use_course_style()
    return Figure(figsize=figsize, layout="constrained", facecolor="white")


def _png(fig, dpi=80):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _bundle(widget, png, text):
    """Display data for ``widget``, with the picture ``png`` for when no widget can render.

    JupyterLab shows the richest type it can render, so with a widget manager
    (a running kernel) the widget wins; a notebook executed headless keeps the
    PNG, which every viewer can show.
    """
    data = widget._repr_mimebundle_()
    data["image/png"] = base64.b64encode(png).decode("ascii")
    data["text/plain"] = text
    return data


# --- convolution explorer ----------------------------------------------------------


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
        self.image.value = _png(self.figure())  # first, so the text never runs ahead of it
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
        fig = _figure((11, 3.9))
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
        return _bundle(self.widget, self.image.value,
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


# --- draw a digit --------------------------------------------------------------------


def preprocess_drawing(drawing):
    """Turn a drawing into a digit that looks like MNIST.

    ``drawing`` is a grey image of any size (H, W), ink bright on a dark
    background (0..255, or floats 0..1). MNIST's own recipe: the ink's bounding
    box is scaled, keeping its aspect ratio, to fit a 20×20 box (with
    anti-aliasing), then placed in a 28×28 image so that its centre of mass
    falls on the centre pixel (14, 14). Returns a uint8 array (28, 28) with
    grey levels 0..255, like ``load_mnist()``'s images; an empty drawing gives
    all zeros.
    """
    from PIL import Image

    a = np.asarray(drawing, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"expected one grey image (H, W), got shape {a.shape}")
    if a.size and a.max() <= 1.0:
        a = a * 255.0
    a = np.clip(a, 0, 255)
    out = np.zeros((28, 28), dtype=np.uint8)
    rows, cols = np.nonzero(a > 0)
    if rows.size == 0:
        return out
    box = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = box.shape
    factor = 20.0 / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))  # PIL: (width, height)
    small = np.asarray(
        Image.fromarray(box.astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
        dtype=np.float32,
    )
    mass = small.sum()
    if mass == 0:
        return out
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / mass, (xs * small).sum() / mass
    top = int(np.clip(round(14 - cy), 0, 28 - small.shape[0]))
    left = int(np.clip(round(14 - cx), 0, 28 - small.shape[1]))
    out[top:top + small.shape[0], left:left + small.shape[1]] = np.clip(
        np.rint(small), 0, 255).astype(np.uint8)
    return out


def _ends_in_softmax(model):
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    return type(last).__name__ == "Softmax" or getattr(activation, "__name__", "") == "softmax"


class DigitDrawer:
    """The draw-a-digit widget; display it to use it.

    Parts: ``canvas`` (ipycanvas), ``clear`` (button), ``prediction`` (the
    predicted class as text), ``top3`` (probabilities) and ``maps`` (a picture
    of the network's input and its feature maps). ``probabilities`` holds the
    latest 10 class probabilities (None before anything is drawn).
    """

    #: A "7" in canvas coordinates (for the static picture when nothing is drawn).
    EXAMPLE = [[(80, 70), (200, 70), (190, 100), (130, 230)]]

    def __init__(self, model, size=280, pen=22, maps_per_row=8, prepare=None):
        import ipywidgets as w
        from ipycanvas import Canvas

        self.model = model
        self.size, self.pen, self.maps_per_row = size, pen, maps_per_row
        self.prepare = prepare or self._default_prepare
        self.strokes = []
        self.probabilities = None
        self._last = 0.0
        self.canvas = Canvas(width=size, height=size,
                             layout=w.Layout(width=f"{size}px", height=f"{size}px"))
        self.canvas.add_class("dlc-draw-canvas")
        self.clear = w.Button(description="Clear", icon="eraser")
        self.mnist_like = w.Checkbox(value=True, description="MNIST-style pre-processing",
                                     indent=False)
        self.mnist_like.add_class("dlc-mnist-like")
        self.prediction = w.HTML()
        self.prediction.add_class("dlc-prediction")
        self.top3 = w.HTML()
        self.top3.add_class("dlc-top3")
        self.maps = w.Image(format="png")
        self.maps.add_class("dlc-feature-maps")

        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        self.canvas.on_client_ready(self._repaint)
        self.clear.on_click(lambda _: self.reset())
        self.mnist_like.observe(lambda _: self.predict(), names="value")

        left = w.VBox([w.HTML("<b>Draw a digit</b> with the mouse"),
                       self.canvas, w.HBox([self.clear, self.mnist_like])])
        right = w.VBox([self.prediction, self.top3, self.maps])
        self.widget = w.HBox([left, right])
        self.widget.add_class("dlc-draw-digit")
        self._drawing = False
        self.reset()

    # model input
    def _default_prepare(self, digit):
        from dlcourse.data import pad_to_32, scale

        side = self.model.input_shape[1]
        x = scale(digit)[None, :, :, None]
        if side == 32:
            return pad_to_32(x)
        if side == 28:
            return x
        raise ValueError(f"the model takes {self.model.input_shape}; draw_digit expects "
                         "(None, 32, 32, 1) or (None, 28, 28, 1); pass prepare=")

    # drawing
    def raster(self, strokes=None):
        """The strokes as a (size, size) uint8 image: white ink on black."""
        from PIL import Image, ImageDraw

        img = Image.new("L", (self.size, self.size), 0)
        pen = ImageDraw.Draw(img)
        r = self.pen / 2
        for stroke in self.strokes if strokes is None else strokes:
            if len(stroke) > 1:
                pen.line(stroke, fill=255, width=self.pen, joint="curve")
            for x, y in stroke:
                pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
        return np.asarray(img)

    def digit(self, strokes=None):
        """What the network gets to see, (28, 28) uint8: the drawing pre-processed
        like MNIST (:func:`preprocess_drawing`), or with the "MNIST-style
        pre-processing" box unticked, the whole canvas shrunk to 28×28 as drawn."""
        from PIL import Image

        raster = self.raster(strokes)
        if self.mnist_like.value:
            return preprocess_drawing(raster)
        return np.asarray(Image.fromarray(raster).resize((28, 28), Image.Resampling.BOX))

    def _style(self):
        self.canvas.stroke_style = "white"
        self.canvas.fill_style = "white"
        self.canvas.line_width = self.pen
        self.canvas.line_cap = "round"
        self.canvas.line_join = "round"

    def _repaint(self):
        from ipycanvas import hold_canvas

        with hold_canvas():
            self.canvas.clear()
            self.canvas.fill_style = "black"
            self.canvas.fill_rect(0, 0, self.size, self.size)
            self._style()
            for stroke in self.strokes:
                if len(stroke) > 1:
                    self.canvas.stroke_lines(stroke)
                else:
                    x, y = stroke[0]
                    self.canvas.fill_circle(x, y, self.pen / 2)

    def reset(self):
        """Clear the drawing and the prediction."""
        self.strokes = []
        self.probabilities = None
        self._repaint()
        self.prediction.value = "<div style='font-size:1.4em'>Prediction: –</div>"
        self.top3.value = "<i>Draw a digit on the black square.</i>"
        self.maps.value = _png(self.figure(np.zeros((28, 28), np.uint8), None, None))

    def _down(self, x, y):
        self._drawing = True
        self.strokes.append([(x, y)])
        self.canvas.fill_circle(x, y, self.pen / 2)

    def _move(self, x, y):
        if not self._drawing:
            return
        x0, y0 = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        self.canvas.stroke_line(x0, y0, x, y)
        if time.monotonic() - self._last > 0.3:  # live, but not on every pixel
            self.predict(maps=False)

    def _up(self, x, y):
        if self._drawing:
            self._drawing = False
            self.predict()

    # prediction
    def feature_maps(self, batch):
        """Outputs of every Conv2D layer for ``batch``: a list of (name, array (H, W, C)).

        The model's layers are applied one after another (a LeNet is a chain;
        a Sequential model nested in it is walked into).
        """
        import keras

        found = []

        def run(layers, x):
            for layer in layers:
                if isinstance(layer, keras.layers.InputLayer):
                    continue
                if isinstance(layer, keras.Sequential):
                    x = run(layer.layers, x)
                    continue
                x = layer(x, training=False)
                if isinstance(layer, keras.layers.Conv2D):
                    found.append((layer.name, np.asarray(x)[0]))
            return x

        run(self.model.layers, batch)
        return found

    def classify(self, digit):
        """Class probabilities (10,) of a (28, 28) digit, and its model input."""
        batch = self.prepare(digit)
        out = np.asarray(self.model(batch, training=False))[0]
        if not _ends_in_softmax(self.model):
            out = quiet_tensorflow().nn.softmax(out.astype(np.float64)).numpy()
        return out, batch

    def predict(self, maps=True):
        """Classify the current drawing and show the result."""
        self._last = time.monotonic()
        digit = self.digit()
        if not digit.any():
            return
        self.probabilities, batch = self.classify(digit)
        best = np.argsort(self.probabilities)[::-1][:3]
        self.prediction.value = (
            f"<div style='font-size:1.4em'>Prediction: <b>{best[0]}</b></div>")
        rows = "".join(
            f"<tr><td style='padding-right:8px'>{c}</td><td><div style='background:{BAR};"
            f"height:12px;width:{max(1, round(160 * self.probabilities[c]))}px'></div></td>"
            f"<td style='padding-left:8px'>{100 * self.probabilities[c]:.1f}%</td></tr>"
            for c in best
        )
        head = "<tr><th>digit</th><th colspan=2>probability</th></tr>"
        self.top3.value = f"<table>{head}{rows}</table>"
        if maps:
            self.maps.value = _png(self.figure(digit, batch, None))

    def figure(self, digit, batch, probabilities, drawing=None, title="What LeNet-5 sees"):
        """A matplotlib Figure: the drawing and the top-3 ``probabilities`` (when
        given), the network's input ``digit`` and every feature map of every conv
        layer for the model input ``batch`` (none when it is None)."""
        layers = [] if batch is None else self.feature_maps(batch)
        per_row = self.maps_per_row
        rows = [(name, maps, j) for name, maps in layers
                for j in range(0, maps.shape[-1], per_row)]
        fig = _figure((1.15 * per_row, 2.2 + 1.2 * len(rows)))
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.9, 0.1 + 1.2 * len(rows)])
        grid = top.add_gridspec(1, max(per_row, 6))
        pictures = [("your drawing", drawing, "x", "y")] if drawing is not None else []
        how = "as MNIST" if self.mnist_like.value else "as drawn"
        pictures.append((f"network input\n({how}, 28×28)", digit, "column", "row"))
        for col, (name, picture, xlabel, ylabel) in enumerate(pictures):
            ax = top.add_subplot(grid[0, col])
            ax.imshow(picture, cmap="gray", vmin=0, vmax=255)
            ax.set_title(name, fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        if probabilities is not None:
            ax = top.add_subplot(grid[0, len(pictures) + 1:len(pictures) + 4])
            best = np.argsort(probabilities)[::-1][:3][::-1]
            ax.barh([str(c) for c in best], probabilities[best], color=BAR)
            for i, c in enumerate(best):
                ax.text(min(probabilities[c], 0.7) + 0.02, i, f"{100 * probabilities[c]:.1f}%",
                        va="center", fontsize=8)
            ax.set_xlim(0, 1)
            ax.set_title("top-3 predictions", fontsize=9)
            ax.set_xlabel("probability", fontsize=8)
            ax.set_ylabel("digit", fontsize=8)
        if rows:
            axes = np.atleast_2d(bottom.subplots(len(rows), per_row))
            for r, (name, maps, first) in enumerate(rows):
                for j, ax in enumerate(axes[r]):
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if first + j >= maps.shape[-1]:
                        ax.axis("off")
                        continue
                    ax.imshow(maps[:, :, first + j], cmap="viridis")
                    ax.set_xlabel(f"map {first + j}", fontsize=7)
                    if j == 0:
                        h, w, c = maps.shape
                        ax.set_ylabel(f"{name}\n{h}×{w}×{c}", fontsize=8)
            bottom.suptitle("feature maps of each conv layer (bright: strong response)",
                            fontsize=10)
        fig.suptitle(title)
        return fig

    def static_figure(self):
        """The picture shown without a front end: the current drawing (or an example 7)."""
        strokes = self.strokes or self.EXAMPLE
        drawing, digit = self.raster(strokes), self.digit(strokes)
        probabilities, batch = self.classify(digit)
        what = "your drawing" if self.strokes else "an example drawing"
        return self.figure(digit, batch, probabilities, drawing=drawing,
                           title=f"Draw a digit (static preview of {what}: open the notebook "
                                 "in JupyterLab and run it to draw)")

    def _repr_mimebundle_(self, **kwargs):
        return _bundle(self.widget, _png(self.static_figure()),
                       "Draw a digit (needs JupyterLab with a running kernel)")


def draw_digit(model, size=280, pen=22, maps_per_row=8, prepare=None):
    """A canvas to draw a digit on, classified live by ``model``; display the result.

    ``model`` is a trained Keras LeNet-5 that takes MNIST images scaled to
    [0, 1], padded to 32×32×1 as ``dlcourse.data.pad_to_32`` does (a model
    taking 28×28×1 also works). Its output may be logits or probabilities.
    ``prepare`` replaces the input pipeline: a function from a (28, 28) uint8
    digit to the model's input batch.
    """
    return DigitDrawer(model, size=size, pen=pen, maps_per_row=maps_per_row, prepare=prepare)
